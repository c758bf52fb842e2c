"""The web page end to end in headless Chromium (Debian's chromium, driven by playwright-core).

A dev-mode service on a paced emulator: the page loads its models, a prompt's answer streams in
piece by piece, the dashboard counts the call and its cost, Stop ends a long answer (and the
service reports the upstream call cancelled), the layout fits a phone's width; screenshots are
real PNGs. A second run needs a service key, typed into the page.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from browser import CHROMIUM, DRIVER_DIR, install_chromium, install_driver
from dashboard_wiring import dashboard_service

from claude_arch.testing import EmulatorServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SHORT_PROMPT = "say hello"
SHORT_ANSWER = "Hello from the emulator: this answer arrives in several pieces over the socket."
LONG_PROMPT = "tell me a long story"
LONG_ANSWER = " ".join(f"word{i}" for i in range(1500))
NODE_TIMEOUT_S = 180
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _missing(config: pytest.Config, name: str, where: str, why: str) -> None:
    """The suite's rule in ``tests/conftest.py``: skip on a laptop, fail under CI=true."""
    root = config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py is not loaded"
    root.service_missing(name, where, why)


@pytest.fixture(scope="session")
def browser_driver(pytestconfig: pytest.Config) -> Path:
    """The cached directory holding ``chat_test.mjs`` and playwright-core, Chromium installed."""
    problem = install_chromium()
    if problem:
        _missing(pytestconfig, "Chromium (Debian package chromium)", str(CHROMIUM), problem)
    problem = install_driver()
    if problem:
        _missing(pytestconfig, "playwright-core (npm install)", str(DRIVER_DIR), problem)
    return DRIVER_DIR


@pytest.fixture
async def paced_emulator() -> AsyncIterator[EmulatorServer]:
    """Tokens at the models' real pace (speed 1), so a long answer takes long enough to stop."""
    async with EmulatorServer(speed=1) as server:
        server.script(user=SHORT_PROMPT, text=SHORT_ANSWER)
        server.script(user=LONG_PROMPT, text=LONG_ANSWER)
        yield server


async def drive_page(driver: Path, url: str, tmp_path: Path, key: str | None) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None  # the driver only installs where Node is
    config = {
        "url": url + "/",
        "chromium": str(CHROMIUM),
        "key": key,
        "shortPrompt": SHORT_PROMPT,
        "longPrompt": LONG_PROMPT,
        "screenshot": str(tmp_path / "page.png"),
        "narrowScreenshot": str(tmp_path / "narrow.png"),
        "timeoutMs": 30_000,
    }
    # the service runs in this loop: the browser must run beside it, not block it
    done = await anyio.run_process(
        [node, str(driver / "chat_test.mjs"), json.dumps(config)],
        check=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    assert "failure" not in report, report
    return report


def assert_page_worked(report: dict[str, Any], tmp_path: Path) -> None:
    assert report["problems"] == []  # no console error, page error, failed request, CSP block
    assert report["websocket"] is True  # the chat went over the WebSocket
    assert "claude-haiku-4-5" in report["models"]

    first = report["first"]
    assert first["text"] == SHORT_ANSWER
    assert not first["failed"], first
    assert first["pieces"] >= 2  # streamed, not delivered in one piece at the end
    assert "tokens in" in first["meta"]
    assert first["live"] == "polite"

    assert int(report["requestsShown"].replace(",", "")) >= 1
    assert float(report["costShown"].removeprefix("$")) > 0
    assert report["modelRows"]
    assert all(len(row) == 8 for row in report["modelRows"])

    stopped = report["stopped"]
    assert 20 < stopped["atStop"] < len(LONG_ANSWER)
    assert stopped["afterCancel"] == stopped["atStop"]  # nothing arrived after Stop
    assert report["stopStatus"] == "Stopped."
    # the service answered the cancel frame with its `done` (usage so far), not silence
    assert "tokens in" in report["stopMeta"], report["frames"]
    assert report["stopMeta"].endswith("· stopped"), report["frames"]
    frames = [f for f in report["frames"] if f != "ping"]  # heartbeats may come at any time
    assert frames[-1] == "done cancelled", frames
    assert report["sendEnabledAgain"] is True

    narrow = report["narrow"]
    assert narrow["columns"] == 1
    assert narrow["scrollWidth"] <= narrow["innerWidth"]
    for name in ("page.png", "narrow.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert len(data) > 1000


async def test_chat_and_dashboard_in_chromium(
    browser_driver: Path, paced_emulator: EmulatorServer, tmp_path: Path
) -> None:
    async with dashboard_service(paced_emulator, tmp_path, dev=True) as (server, board):
        report = await drive_page(browser_driver, server.url, tmp_path, key=None)
        totals = board.snapshot()["totals"]
    assert_page_worked(report, tmp_path)
    assert totals["cancelled"] >= 1  # Stop cancelled the upstream call, not just the display


async def test_page_with_a_service_key(
    browser_driver: Path, paced_emulator: EmulatorServer, tmp_path: Path
) -> None:
    async with dashboard_service(paced_emulator, tmp_path, dashboard_keys=["browser"]) as (
        server,
        _board,
    ):
        key = await server.create_key("browser")
        report = await drive_page(browser_driver, server.url, tmp_path, key=key)
    assert report["dashboardBeforeKey"] == "Enter a service key to see the dashboard."
    assert_page_worked(report, tmp_path)
