"""The emulator a benchmark measures against, in a process of its own: the profile's tier with
time compressed by the speed factor, answers exactly as long as each request's draw.

    config = upstream_config(profile, plan, speed=20, port=free_port())
    with upstream_process(config, log_dir) as emulator:
        counts = upstream_counts(emulator.url)      # {"calls": …, "rate_limited": …}

At speed S every delay of the latency model is divided by S, so a minute of traffic passes in
1/S of a minute; the tier's per-minute limits are multiplied by S to stay the same share of it.
``python -m claude_arch.advisor.measure.upstream CONFIG_JSON`` is the process.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx

from claude_arch.advisor.measure.processes import ChildServer, child_env
from claude_arch.advisor.measure.workload import RequestPlan
from claude_arch.advisor.profile import WorkloadProfile
from claude_arch.advisor.sources import Sources, default_sources
from claude_arch.constants import EMULATOR_API_KEY
from claude_arch.emulator.config import EmulatorConfig, LimitSpec

__all__ = ["upstream_config", "upstream_counts", "upstream_process"]


def upstream_config(
    profile: WorkloadProfile,
    plan: RequestPlan,
    *,
    speed: float,
    port: int,
    sources: Sources | None = None,
) -> EmulatorConfig:
    """The emulator for ``profile``: its tier's limits × ``speed``, replies long enough for
    every draw of ``plan`` (each is cut at its own ``max_tokens``), batches worked off at the
    emulator's pace ÷ ``speed``."""
    src = sources or default_sources()
    limits = {
        family: LimitSpec(
            rpm=max(1, round(lim.rpm * speed)),
            itpm=max(1, round(lim.itpm * speed)),
            otpm=max(1, round(lim.otpm * speed)),
        )
        for family, lim in src.catalog.limits(profile.rate_limit_tier).items()
    }
    longest = plan.reply_tokens
    pace = EmulatorConfig.model_fields["batch_seconds_per_request"].default
    return EmulatorConfig(
        port=port,
        speed=speed,
        rate_limit_tier=profile.rate_limit_tier,
        limits=limits if speed > 0 else {},
        reply_tokens=(longest, longest),
        batch_seconds_per_request=pace / speed if speed > 0 else pace,
    )


def upstream_process(config: EmulatorConfig, log_dir: Path) -> ChildServer:
    """The emulator of ``config`` as a :class:`ChildServer` (start it with ``with``)."""
    return ChildServer(
        "emulator",
        [sys.executable, "-m", __name__, config.model_dump_json()],
        child_env(),
        log_dir,
        port=config.port,
        ready_path="/v1/models",
    )


def upstream_counts(url: str) -> dict[str, int]:
    """Messages calls the emulator answered so far (each batch request counts as one), and how
    many of them were 429s."""
    stats: dict[str, Any] = (
        httpx.get(f"{url}/_emulator/stats", headers={"x-api-key": EMULATOR_API_KEY}, timeout=10)
        .raise_for_status()
        .json()
    )
    calls = int(stats.get("by_endpoint", {}).get("anthropic", {}).get("requests", 0))
    calls += int(stats.get("totals", {}).get("batch_requests", 0))
    return {"calls": calls, "rate_limited": int(stats.get("totals", {}).get("errors_429", 0))}


def _main(argv: list[str]) -> None:
    from claude_arch.emulator import serve

    serve(EmulatorConfig.model_validate_json(argv[1]))


if __name__ == "__main__":
    _main(sys.argv)
