"""What the ``llm`` classifier sends: a tight prompt over a bounded excerpt, answered through one
forced tool call whose ``tier`` can only be a tier name.

    >>> from claude_arch.core.routing.policy import shipped_policy
    >>> from claude_arch.core.routing.features import Features
    >>> body = classification_request(shipped_policy(), Features.of_prompt("x" * 5000), "m", 1500)
    >>> body["tool_choice"], len(body["messages"][0]["content"]) < 1700
    ({'type': 'tool', 'name': 'route'}, True)
    >>> body["tools"][0]["input_schema"]["properties"]["tier"]["enum"]
    ['fast', 'balanced', 'deep']
"""

from __future__ import annotations

from typing import Any

from claude_arch.core.routing.features import Features
from claude_arch.core.routing.policy import Policy

__all__ = ["TOOL_NAME", "classification_request", "excerpt", "parse_tier"]

TOOL_NAME = "route"


def excerpt(features: Features, chars: int) -> str:
    """The head and tail of the last user message (``chars`` in all) and one line of facts."""
    text = features.text
    if len(text) > chars:
        head = chars * 3 // 4
        text = f"{text[:head]}\n[... {len(features.text) - chars} characters cut ...]\n" + (
            text[-(chars - head) :] if chars - head > 0 else ""
        )
    facts = (
        f"[turns: {features.turns}; prompt tokens: {features.prompt_tokens}; "
        f"code: {'yes' if features.has_code else 'no'}; "
        f"images: {'yes' if features.has_images else 'no'}; "
        f"tools: {'yes' if features.has_tools else 'no'}]"
    )
    return f"{facts}\n{text}"


def classification_request(
    policy: Policy, features: Features, model: str, chars: int
) -> dict[str, Any]:
    """The Messages request body that asks ``model`` for a tier."""
    tiers = "\n".join(
        f"- {t.name}: {t.description or ', '.join(t.models)}" for t in policy.tiers.values()
    )
    system = (
        "You route requests to the cheapest tier that can answer them well. Tiers, cheapest "
        f"first:\n{tiers}\n{policy.description}\nCall the route tool once. Do not answer the "
        "request."
    )
    tool = {
        "name": TOOL_NAME,
        "description": "Choose the tier for the request.",
        "input_schema": {
            "type": "object",
            "properties": {
                "tier": {"type": "string", "enum": list(policy.tier_names)},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["tier"],
        },
    }
    return {
        "model": model,
        "max_tokens": 64,
        "system": system,
        "tools": [tool],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
        "messages": [{"role": "user", "content": excerpt(features, chars)}],
    }


def parse_tier(tool_uses: list[dict[str, Any]], policy: Policy) -> tuple[str, float] | None:
    """The tier and confidence of the ``route`` call, or None when the answer is not a tier."""
    for use in tool_uses:
        if use.get("name") != TOOL_NAME or not isinstance(use.get("input"), dict):
            continue
        tier = use["input"].get("tier")
        confidence = use["input"].get("confidence", 0.8)
        if tier in policy.tiers:
            ok = isinstance(confidence, int | float) and 0 <= confidence <= 1
            return str(tier), float(confidence) if ok else 0.8
    return None
