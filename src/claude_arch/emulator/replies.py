"""What the emulated model answers: content blocks, stop reason and output tokens, from a request.

    >>> from claude_arch.emulator.config import EmulatorConfig
    >>> params = {"model": "claude-haiku-4-5", "max_tokens": 5,
    ...           "messages": [{"role": "user", "content": "Tell me a long story"}]}
    >>> reply = compose_reply(params, "haiku", EmulatorConfig(reply_tokens=(50, 60)))
    >>> reply.stop_reason, reply.output_tokens
    ('max_tokens', 5)

Deterministic: the generator is seeded by a hash of the request (everything but ``stream`` and
``metadata``), so the same request gets the same reply whether it streams or not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from claude_arch.core.tokens import count_text
from claude_arch.emulator.config import EmulatorConfig, RuleError, RuleReply
from claude_arch.emulator.ids import new_id
from claude_arch.emulator.prompt_cache import CacheUsage
from claude_arch.emulator.rules import last_user_text
from claude_arch.emulator.text import generate_text, join_words
from claude_arch.emulator.tool_input import input_for_schema

__all__ = [
    "Reply",
    "compose_reply",
    "message_body",
    "request_seed",
    "tool_tokens",
    "usage_body",
]

_REPLY_TOKENS = {"haiku": (12, 90), "sonnet": (24, 160), "opus": (32, 220)}
_IGNORED_FOR_SEED = ("stream", "metadata")
_TYPED_TOOL_INPUTS: dict[str, dict[str, Any]] = {
    "bash": {"command": "ls -la"},
    "str_replace_based_edit_tool": {"command": "view", "path": "notes/example.txt"},
    "web_search": {"query": "claude api rate limits"},
    "web_fetch": {"url": "https://example.com"},
}


@dataclass(slots=True)
class Reply:
    content: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = "end_turn"
    stop_sequence: str | None = None
    output_tokens: int = 0
    error: RuleError | None = None
    delay_s: float = 0.0


def request_seed(params: Mapping[str, Any], salt: int = 0) -> int:
    """A 64-bit seed from the request's content (key order does not matter)."""
    body = {k: v for k, v in params.items() if k not in _IGNORED_FOR_SEED}
    digest = hashlib.blake2b(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode(),
        digest_size=8,
        salt=salt.to_bytes(8, "big", signed=True),
    ).digest()
    return int.from_bytes(digest, "big")


def tool_tokens(name: str, tool_input: Mapping[str, Any]) -> int:
    return count_text(name) + count_text(json.dumps(tool_input, separators=(",", ":")))


def _signature(rng: random.Random) -> str:
    return base64.b64encode(rng.getrandbits(256).to_bytes(32, "big")).decode()


def _names(tool: str, prompt: str) -> bool:
    """Whether the prompt names the tool as a word of its own: a tool called ``ls`` is not
    called for by "tools" or "else"."""
    return re.search(rf"(?<![\w-]){re.escape(tool)}(?![\w-])", prompt) is not None


def _choose_tool(
    params: Mapping[str, Any], prompt: str, rng: random.Random
) -> Mapping[str, Any] | None:
    tools = [t for t in params.get("tools") or () if isinstance(t, Mapping)]
    choice = params.get("tool_choice") or {"type": "auto"}
    if not tools or choice.get("type") == "none":
        return None
    if choice.get("type") == "tool":
        return next((t for t in tools if t.get("name") == choice.get("name")), None)
    mentioned = [t for t in tools if _names(str(t.get("name")), prompt)]
    if mentioned:
        return mentioned[0]
    if choice.get("type") == "any":
        return tools[rng.randrange(len(tools))]
    return None


