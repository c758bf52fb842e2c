"""Serverless and event-driven entry points over the core client.

    claude_arch.serverless.aws_lambda.http_handler.handler   # API Gateway v1/v2, Function URLs
    claude_arch.serverless.aws_lambda.sqs_handler.handler    # SQS, partial batch failures

Each handler module imports only what it uses (the core's wire layer and the light sync
transport; never the official SDK, FastAPI or the emulator), keeps one client per execution
environment, and bounds each call by the time the platform has left. ``docs/serverless.md`` is
the guide. Needs the ``aws`` extra: ``pip install 'claude-arch[aws]'``.
"""

from __future__ import annotations
