"""Which variants a benchmark can run, and how each is started: the ones built, and the ones not
built yet (shown in the report as such, never left out).

    >>> [v.id for v in bench_variants()][:3]
    ['service', 'orchestrator', 'pipeline']
    >>> next(v for v in bench_variants() if v.id == "pipeline-batch").built
    True
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from claude_arch.advisor.measure.processes import ChildServer, child_env, free_port
from claude_arch.constants import EMULATOR_API_KEY, SERVICE_KEY_SECRET_PREFIX

__all__ = [
    "BENCH_KEY",
    "BenchVariant",
    "bench_variants",
    "edge_available",
    "edge_process",
    "service_process",
]

BENCH_KEY = SERVICE_KEY_SECRET_PREFIX + secrets.token_urlsafe(32)
"""The caller's key (a service key's shape, new in each process): any key does in the service's
dev mode; the edge is given this one."""


@dataclass(frozen=True)
class BenchVariant:
    """A variant as the benchmark runs it: ``how`` says what is driven; ``built`` False with
    ``why_not`` when it cannot be run here."""

    id: str
    title: str
    how: str
    built: bool = True
    why_not: str = ""


def edge_available() -> bool:
    """True when ``claude_arch.edge`` is importable and has an ``edge serve`` command."""
    if importlib.util.find_spec("claude_arch.edge") is None:
        return False
    try:
        from claude_arch.edge.cpython.cli import edge_app
    except ImportError:
        return False
    return any(
        (c.name or getattr(c.callback, "__name__", "")) == "serve"
        for c in edge_app.registered_commands
    )


def bench_variants() -> list[BenchVariant]:
    """Every variant the advisor scores that runs on its own, in the report's order."""
    edge = edge_available()
    return [
        BenchVariant(
            "service",
            "Streaming microservice",
            "`claude-arch serve --dev` in its own process, streamed POST /v1/messages over HTTP",
        ),
        BenchVariant(
            "orchestrator",
            "Orchestrator (service, model auto)",
            'the same service with CLAUDE_ARCH_ROUTING_POLICY=default, model "auto"',
        ),
        BenchVariant(
            "pipeline",
            "Queue pipeline (local dispatcher)",
            "jobs in a SQLite ledger worked off by LocalDispatcher in this process",
        ),
        BenchVariant(
            "pipeline-batch",
            "Queue pipeline with Message Batches",
            "jobs in a SQLite ledger sent as Message Batches by BatchDispatcher in this process; "
            "latency is the emulator's batch pace, not the API's hours",
        ),
        BenchVariant(
            "serverless",
            "Serverless function (AWS Lambda)",
            "the HTTP handler under awslambdaric, one process per execution environment",
        ),
        BenchVariant(
            "edge",
            "Edge function",
            "`claude-arch edge serve` in its own process, streamed POST /v1/messages over HTTP",
            built=edge,
            why_not="" if edge else "not built yet (claude_arch.edge has no `edge serve`)",
        ),
    ]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "claude_arch.cli", *args]


def service_process(upstream_url: str, work_dir: Path, *, routing: bool) -> ChildServer:
    """``claude-arch serve --dev`` on a free port, in front of ``upstream_url``; with
    ``routing``, ``model: "auto"`` is routed by the default policy."""
    port = free_port()
    name = "orchestrator" if routing else "service"
    env = child_env(
        ANTHROPIC_API_KEY=EMULATOR_API_KEY,
        ANTHROPIC_BASE_URL=upstream_url,
        CLAUDE_ARCH_DATA_DIR=str(work_dir / name),
        CLAUDE_ARCH_RATE_LIMIT_TIER="none",
        **({"CLAUDE_ARCH_ROUTING_POLICY": "default"} if routing else {}),
    )
    args = _cli("serve", "--dev", "--port", str(port), "--log-level", "warning")
    return ChildServer(name, args, env, work_dir, port=port, ready_path="/healthz")


def edge_process(upstream_url: str, work_dir: Path) -> ChildServer:
    """``claude-arch edge serve`` on a free port, in front of ``upstream_url``, knowing
    :data:`BENCH_KEY`, its answer cache off (every request is new anyway)."""
    port = free_port()
    record = {"id": "bench", "name": "bench", "rpm": None, "revoked": False}
    env = child_env(
        ANTHROPIC_API_KEY=EMULATOR_API_KEY,
        ANTHROPIC_BASE_URL=upstream_url,
        CLAUDE_ARCH_EDGE_KEYS=json.dumps({hashlib.sha256(BENCH_KEY.encode()).hexdigest(): record}),
        CLAUDE_ARCH_EDGE_CACHE_TTL_S="0",
    )
    args = _cli("edge", "serve", "--port", str(port))
    return ChildServer("edge", args, env, work_dir, port=port, ready_path="/")
