"""The edge's CPython side, never uploaded to Workers: ``claude-arch edge`` (the CLI), ``edge
serve`` and its platform (aiohttp, a dict or JSON file for KV, an in-memory cache), the bundler
of what the worker uploads, the protocol-data generator, and the export of the service's keys."""
