"""Every name that crosses a boundary: headers, environment variables, Redis keys, defaults."""

from __future__ import annotations

from typing import Final

# --- Anthropic wire protocol -------------------------------------------------------------------
API_VERSION_2X: Final = "2026-10-21"
API_VERSION_0X: Final = "2023-06-01"
SUPPORTED_API_VERSIONS: Final = frozenset({API_VERSION_0X, API_VERSION_2X})

HEADER_API_KEY: Final = "x-api-key"
HEADER_AUTHORIZATION: Final = "authorization"
HEADER_VERSION: Final = "anthropic-version"
HEADER_BETA: Final = "anthropic-beta"
HEADER_REQUEST_ID: Final = "request-id"
HEADER_RETRY_AFTER: Final = "retry-after"
HEADER_RETRY_AFTER_MS: Final = "retry-after-ms"
HEADER_SHOULD_RETRY: Final = "x-should-retry"
HEADER_RETRY_COUNT: Final = "x-stainless-retry-count"
RATELIMIT_HEADER_PREFIX: Final = "anthropic-ratelimit-"
# anthropic-ratelimit-{kind}-{limit,remaining,reset}
RATELIMIT_KINDS: Final = ("requests", "tokens", "input-tokens", "output-tokens")

MAX_REQUEST_BYTES: Final = 32 * 1024 * 1024
MAX_BATCH_BYTES: Final = 256 * 1024 * 1024
MAX_BATCH_REQUESTS: Final = 100_000
BATCH_DISCOUNT: Final = "0.5"

# --- Upstreams ---------------------------------------------------------------------------------
PROVIDERS: Final = ("anthropic", "bedrock", "vertex")
"""Where Claude is served: the Anthropic API, Amazon Bedrock, Google Vertex AI. A model name may
be qualified with one (``bedrock:claude-sonnet-4-6``) in a fallback chain."""

HEADER_PROVIDER: Final = "x-claude-arch-provider"
"""On a gateway's answers when a cloud platform serves some calls: the provider that answered."""

# --- Environment -------------------------------------------------------------------------------
ENV_PREFIX: Final = "CLAUDE_ARCH_"
ENV_API_KEY: Final = "ANTHROPIC_API_KEY"
ENV_BASE_URL: Final = "ANTHROPIC_BASE_URL"
ENV_FILE: Final = "CLAUDE_ARCH_ENV_FILE"
"""A dotenv file to read settings from too; unset, only the environment counts."""

# --- Redis keys (every prefix in one place) ----------------------------------------------------
REDIS_PREFIX: Final = "claude-arch:"
REDIS_RATELIMIT_PREFIX: Final = REDIS_PREFIX + "rl:"

ANTHROPIC_API_URL: Final = "https://api.anthropic.com"

# --- Defaults ----------------------------------------------------------------------------------
DEFAULT_MODEL: Final = "claude-haiku-4-5"
AUTO_MODEL: Final = "auto"  # the model name that means: the router decides (or DEFAULT_MODEL)
DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_TIMEOUT_S: Final = 600.0
DEFAULT_CONNECT_TIMEOUT_S: Final = 5.0
DEFAULT_UPSTREAM: Final = "anthropic"
DEFAULT_RATE_LIMIT_TIER: Final = "tier4"
DEFAULT_LEARN_LIMITS: Final = True
DEFAULT_EMULATOR_SPEED: Final = 1.0
DEFAULT_BEDROCK_INFERENCE_PROFILE: Final = "global"
EMULATOR_API_KEY: Final = "sk-ant-emulator"
EMULATOR_DEFAULT_PORT: Final = 4010
# The emulator's Bedrock and Vertex credentials (static, for tests; the emulator checks them)
EMULATOR_AWS_ACCESS_KEY: Final = "AKIAEMULATOREXAMPLE0"
EMULATOR_AWS_SECRET_KEY: Final = "emulator/Secret/Key/EXAMPLEKEY0000000000"  # noqa: S105
EMULATOR_VERTEX_TOKEN: Final = "ya29.emulator-vertex-token"  # noqa: S105

# --- Service -----------------------------------------------------------------------------------
SERVICE_DEFAULT_PORT: Final = 8080
HEADER_REQUEST_ID_IN: Final = "x-request-id"  # a load balancer's id, echoed when it is sane
WS_SUBPROTOCOL_KEY_PREFIX: Final = "claude-arch.key."  # a browser's key, as a WebSocket subprotocol
WS_SUBPROTOCOL: Final = "claude-arch.v1"
WS_CLOSE_UNAUTHORIZED: Final = 4401  # close code of a chat socket whose key was refused
HEADER_SESSION_ID: Final = "claude-arch-session-id"  # the chat session a POST /v1/chat used
REDIS_SESSION_PREFIX: Final = REDIS_PREFIX + "session:"  # + "{sess_…}" (hash) and "…:turns" (list)

# --- Service keys, per-key limits and budgets --------------------------------------------------
SERVICE_KEY_SECRET_PREFIX: Final = "sk-ca-"  # noqa: S105 - a prefix: sk-ca-<43 url-safe chars>
REDIS_BUDGET_PREFIX: Final = REDIS_PREFIX + "budget:"  # + key id + ":" + period start
SERVICE_KEY_FAMILY: Final = "service-key"  # the rate-limiter family of per-key limits
HEADER_BUDGET_LIMIT: Final = "claude-arch-budget-limit-usd"
HEADER_BUDGET_REMAINING: Final = "claude-arch-budget-remaining-usd"
HEADER_BUDGET_RESET: Final = "claude-arch-budget-reset"  # RFC 3339 start of the next period
