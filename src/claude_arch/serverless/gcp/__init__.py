"""Google Cloud Functions (2nd gen, Cloud Run functions) over the same core client.

    functions-framework --source deploy/gcp/main.py --target ask         # HTTP: JSON or SSE
    functions-framework --source deploy/gcp/main.py --target on_pubsub   # Pub/Sub CloudEvent
    functions-framework --source deploy/gcp/main.py --target on_task     # Cloud Tasks target

:mod:`claude_arch.serverless.gcp.functions` holds the three; ``claude-arch gcf serve`` runs one
locally against the emulator. Needs the ``gcp`` extra (``functions-framework``), which the Cloud
Functions Python runtime also provides; ``docs/serverless.md`` is the guide.
"""

from __future__ import annotations
