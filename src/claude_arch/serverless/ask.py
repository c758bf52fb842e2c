"""The JSON a function accepts and answers: one question to Claude, one answer with its cost.

    {"prompt": "Hello", "model": "claude-haiku-4-5", "max_tokens": 256, "system": "Be brief."}
    {"messages": [{"role": "user", "content": "Hello"}]}
    {"prompt": "Hello", "stream": true}      # an SSE answer, where the function can stream

:func:`ask_params` turns a body into the client's call parameters or raises
:class:`~claude_arch.errors.InvalidRequestError` naming the field; :func:`answer_body` is the
answer: text, stop reason, usage, cost in USD and the API's request id.

    >>> from claude_arch.serverless.config import FunctionConfig
    >>> ask_params(b'{"prompt": "Hi"}', FunctionConfig())["messages"]
    [{'role': 'user', 'content': 'Hi'}]
    >>> try:
    ...     ask_params(b'{"promt": "Hi"}', FunctionConfig())
    ... except InvalidRequestError as exc:
    ...     exc.field
    'promt'
"""

from __future__ import annotations

from typing import Any

import orjson

from claude_arch.core.types import Message
from claude_arch.errors import InvalidRequestError, UnknownModelError
from claude_arch.serverless.config import FunctionConfig

__all__ = ["ASK_FIELDS", "answer_body", "as_bad_request", "ask_params"]

ASK_FIELDS = (
    "prompt",
    "messages",
    "model",
    "max_tokens",
    "system",
    "temperature",
    "metadata",
    "stream",
)


def ask_params(body: bytes, config: FunctionConfig) -> dict[str, Any]:
    """The Messages call for ``body``; a body the function cannot take names the field."""
    if len(body) > config.max_body_bytes:
        raise InvalidRequestError(
            f"body: {len(body)} bytes is more than this function takes "
            f"({config.max_body_bytes} bytes)",
            field="body",
        )
    if not body.strip():
        raise InvalidRequestError("body: empty; send a JSON object with a prompt", field="body")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"body: not JSON ({exc})", field="body") from None
    if not isinstance(data, dict):
        raise InvalidRequestError("body: must be a JSON object", field="body")
    for name in data:
        if name not in ASK_FIELDS:
            raise InvalidRequestError(
                f"{name}: unknown field; a body takes one of {', '.join(ASK_FIELDS)}",
                field=str(name),
            )
    params: dict[str, Any] = {
        "model": data.get("model", config.default_model),
        "max_tokens": data.get("max_tokens", config.default_max_tokens),
        "messages": _messages(data),
    }
    for name in ("system", "temperature", "metadata"):
        if name in data:
            params[name] = data[name]
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequestError("stream: must be true or false", field="stream")
    if stream:
        params["stream"] = True
    return params


def _messages(data: dict[str, Any]) -> Any:
    prompt, messages = data.get("prompt"), data.get("messages")
    if prompt is not None and messages is not None:
        raise InvalidRequestError("prompt: send a prompt or messages, not both", field="prompt")
    if messages is not None:
        return messages  # the client validates them, naming e.g. messages.0.role
    if prompt is None:
        raise InvalidRequestError("prompt: required (or messages)", field="prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequestError("prompt: must be a non-empty string", field="prompt")
    return [{"role": "user", "content": prompt}]


def as_bad_request(exc: InvalidRequestError) -> InvalidRequestError:
    """A 400 for an unknown model too: in a function's body the model is one more field."""
    if isinstance(exc, UnknownModelError):
        return InvalidRequestError(str(exc), field="model", model=exc.model)
    return exc


def answer_body(message: Message) -> dict[str, Any]:
    """The answer: the text, why it stopped, tokens, cost in USD, attempts and request id; for
    a ``model: "auto"`` request, the routing decision too (tier, model, reason, classifier)."""
    record = message.record
    body: dict[str, Any] = {
        "id": message.id,
        "model": message.model,
        "text": message.text,
        "stop_reason": message.stop_reason,
        "usage": message.usage.to_dict(),
        "cost_usd": str(record.cost_usd) if record is not None else None,
        "attempts": record.attempts if record is not None else 1,
        "request_id": record.request_id if record is not None else None,
    }
    if record is not None and record.route is not None:
        body["route"] = record.route
    return body
