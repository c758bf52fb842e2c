"""Serverless and event-driven entry points over the core client.

    claude_arch.serverless.aws_lambda.http_handler.handler   # API Gateway v1/v2, Function URLs
    claude_arch.serverless.aws_lambda.sqs_handler.handler    # SQS, partial batch failures
    claude_arch.serverless.gcp.functions.ask                 # Cloud Functions: HTTP, JSON or SSE
    claude_arch.serverless.gcp.functions.on_pubsub           # Pub/Sub CloudEvents
    claude_arch.serverless.gcp.functions.on_task             # Cloud Tasks targets

Each handler module imports only what it uses (the core's wire layer and the light sync
transport; never the official SDK, FastAPI or the emulator), keeps one client per execution
environment, and bounds each call by the time the platform has left. ``docs/serverless.md`` is
the guide. Needs the ``aws`` extra (``pip install 'claude-arch[aws]'``) or the ``gcp`` one.

Inside a function runtime (Lambda's ``AWS_LAMBDA_RUNTIME_API`` or Cloud Run's ``K_SERVICE`` set)
importing this package stops httpx from loading its command-line client: httpx imports it, and
with it click, rich and pygments (40-60 ms of every cold start), whenever they are installed, as
claude-arch's own CLI installs them. httpx then defines a stub ``httpx.main``; nothing in a
function runs the httpx command.
"""

from __future__ import annotations

import os
import sys

if "httpx" not in sys.modules and (
    "AWS_LAMBDA_RUNTIME_API" in os.environ or "K_SERVICE" in os.environ
):
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: not importable
