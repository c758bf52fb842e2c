"""Closed-loop HTTP load with wrk: a POST body from a generated Lua script, results as JSON.

    result = run_wrk(server.url + "/v1/messages", body, ("x-api-key", key), connections=32,
                     seconds=5, core=1, run_dir=tmp)
    result.rate, result.p50_ms, result.p99_ms, result.errors, result.cpu

Why wrk: a C event loop costs a fraction of what a Python client does per request, so on the
shared core it leaves the emulator room and the proxy under test stays the bottleneck; its
latency histogram has microsecond resolution. The Lua ``done`` hook prints one JSON line so
nothing is parsed out of wrk's human-readable report.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service_harness.processes import pinned

LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["content-type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.headers[ {header} ] = {value}

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"status_errors": %d, "socket_errors": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"  # a long bracket: no escaping of JSON quotes or backslashes


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (Debian/Ubuntu)")
    return found


@dataclass
class WrkResult:
    rate: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu: float
    """CPU seconds per second wrk itself used (1.0 = one core)."""


def run_wrk(
    url: str,
    body: dict[str, Any],
    key_header: tuple[str, str],
    *,
    connections: int,
    seconds: float,
    core: int | None,
    run_dir: Path,
    timeout_s: int = 10,
) -> WrkResult:
    header, value = key_header
    script = run_dir / f"post-{abs(hash((header, value, json.dumps(body))))}.lua"
    if not script.exists():
        script.write_text(
            LUA.format(
                body=lua_string(json.dumps(body)),
                header=lua_string(header),
                value=lua_string(value),
            )
        )
    argv = [*pinned(core), require_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s"]
    argv += [f"--timeout={timeout_s}s", "-s", str(script), url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("WRKJSON "))
    duration_s = data["duration_us"] / 1e6
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return WrkResult(
        rate=data["requests"] / duration_s,
        p50_ms=data["p50_us"] / 1000 if data["requests"] else float("nan"),
        p99_ms=data["p99_us"] / 1000 if data["requests"] else float("nan"),
        requests=data["requests"],
        errors=data["status_errors"] + data["socket_errors"],
        cpu=used / duration_s,
    )
