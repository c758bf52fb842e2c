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
from claude_arch.emulator.answers.citations import Segment, cited_segments
from claude_arch.emulator.answers.rules import last_user_text
from claude_arch.emulator.answers.server_tools import is_server_tool, web_search
from claude_arch.emulator.answers.text import generate_text, join_words
from claude_arch.emulator.answers.tool_input import input_for_schema
from claude_arch.emulator.config import EmulatorConfig, RuleError, RuleReply
from claude_arch.emulator.ids import new_id
from claude_arch.emulator.prompt_cache import CacheUsage

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
    web_search_requests: int = 0


# A text segment, or a whole block (a web search's) placed between the texts.
_Part = Segment | dict[str, Any]


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


def _parallel_allowed(params: Mapping[str, Any]) -> bool:
    """False when ``tool_choice.disable_parallel_tool_use`` is true: one tool call at most."""
    choice = params.get("tool_choice")
    return not (isinstance(choice, Mapping) and choice.get("disable_parallel_tool_use") is True)


def _choose_tools(
    params: Mapping[str, Any], prompt: str, rng: random.Random, *, parallel: bool
) -> list[Mapping[str, Any]]:
    """The tools to call: ``tool_choice.tool`` names one; otherwise every tool the prompt names
    (in the order of ``tools``; only the first unless ``parallel``), else one at random for
    ``any``, else none."""
    tools = [t for t in params.get("tools") or () if isinstance(t, Mapping)]
    choice = params.get("tool_choice") or {"type": "auto"}
    if not tools or choice.get("type") == "none":
        return []
    if choice.get("type") == "tool":
        return [t for t in tools if t.get("name") == choice.get("name")][:1]
    mentioned = [t for t in tools if _names(str(t.get("name")), prompt)]
    if mentioned:
        return mentioned if parallel else mentioned[:1]
    if choice.get("type") == "any":
        return [tools[rng.randrange(len(tools))]]
    return []


def _announce(names: list[str]) -> str:
    """What the model says before its tool calls: "I'll use the a and b tools."."""
    if len(names) == 1:
        return f"I'll use the {names[0]} tool."
    return f"I'll use the {', '.join(names[:-1])} and {names[-1]} tools."


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


def _cut_at_stop(parts: list[_Part], stops: list[str]) -> tuple[list[_Part], str | None]:
    """The parts before the first stop sequence of their joined text, and which one it was."""
    text = "".join(p[0] for p in parts if isinstance(p, tuple))
    first, which = len(text), None
    for stop in stops:
        at = text.find(stop) if stop else -1
        if 0 <= at < first:
            first, which = at, stop
    if which is None:
        return parts, None
    kept: list[_Part] = []
    for part in parts:
        if isinstance(part, dict):  # a whole block between texts: kept if it comes before
            if first < 0:
                break
            kept.append(part)
            continue
        piece, citations = part
        if first <= 0:
            break
        kept.append((piece[:first], citations))
        first -= len(piece)
    return kept, which


def _generated(
    params: Mapping[str, Any], prompt: str, family: str, config: EmulatorConfig, rng: random.Random
) -> str:
    """Plain reply text; a stop sequence that the prompt mentions is "said" somewhere in it."""
    low, high = config.reply_tokens or _REPLY_TOKENS.get(family, (16, 120))
    pieces = join_words(rng, rng.randint(low, max(low, high)))
    for stop in params.get("stop_sequences") or ():
        if stop and stop in prompt:
            pieces.insert(rng.randrange(1, len(pieces) + 1) if pieces else 0, " " + stop)
            break
    return "".join(pieces)


def _text_block(text: str, citations: list[dict[str, Any]] | None) -> dict[str, Any]:
    if citations is None:
        return {"type": "text", "text": text}
    return {"type": "text", "text": text, "citations": citations}


def _block_tokens(block: Mapping[str, Any]) -> int:
    """Output tokens of a whole server-tool block: its call's input; results cost none."""
    if block["type"] == "server_tool_use":
        return tool_tokens(str(block["name"]), block["input"])
    return 0


