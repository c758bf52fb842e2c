"""What the edge worker uploads, and the core's time per request under Pyodide in Node.

    .venv/bin/python bench/bench_edge.py [--n 300]

Size: the Python files ``claude-arch edge bundle`` writes (entry.py and claude_arch/edge), raw
and gzipped (targets: at most 100 KB of Python). Time: ``tests/edge/pyodide/harness.mjs bench``
boots the worker under the npm ``pyodide`` package (installed into the test cache on first use),
answers the upstream in-process (a canned message or SSE stream, so no network time is counted)
and measures, per request, the wall time and the process's CPU time from handing the Request to
the worker until its Response is returned: a cached hit (target: p50 at most 5 ms), the start of
a stream (headers ready; at most 10 ms), and for comparison a request bypassing the cache and a
refused key.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from hashlib import sha256
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "edge")]

from edge_backends import PYODIDE_DIR, install_pyodide  # noqa: E402

from claude_arch.edge.cpython.bundle import build_bundle, bundle_size  # noqa: E402

SECRET = "sk-ca-" + "B" * 43
TARGETS_MS = {"cached_hit": 5.0, "stream_start": 10.0}


def sizes(out: Path) -> tuple[int, int, int]:
    files = build_bundle(out)
    raw = bundle_size(files)
    zipped = sum(len(gzip.compress(path.read_bytes())) for path in files)
    return len(files), raw, zipped


def timings(worker: Path, n: int) -> dict[str, object]:
    record = json.dumps({"id": "key_bench", "name": "bench", "rpm": 10_000_000})
    config = {
        "worker": str(worker),
        "shim": str(PYODIDE_DIR / "workers_shim.py"),
        "env": {"ANTHROPIC_BASE_URL": "http://upstream.bench", "ANTHROPIC_API_KEY": "sk-ant-x"},
        "kv": {"key:" + sha256(SECRET.encode()).hexdigest(): record},
        "secret": SECRET,
        "n": n,
    }
    config_path = worker.parent / "bench.json"
    config_path.write_text(json.dumps(config))
    done = subprocess.run(
        ["node", "harness.mjs", "bench", str(config_path)],
        cwd=PYODIDE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="requests per case")
    args = parser.parse_args()
    problem = install_pyodide()
    if problem:
        sys.exit(f"cannot install Pyodide for Node: {problem}")
    with tempfile.TemporaryDirectory() as tmp:
        worker = Path(tmp) / "worker"
        count, raw, zipped = sizes(worker)
        result = timings(worker, args.n)
    print(f"upload: {count} Python files, {raw / 1024:.1f} KiB ({zipped / 1024:.1f} KiB gzipped)")
    print(f"Pyodide boot in Node (not per request): {result['pyodide_boot_ms']:.0f} ms")
    print(f"\n| case | wall p50 | wall p95 | CPU p50 | CPU p95 | target (p50) | n={args.n} |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for case in ("cached_hit", "stream_start", "cache_bypass", "refused_401"):
        row = result[case]
        assert isinstance(row, dict)
        wall, cpu = row["wall_ms"], row["cpu_ms"]
        target = TARGETS_MS.get(case)
        shown = f"≤ {target:.0f} ms" if target else "–"
        print(
            f"| {case} | {wall['p50']:.2f} ms | {wall['p95']:.2f} ms | {cpu['p50']:.2f} ms "
            f"| {cpu['p95']:.2f} ms | {shown} | |"
        )


if __name__ == "__main__":
    main()
