"""The Messages API as data for the edge core: generated from core, do not edit.

Regenerate with ``claude-arch edge generate`` after changing core/models.toml, errors.py or
constants.py; ``tests/edge`` fails while this file and core disagree.
"""

from __future__ import annotations

from typing import Final

ANTHROPIC_API_URL: Final = "https://api.anthropic.com"
API_VERSIONS: Final = ("2023-06-01", "2026-10-21")
DEFAULT_API_VERSION: Final = "2023-06-01"
MAX_REQUEST_BYTES: Final = 33554432
MAX_NESTING: Final = 128
SERVICE_KEY_PATTERN: Final = "sk\\-ca\\-(?:(?P<lookup>[0-9a-f]{16})_)?[A-Za-z0-9_-]{43}"
HEADER_API_KEY: Final = "x-api-key"
HEADER_AUTHORIZATION: Final = "authorization"
HEADER_VERSION: Final = "anthropic-version"
HEADER_BETA: Final = "anthropic-beta"
HEADER_REQUEST_ID: Final = "request-id"
HEADER_RETRY_AFTER: Final = "retry-after"
HEADER_SHOULD_RETRY: Final = "x-should-retry"
RATELIMIT_HEADER_PREFIX: Final = "anthropic-ratelimit-"

# status -> Anthropic error type (errors.py)
ERROR_TYPES: Final[dict[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

# id -> (family, context window, max output), in the catalog's order (core/models.toml)
MODELS: Final[dict[str, tuple[str, int, int]]] = {
    "claude-fable-5-1": ("fable", 1000000, 128000),
    "claude-fable-5": ("fable", 1000000, 128000),
    "claude-opus-5-5": ("opus", 1000000, 128000),
    "claude-opus-5": ("opus", 1000000, 128000),
    "claude-opus-4-8": ("opus", 200000, 64000),
    "claude-opus-4-7": ("opus", 200000, 64000),
    "claude-opus-4-6": ("opus", 200000, 64000),
    "claude-opus-4-5": ("opus", 200000, 64000),
    "claude-sonnet-5-5": ("sonnet", 1000000, 128000),
    "claude-sonnet-5": ("sonnet", 1000000, 128000),
    "claude-sonnet-4-6": ("sonnet", 200000, 64000),
    "claude-sonnet-4-5": ("sonnet", 200000, 64000),
    "claude-haiku-5-5": ("haiku", 1000000, 128000),
    "claude-haiku-4-5": ("haiku", 200000, 64000),
}
ALIASES: Final[dict[str, str]] = {
    "claude-opus-4-5-20251101": "claude-opus-4-5",
    "claude-sonnet-4-5-20250929": "claude-sonnet-4-5",
    "claude-haiku-4-5-20251001": "claude-haiku-4-5",
}
