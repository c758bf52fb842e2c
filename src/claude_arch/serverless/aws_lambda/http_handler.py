"""The HTTP function: API Gateway REST (v1), HTTP API (v2) and Function URLs.

    Handler: claude_arch.serverless.aws_lambda.http_handler.handler

``POST`` a body of :mod:`claude_arch.serverless.ask` (``{"prompt": "Hello"}``); the answer is
``{"text", "usage", "cost_usd", "request_id", ...}``. Every failure is one response in the
Anthropic error shape with its status, made by the gateway's own
:func:`~claude_arch.service.http.problems.problem`: a bad body, event or model is a 400 naming the
field, a deadline that runs out a 504 ``timeout_error`` sent before Lambda's own timeout.

A request with an ``Idempotency-Key`` header is answered once when
``CLAUDE_ARCH_FUNCTION_IDEMPOTENCY`` is set (:mod:`claude_arch.serverless.idempotency`): a retry
with the same key and body gets the first answer again (``idempotent-replayed: true``) without
a second call; the same key with another body is a 422, a retry while the first is running a 409.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_arch.errors import ClaudeArchError, InvalidRequestError
from claude_arch.serverless.ask import answer_body, as_bad_request, ask_params
from claude_arch.serverless.aws_lambda.http_events import (
    cors_headers,
    http_response,
    read_http_event,
)
from claude_arch.serverless.aws_lambda.observability import PowertoolsMeter, logger, metrics
from claude_arch.serverless.config import FunctionConfig
from claude_arch.serverless.warm import (
    WarmClient,
    WarmOnceOnly,
    call_deadline,
    preload_if_ahead,
)
from claude_arch.service.http.problems import crash, from_upstream, problem

__all__ = ["claude", "config", "handler", "once_only"]

config = FunctionConfig.from_env()
claude = WarmClient(meters=[PowertoolsMeter(metrics)])
once_only = WarmOnceOnly()
preload_if_ahead()  # SnapStart / provisioned concurrency: the imports go into the init


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one HTTP event: the answer as JSON, or the error in the Anthropic shape."""
    origin: str | None = None
    try:
        request = read_http_event(event)
        origin = request.origin
        if request.method == "OPTIONS":
            return http_response(
                204, None, cors_headers(origin, config.cors_origins, preflight=True)
            )
        if request.method != "POST":
            raise InvalidRequestError(
                f"method: {request.method} is not served; POST a JSON body", field="method"
            )
        params = ask_params(request.body, config)
        if params.pop("stream", False):
            raise InvalidRequestError(
                "stream: a Lambda function answers whole; for a stream use the service behind "
                "the Lambda Web Adapter (docs/serverless.md § Streaming)",
                field="stream",
            )

        def work() -> dict[str, Any]:
            message = claude.get().create(
                **params, deadline=call_deadline(context, config.deadline_margin_s)
            )
            return answer_body(message)

        once = once_only.get() if request.idempotency_key is not None else None
        headers = cors_headers(origin, config.cors_origins, preflight=False)
        if once is None or request.idempotency_key is None:
            answer = work()
        else:
            done = once.run(
                request.idempotency_key, work, body=request.body.decode(), context=context
            )
            answer = done.answer
            headers["idempotent-replayed"] = "true" if done.replayed else "false"
    except InvalidRequestError as exc:
        return _error(as_bad_request(exc), context, origin)
    except ClaudeArchError as exc:
        claude.refused(exc)
        return _error(exc, context, origin)
    except Exception as exc:  # a bug: the log gets the trace, the caller the request id
        return _error(crash(exc, "unhandled error in the Lambda handler"), context, origin)
    return http_response(200, answer, headers)


def _error(exc: ClaudeArchError, context: LambdaContext, origin: str | None) -> dict[str, Any]:
    upstream = from_upstream(exc)
    status, body, headers = problem(exc, context.aws_request_id, upstream=upstream)
    logger.warning(
        "call refused" if status < 500 else "call failed",
        extra={
            "status": status,
            "error_type": body["error"]["type"],
            "field": getattr(exc, "field", None),
            "upstream_request_id": exc.request_id,
        },
    )
    headers.update(cors_headers(origin, config.cors_origins, preflight=False))
    return http_response(status, body, headers)
