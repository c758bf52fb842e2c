"""The service's settings: the core :class:`~claude_arch.settings.Settings` plus the gateway's own.

>>> s = ServiceSettings(_env_file=None)
>>> s.port, s.requires_keys
(8080, True)
>>> ServiceSettings(_env_file=None, dev=True).requires_keys    # loopback + dev: no keys
False
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from claude_arch.constants import MAX_BATCH_BYTES, MAX_REQUEST_BYTES, SERVICE_DEFAULT_PORT
from claude_arch.settings import Settings

__all__ = ["ServiceSettings", "is_loopback"]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: nobody else can reach a server bound there."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServiceSettings(Settings):
    """What ``claude-arch serve`` reads (each field from ``CLAUDE_ARCH_<FIELD>``)."""

    host: str = Field(default="127.0.0.1", description="CLAUDE_ARCH_HOST: interface to bind.")
    port: int = Field(
        default=SERVICE_DEFAULT_PORT,
        ge=0,
        le=65535,
        description="CLAUDE_ARCH_PORT: port to listen on (0: any free port).",
    )
    dev: bool = Field(
        default=False,
        description="CLAUDE_ARCH_DEV: development mode; on a loopback host, requests need no key.",
    )
    max_body_bytes: int = Field(
        default=MAX_REQUEST_BYTES,
        gt=0,
        description="CLAUDE_ARCH_MAX_BODY_BYTES: larger request bodies get a 413.",
    )
    max_batch_body_bytes: int = Field(
        default=MAX_BATCH_BYTES,
        gt=0,
        description="CLAUDE_ARCH_MAX_BATCH_BODY_BYTES: larger Message Batch bodies (POST "
        "/v1/messages/batches) get a 413; the API's own limit is 256 MB.",
    )
    max_inflight: int = Field(
        default=256,
        gt=0,
        description="CLAUDE_ARCH_MAX_INFLIGHT: upstream calls at once per replica; more wait.",
    )
    queue_timeout_s: float = Field(
        default=2.0,
        ge=0,
        description="CLAUDE_ARCH_QUEUE_TIMEOUT_S: how long a request waits for a free slot "
        "before it gets a 529 with retry-after.",
    )
    routing_policy: str | None = Field(
        default=None,
        description="CLAUDE_ARCH_ROUTING_POLICY: route model 'auto' per request with this "
        "policy ('default', 'seed-intents' or a YAML file); unset: 'auto' is "
        "CLAUDE_ARCH_DEFAULT_MODEL.",
    )
    routing_classifier: Literal["rules", "llm", "embedding"] = Field(
        default="rules",
        description="CLAUDE_ARCH_ROUTING_CLASSIFIER: what decides when no rule of the policy is "
        "sure enough: 'rules' (their best guess, microseconds), 'llm' (a call to the "
        "policy's classifier model through this gateway's upstream, cached) or 'embedding' "
        "(a local MiniLM model; needs the 'route' extra).",
    )
    send_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="CLAUDE_ARCH_SEND_TIMEOUT_S: a client that reads nothing of its answer for "
        "this long (its connection's write buffer full) is dropped: its upstream call stopped "
        "and settled, its slot freed.",
    )
    shutdown_grace_s: float = Field(
        default=30.0,
        ge=0,
        description="CLAUDE_ARCH_SHUTDOWN_GRACE_S: on SIGTERM, open streams get this long to end.",
    )
    drain_delay_s: float = Field(
        default=0.0,
        ge=0,
        le=3600,
        description="CLAUDE_ARCH_DRAIN_DELAY_S: on SIGTERM, keep serving (with /readyz 503) this "
        "long before closing the listener, so a load balancer notices first; a second signal "
        "skips the wait.",
    )
    log_prompts: bool = Field(
        default=False,
        description="CLAUDE_ARCH_LOG_PROMPTS: log prompt and answer text (never on by default).",
    )
    genai_metrics: bool = Field(
        default=False,
        description="CLAUDE_ARCH_GENAI_METRICS: also export the OpenTelemetry GenAI client "
        "metrics on /metrics (gen_ai_client_operation_duration_seconds, "
        "gen_ai_client_token_usage).",
    )
    session_url: str | None = Field(
        default=None,
        description="CLAUDE_ARCH_SESSION_URL: where chat sessions live: a SQLAlchemy URL or "
        "redis://…; unset: the service database.",
    )
    session_max_turns: int = Field(
        default=200, gt=0, description="CLAUDE_ARCH_SESSION_MAX_TURNS: turns a session keeps."
    )
    session_max_bytes: int = Field(
        default=1_000_000,
        gt=0,
        description="CLAUDE_ARCH_SESSION_MAX_BYTES: stored size of one session; older turns go.",
    )
    session_ttl_s: float = Field(
        default=30 * 24 * 3600.0,
        gt=0,
        description="CLAUDE_ARCH_SESSION_TTL_S: a session unused this long is forgotten.",
    )
    key_cache_ttl_s: float = Field(
        default=5.0,
        ge=0,
        description="CLAUDE_ARCH_KEY_CACHE_TTL_S: a revoked key stops working within this time.",
    )
    fallbacks: dict[str, list[str]] = Field(
        default_factory=dict,
        description='CLAUDE_ARCH_FALLBACKS: JSON, e.g. {"claude-sonnet-4-6": ["claude-haiku-4-5"]}:'
        " models tried, in order, when a model keeps failing before the first byte.",
    )
    dashboard_keys: list[str] = Field(
        default_factory=list,
        description="CLAUDE_ARCH_DASHBOARD_KEYS: JSON list of key ids or names that may read "
        "the dashboard (every tenant's models, costs and errors); in dev mode anyone may.",
    )
    heartbeat_s: float = Field(
        default=15.0,
        gt=0,
        description="CLAUDE_ARCH_HEARTBEAT_S: WebSocket ping interval (JSON and protocol pings); "
        "a peer that answers no protocol ping for this long is dropped.",
    )

    @property
    def requires_keys(self) -> bool:
        """Keys are required everywhere but dev mode on a loopback interface."""
        return not (self.dev and is_loopback(self.host))

    @model_validator(mode="after")
    def _dev_only_on_loopback(self) -> ServiceSettings:
        # Dev mode on a public interface would be an open proxy paid with the Anthropic key.
        if self.dev and not is_loopback(self.host):
            raise ValueError(
                f"dev: development mode (no service keys) is only allowed on a loopback host, "
                f"not {self.host!r}; create keys with `claude-arch keys create` instead"
            )
        return self