def _fill(reply: Reply, parts: list[_Part], budget: int) -> None:
    """Append ``parts`` to the reply as blocks until ``budget`` output tokens are spent."""
    left = budget - reply.output_tokens
    for part in parts:
        if isinstance(part, dict):
            cost = _block_tokens(part)
            if cost > left:
                reply.stop_reason, reply.output_tokens = "max_tokens", budget
                return
            reply.content.append(part)
            if part["type"] == "server_tool_use":
                reply.web_search_requests += 1
        else:
            text, citations = part
            cost = count_text(text)
            if cost > left:
                text = _truncate(text, left)
                cost = count_text(text)
                reply.stop_reason = "max_tokens"
            if text:
                reply.content.append(_text_block(text, citations))
        left -= cost
        reply.output_tokens += cost
        if reply.stop_reason == "max_tokens":
            return


def compose_reply(
    params: Mapping[str, Any],
    family: str,
    config: EmulatorConfig,
    *,
    rule: RuleReply | None = None,
    salt: int = 0,
) -> Reply:
    """The reply to a validated request (``rule``: a scripted answer that overrides generation).

    Content: a thinking block when asked for; then text (the rule's, a short announcement of
    the tool calls, quotes of the citable documents, or generated prose), with a web search's
    blocks and the text citing them when the reply calls a web search tool, cut at a stop
    sequence and at ``max_tokens``; then the client tool calls, several in parallel when the
    prompt names several tools and ``disable_parallel_tool_use`` is not set.
    """
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
    parallel = _parallel_allowed(params)
    calls: list[tuple[str, dict[str, Any]]] = []  # client tools, for the caller to run
    names: list[str] = []
    searched: list[_Part] = []
    if rule is not None and rule.tool_use is not None:
        scripted = rule.tool_use if isinstance(rule.tool_use, list) else [rule.tool_use]
        calls = [(c.name, dict(c.input)) for c in scripted[: None if parallel else 1]]
        names = [name for name, _ in calls]
    elif rule is None:
        for tool in _choose_tools(params, prompt, rng, parallel=parallel):
            names.append(str(tool.get("name")))
            if not is_server_tool(tool):
                calls.append((names[-1], _tool_input(tool, rng)))
            elif not searched:
                blocks, segments = web_search(rng, prompt)
                searched = [*blocks, *segments]
    forced = (params.get("tool_choice") or {}).get("type") in ("any", "tool")
    parts: list[_Part]
    if rule is not None and rule.text is not None:
        parts = [(rule.text, None)]
    elif names:
        parts = [("" if forced else _announce(names), None), *searched]
    else:
        parts = [*cited_segments(params, rng)] or [
            (_generated(params, prompt, family, config, rng), None)
        ]
    parts, stop = _cut_at_stop(parts, list(params.get("stop_sequences") or ()))
    _fill(reply, parts, budget)
    if reply.stop_reason != "max_tokens" and stop is not None:
        reply.stop_reason, reply.stop_sequence = "stop_sequence", stop
    if not calls and all(b["type"] == "thinking" for b in reply.content):
        reply.content.append(_text_block("", None))
    if calls and reply.stop_reason == "end_turn":
        for name, tool_input in calls:
            cost = tool_tokens(name, tool_input)
            if reply.output_tokens + cost > budget:
                reply.stop_reason = "max_tokens"
                reply.output_tokens = budget
                break
            reply.content.append(
                {"type": "tool_use", "id": new_id("toolu"), "name": name, "input": tool_input}
            )
            reply.output_tokens += cost
        else:
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
    input_tokens: int, cache: CacheUsage, output_tokens: int, tier: str, geo: object = None
) -> dict[str, Any]:
    """The ``usage`` object; ``geo``, the request's ``inference_geo``, is reported back as where
    the call ran (a stream's ``message_start`` carries it too)."""
    usage: dict[str, Any] = {
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
    if isinstance(geo, str):
        usage["inference_geo"] = geo
    return usage


def message_body(model: str, reply: Reply, usage: dict[str, Any]) -> dict[str, Any]:
    if reply.web_search_requests:
        usage = {
            **usage,
            "server_tool_use": {
                "web_search_requests": reply.web_search_requests,
                "web_fetch_requests": 0,
            },
        }
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
