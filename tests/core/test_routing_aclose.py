"""A router closes what it owns (what ``router_for`` made for it), not what it was given; the
pipeline's client closes its router, so a run with the ``llm`` classifier and a Redis breaker
leaves no client session or Redis connection open."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from claude_arch.core.routing import LocalBreaker, Router, shipped_policy
from claude_arch.core.routing.breakers.shared import AsyncRedisBreaker
from claude_arch.core.routing.building import router_for
from claude_arch.core.routing.classifiers.llm import LLMClassifier
from claude_arch.settings import Settings


class Closable:
    def __init__(self, name: str, log: list[str], *, sync: bool = False, fails: bool = False):
        self.name, self.log, self.fails = name, log, fails
        if sync:
            self.close = self._close_sync

    def _close_sync(self) -> None:
        self.log.append(self.name)

    async def aclose(self) -> None:
        self.log.append(self.name)
        if self.fails:
            raise OSError("pool already gone")


async def test_aclose_closes_what_it_owns_last_first_once(caplog: pytest.LogCaptureFixture) -> None:
    closed: list[str] = []
    given = Closable("given breaker", closed)
    owned = [
        Closable("client", closed),
        Closable("failing pool", closed, fails=True),
        Closable("sync thing", closed, sync=True),
        object(),  # nothing to close: skipped
    ]
    router = Router(shipped_policy(), breaker=given, owns=owned)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, "claude_arch.routing"):
        async with router as same:
            assert same is router
    assert closed == ["sync thing", "failing pool", "client"]  # the failure stopped nothing
    assert "closing the router's Closable failed" in caplog.text
    await router.aclose()
    assert closed == ["sync thing", "failing pool", "client"]  # once


async def test_a_plain_router_owns_nothing() -> None:
    router = Router(shipped_policy(), breaker=LocalBreaker())
    await router.aclose()  # nothing to do, no error


async def test_router_for_owns_its_llm_client_and_redis_breaker(redis_url: str) -> None:
    settings = Settings(redis_url=redis_url, anthropic_base_url="http://127.0.0.1:9")
    router = router_for("default", "llm", settings)
    assert isinstance(router.classifier, LLMClassifier)
    assert isinstance(router.breaker, AsyncRedisBreaker)
    calls: list[str] = []

    async def client_closed() -> None:
        calls.append("client")

    async def breaker_closed() -> None:
        calls.append("breaker")

    router.classifier.client.close = client_closed  # type: ignore[method-assign]
    router.breaker.aclose = breaker_closed  # type: ignore[method-assign]
    await router.aclose()
    assert sorted(calls) == ["breaker", "client"]


async def test_router_for_with_rules_and_no_redis_owns_nothing() -> None:
    router = router_for("default", "rules", Settings(redis_url=None))
    assert router.classifier is None
    assert isinstance(router.breaker, LocalBreaker)
    await router.aclose()


# The run happens in a fresh interpreter in development mode, with every ResourceWarning shown:
# an aiohttp session or a Redis connection left open says so on stderr when it is collected.
RUN = textwrap.dedent(
    """
    import asyncio, gc, sys, tempfile, warnings
    from claude_arch.pipeline.config import PipelineSettings
    from claude_arch.pipeline.job import pipeline_client
    from claude_arch.pipeline.jobs import NewJob
    from claude_arch.pipeline.ledger import Ledger
    from claude_arch.pipeline.dispatchers.local import LocalDispatcher
    from claude_arch.settings import Settings
    from claude_arch.testing import EmulatorServer

    async def main(redis_url):
        folder = tempfile.mkdtemp()
        async with EmulatorServer(speed=0) as emu:
            emu.script(user="(?i)story", tool_use={"name": "route", "input": {"tier": "deep"}})
            settings = Settings(anthropic_base_url=emu.url, anthropic_api_key=emu.api_key,
                                redis_url=redis_url, data_dir=folder)
            ledger = await Ledger.open(f"sqlite:///{folder}/ledger.db")
            prompts = ["Tell me a story", "Hi!"]
            await ledger.submit([
                NewJob(key=f"k{i}", run="r", source=str(i), model="auto", request={
                    "model": "auto", "max_tokens": 16,
                    "messages": [{"role": "user", "content": p}]})
                for i, p in enumerate(prompts)])
            config = PipelineSettings(routing_classifier="llm")
            async with pipeline_client(settings, config) as client:
                stats = await LocalDispatcher(ledger, client).run()
            await ledger.aclose()
            by_model = {m: s.get("requests") for m, s in emu.stats()["by_model"].items()}
        print("succeeded", stats.succeeded, sorted(by_model.items()))

    warnings.simplefilter("always", ResourceWarning)
    asyncio.run(main(sys.argv[1] or None))
    gc.collect()
    print("finished")
    """
)


@pytest.mark.parametrize("with_redis", [False, True], ids=["local breaker", "redis breaker"])
def test_a_pipeline_run_with_the_llm_classifier_leaves_nothing_open(
    with_redis: bool, request: pytest.FixtureRequest
) -> None:
    redis = request.getfixturevalue("redis_url") if with_redis else ""
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", RUN, redis],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # the llm classifier was asked (the story went to the deep tier: Opus) and both jobs done
    assert "succeeded 2" in done.stdout, done.stdout + done.stderr
    assert "claude-opus-5-5" in done.stdout
    assert "finished" in done.stdout
    leaks: list[Any] = [line for line in done.stderr.splitlines() if "unclosed" in line.lower()] + [
        line for line in done.stderr.splitlines() if "ResourceWarning" in line
    ]
    assert leaks == [], done.stderr
