"""The README's examples run as written (docs match the code)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), flags=re.DOTALL)


def test_the_readme_opens_with_the_two_commands() -> None:
    head = README.read_text("utf-8").split("\n## ", 1)[0]
    assert "make run" in head
    assert "make test" in head


def test_the_library_example_runs_on_the_embedded_emulator() -> None:
    example = _python_blocks()[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ARCH_"))}
    env["CLAUDE_ARCH_EMULATOR_SPEED"] = "0"
    env["CLAUDE_ARCH_DATA_DIR"] = "/nonexistent-is-fine-for-the-client"
    done = subprocess.run(
        [sys.executable, "-c", example],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"\n\d+ tokens, \$0\.\d+\n$", done.stdout), done.stdout
    assert "embedded emulator" in done.stderr


def test_the_testing_example_runs() -> None:
    example = _python_blocks()[1]
    code = example.replace("    ...", "    import httpx\n" + _TWO_CALLS)
    code = code.replace("HEADERS", repr({"x-api-key": "k", "anthropic-version": "2023-06-01"}))
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - our own README


_TWO_CALLS = """\
    for _ in range(2):
        httpx.post(emu.url + "/v1/messages", headers=HEADERS, json={
            "model": "claude-haiku-4-5", "max_tokens": 16,
            "messages": [{"role": "user", "content": "refund please"}]})
"""
