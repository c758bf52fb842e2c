"""Running the service: JSON logs with secrets redacted, ``/healthz``, ``/readyz``, ``/metrics``,
the refusal counters, and the built-in dashboard with its chart series."""
