"""AWS Lambda handlers (``pip install 'claude-arch[aws]'``).

    claude_arch.serverless.aws_lambda.http_handler.handler   # API Gateway v1/v2, Function URLs
    claude_arch.serverless.aws_lambda.sqs_handler.handler    # SQS with partial batch failures

The package only checks that Powertools is installed, so a handler module loads only what it uses;
:mod:`~claude_arch.serverless.aws_lambda.runtime_api` is a Lambda Runtime API for running the
handlers locally under the real runtime client (``claude-arch lambda invoke``, the tests).
"""

from __future__ import annotations

try:
    import aws_lambda_powertools  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    from claude_arch.errors import ConfigError

    raise ConfigError(
        "the Lambda handlers need Powertools: pip install 'claude-arch[aws]'"
    ) from exc
