"""``anthropic-ratelimit-*`` response headers: from bucket states, and the tighter of two sets.

    >>> state = KindState(limit=50, remaining=49, reset=1.2)
    >>> kind_headers({}, "requests", state, now=0)["anthropic-ratelimit-requests-reset"]
    '1970-01-01T00:00:02Z'

What binds a caller of a gateway is, kind by kind, whichever of its own limits and the
organisation's has less left:

    >>> key = {"anthropic-ratelimit-requests-limit": "5",
    ...        "anthropic-ratelimit-requests-remaining": "4",
    ...        "anthropic-ratelimit-requests-reset": "1970-01-01T00:00:12Z"}
    >>> org = {"anthropic-ratelimit-requests-limit": "4000",
    ...        "anthropic-ratelimit-requests-remaining": "3999",
    ...        "anthropic-ratelimit-requests-reset": "1970-01-01T00:00:01Z",
    ...        "anthropic-ratelimit-output-tokens-limit": "400000",
    ...        "anthropic-ratelimit-output-tokens-remaining": "398000",
    ...        "anthropic-ratelimit-output-tokens-reset": "1970-01-01T00:00:01Z"}
    >>> merged = tighter(key, org)
    >>> merged["anthropic-ratelimit-requests-limit"]
    '5'
    >>> merged["anthropic-ratelimit-output-tokens-limit"]
    '400000'
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping

from claude_arch.constants import RATELIMIT_HEADER_PREFIX as P
from claude_arch.constants import RATELIMIT_KINDS
from claude_arch.core.ratelimit.protocol import BucketState, KindState

__all__ = ["bucket_headers", "kind_headers", "tighter"]

_NAMES = {
    kind: (f"{P}{kind}-limit", f"{P}{kind}-remaining", f"{P}{kind}-reset")
    for kind in RATELIMIT_KINDS
}


@functools.lru_cache(maxsize=4096)
def _rfc3339(epoch_second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_second))


def kind_headers(
    out: dict[str, str], kind: str, state: KindState, now: float, *, rounded: bool = False
) -> dict[str, str]:
    """Add ``kind``'s limit, remaining and reset (RFC 3339, whole seconds, rounded up) to
    ``out``; ``rounded``: remaining tokens to the thousand below, as the API reports them."""
    limit, remaining, reset = _NAMES[kind]
    out[limit] = str(state.limit)
    out[remaining] = str(state.remaining // 1000 * 1000 if rounded else state.remaining)
    out[reset] = _rfc3339(math.ceil(now + state.reset))
    return out


def bucket_headers(state: BucketState, now: float, *, rounded: bool = True) -> dict[str, str]:
    """The four kinds for one family's buckets: requests, input and output tokens, and
    ``tokens`` (whichever token bucket is closer to empty, as the API reports it)."""
    out: dict[str, str] = {}
    kind_headers(out, "requests", state.requests, now)
    kind_headers(out, "input-tokens", state.input_tokens, now, rounded=rounded)
    kind_headers(out, "output-tokens", state.output_tokens, now, rounded=rounded)
    tightest = min(
        (state.input_tokens, state.output_tokens),
        key=lambda k: k.remaining / k.limit if k.limit else 1.0,
    )
    return kind_headers(out, "tokens", tightest, now, rounded=rounded)


def _remaining(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def tighter(first: Mapping[str, str], second: Mapping[str, str]) -> dict[str, str]:
    """Kind by kind, the limit, remaining and reset of whichever set has less remaining (all
    three from the same set; a kind only one set describes comes from it)."""
    if not second:
        return dict(first)
    if not first:
        return dict(second)
    out: dict[str, str] = {}
    for names in _NAMES.values():
        a, b = _remaining(first, names[1]), _remaining(second, names[1])
        if a is None and b is None:
            continue
        source = first if b is None or (a is not None and a <= b) else second
        for name in names:
            if name in source:
                out[name] = source[name]
    return out