def _tool_input(tool: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    schema = tool.get("input_schema")
    if isinstance(schema, Mapping):
        return input_for_schema(rng, schema)
    return dict(_TYPED_TOOL_INPUTS.get(str(tool.get("name")), {}))


def _thinking_tokens(params: Mapping[str, Any], rng: random.Random) -> int:
    thinking = params.get("thinking") or {}
    kind = thinking.get("type")
    if kind == "enabled":
        return min(int(thinking.get("budget_tokens", 1024)), rng.randint(16, 96))
    if kind == "adaptive" and rng.random() < 0.5:
        return rng.randint(8, 64)
    return 0


def _cut_at_stop(text: str, stops: list[str]) -> tuple[str, str | None]:
    first, which = len(text), None
    for stop in stops:
        at = text.find(stop) if stop else -1
        if 0 <= at < first:
            first, which = at, stop
    return text[:first], which


def compose_reply(
    params: Mapping[str, Any],
    family: str,
    config: EmulatorConfig,
    *,
    rule: RuleReply | None = None,
    salt: int = 0,
) -> Reply:
    """The reply to a validated request (``rule``: a scripted answer that overrides generation)."""
    rng = random.Random(request_seed(params, salt))
    budget = int(params.get("max_tokens", 1024))
    reply = Reply()
    if rule is not None:
        reply.error, reply.delay_s = rule.error, rule.delay_s
        if rule.error is not None:
            return reply
    think = _thinking_tokens(params, rng)
    if think:
        think = min(think, budget)
        reply.content.append(
            {
                "type": "thinking",
                "thinking": generate_text(rng, think),
                "signature": _signature(rng),
            }
        )
        reply.output_tokens = think
        if think >= budget:
            reply.stop_reason = "max_tokens"
            return reply
    prompt = last_user_text(params)
    tool: Mapping[str, Any] | None = None
    tool_input: dict[str, Any] = {}
    if rule is not None and rule.tool_use is not None:
        tool, tool_input = {"name": rule.tool_use.name}, dict(rule.tool_use.input)
    elif rule is None:
        tool = _choose_tool(params, prompt, rng)
        if tool is not None:
            tool_input = _tool_input(tool, rng)
    forced = (params.get("tool_choice") or {}).get("type") in ("any", "tool")
    if rule is not None and rule.text is not None:
        text = rule.text
    elif tool is not None:
        text = "" if forced else f"I'll use the {tool.get('name')} tool."
    else:
        low, high = config.reply_tokens or _REPLY_TOKENS.get(family, (16, 120))
        pieces = join_words(rng, rng.randint(low, max(low, high)))
        for stop in params.get("stop_sequences") or ():
            if stop and stop in prompt:  # the prompt invites it: the model "says" it mid-reply
                pieces.insert(rng.randrange(1, len(pieces) + 1) if pieces else 0, " " + stop)
                break
        text = "".join(pieces)
    text, stop = _cut_at_stop(text, list(params.get("stop_sequences") or ()))
    left = budget - reply.output_tokens
    text_tokens = count_text(text)
    if text_tokens > left:
        text = _truncate(text, left)
        text_tokens = count_text(text)
        reply.stop_reason = "max_tokens"
    elif stop is not None:
        reply.stop_reason, reply.stop_sequence = "stop_sequence", stop
    if text or tool is None:
        reply.content.append({"type": "text", "text": text})
    reply.output_tokens += text_tokens
    if tool is not None and reply.stop_reason == "end_turn":
        name = str(tool.get("name"))
        cost = tool_tokens(name, tool_input)
        if reply.output_tokens + cost > budget:
            reply.stop_reason = "max_tokens"
            reply.output_tokens = budget
        else:
            reply.content.append(
                {"type": "tool_use", "id": new_id("toolu"), "name": name, "input": tool_input}
            )
            reply.output_tokens += cost
            reply.stop_reason = "tool_use"
    if rule is not None and rule.stop_reason is not None:
        reply.stop_reason = rule.stop_reason
    return reply


def _truncate(text: str, tokens: int) -> str:
    """The longest prefix of ``text`` with at most ``tokens`` tokens."""
    if tokens <= 0:
        return ""
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if count_text(text[:mid]) <= tokens:
            low = mid
        else:
            high = mid - 1
    return text[:low]


def usage_body(
    input_tokens: int, cache: CacheUsage, output_tokens: int, tier: str
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache.created,
        "cache_read_input_tokens": cache.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache.created_5m,
            "ephemeral_1h_input_tokens": cache.created_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": tier,
    }


def message_body(model: str, reply: Reply, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": reply.content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.stop_sequence,
        "usage": usage,
    }
