"""uPlot, vendored for the dashboard's charts: the files are the pinned release's, byte for byte.

``web/vendor/uplot/manifest.json`` pins the package version and each file's SHA-256; the files
must match it, the service must send them as they are, and the pinned package (``npm pack`` of
that exact version) must hold the same bytes. To update: ``npm pack uplot@NEW``, copy the three
files, write their hashes and the tarball's integrity into the manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import httpx
import pytest
from dashboard_wiring import dashboard_service

from claude_arch.testing import EmulatorServer

VENDOR = Path(__file__).resolve().parents[2] / "src/claude_arch/service/web/vendor/uplot"
MANIFEST = json.loads((VENDOR / "manifest.json").read_text())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_files_match_the_manifest() -> None:
    assert MANIFEST["package"] == "uplot"
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"])  # an exact pin
    assert MANIFEST["license"] == "MIT"
    assert set(MANIFEST["files"]) == {"uPlot.iife.min.js", "uPlot.min.css", "LICENSE"}
    assert {p.name for p in VENDOR.iterdir()} == {*MANIFEST["files"], "manifest.json"}
    for name, entry in MANIFEST["files"].items():
        assert sha256((VENDOR / name).read_bytes()) == entry["sha256"], name
    assert "MIT License" in (VENDOR / "LICENSE").read_text()
    assert f"(v{MANIFEST['version']})" in (VENDOR / "uPlot.iife.min.js").read_text()[:200]


async def test_the_service_sends_them_unchanged(emulator: EmulatorServer, tmp_path: Path) -> None:
    async with (
        dashboard_service(emulator, tmp_path) as (server, _board),
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        sent = {n: await http.get(f"/static/vendor/uplot/{n}") for n in MANIFEST["files"]}
        page = (await http.get("/")).text
        missing = [
            (await http.get(p)).status_code
            for p in ("/static/vendor/uplot/manifest.json", "/static/vendor/uplot/..%2fapp.js")
        ]
    for name, response in sent.items():
        assert response.status_code == 200, name
        assert sha256(response.content) == MANIFEST["files"][name]["sha256"], name
        assert "default-src 'none'" in response.headers["content-security-policy"]
    assert sent["uPlot.iife.min.js"].headers["content-type"].startswith("text/javascript")
    assert sent["uPlot.min.css"].headers["content-type"].startswith("text/css")
    assert '<script src="/static/vendor/uplot/uPlot.iife.min.js"' in page
    assert missing == [404, 404]


@pytest.mark.timeout(120)
def test_the_pinned_package_holds_the_same_bytes(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    npm = shutil.which("npm")
    if npm is None:
        root = pytestconfig.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
        assert root is not None
        root.service_missing("npm", "PATH", "npm packs the pinned uPlot to compare it")
        return
    spec = f"{MANIFEST['package']}@{MANIFEST['version']}"
    done = subprocess.run(
        [npm, "pack", spec, "--json", "--pack-destination", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    packed = json.loads(done.stdout)[0]
    assert packed["version"] == MANIFEST["version"]
    assert packed["integrity"] == MANIFEST["integrity"]
    with tarfile.open(tmp_path / packed["filename"]) as tar:
        for name, entry in MANIFEST["files"].items():
            member = tar.extractfile(entry["from"])
            assert member is not None, entry["from"]
            assert sha256(member.read()) == entry["sha256"], name
