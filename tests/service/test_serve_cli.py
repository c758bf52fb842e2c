"""``claude-arch serve`` as ``make run`` runs it: dev mode says where to look; production logs stay
JSON; a bad combination of options is refused naming the option."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_process import CLI, ServiceProcess

from claude_arch.testing import EmulatorServer


@pytest.fixture
def upstream() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


def test_dev_mode_says_where_to_look(upstream: EmulatorServer, tmp_path: Path) -> None:
    with ServiceProcess(tmp_path, upstream=upstream, args=("--dev",)) as proc:
        proc.wait_ready()
        proc.terminate()
        assert proc.wait(20) == 0
        log = proc.log_path.read_text()
    assert f"web chat + dashboard: {proc.url}/" in log
    assert f"ANTHROPIC_BASE_URL={proc.url} ANTHROPIC_API_KEY=any (dev mode)" in log
    assert f"{proc.url}/metrics" in log


def test_production_logs_are_json_lines_only(upstream: EmulatorServer, tmp_path: Path) -> None:
    with ServiceProcess(tmp_path, upstream=upstream) as proc:  # keys required: no banner
        proc.wait_ready()
        proc.terminate()
        assert proc.wait(20) == 0
        lines = proc.log_path.read_text().splitlines()
    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def test_dev_mode_on_a_public_interface_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(CLI), "serve", "--dev", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "CLAUDE_ARCH_DATA_DIR": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 2
    assert "dev" in done.stderr
    assert "loopback" in done.stderr
