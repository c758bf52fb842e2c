"""schemathesis against a live production-mode gateway, holding the service to its own OpenAPI
document: not only no 5xx, but every status, content type, response header and response body
as documented (its conformance checks).

1. The published document (``/openapi.json``), every operation, positive and negative data.
2. ``POST /v1/messages`` with valid bodies in quantity: the document's body schema (core's
   ``CreateParams``) narrowed to what core's validation also demands (known models, a
   ``max_tokens`` within every model's limit, one user turn with some text, stop sequences with
   some text; integers from a list, as JSON Schema's ``integer`` admits ``1.0``, which core
   refuses), positive data only, with ``positive_data_acceptance``: a body the schema allows
   must be answered 2xx. The access log counts how many were answered 200; a floor holds.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_gateway import LiveGateway

pytestmark = [pytest.mark.redis, pytest.mark.timeout(150)]

CONFORMANCE = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)
RUN_TIMEOUT_S = 120
TEXT = {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9 ,.?]{0,40}$"}
"""Text core accepts: not empty, not only white space."""
KEPT = ("model", "messages", "max_tokens", "system", "stop_sequences", "stream", "metadata",
        "temperature", "top_p", "top_k")  # fmt: skip
VALID_MESSAGES_FLOOR = 150


def schemathesis_cli() -> str:
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if cli is None:  # a dev dependency: its absence is a broken install, not a missing service
        pytest.fail("schemathesis is not installed (the dev extra)")
    return cli


def run_schemathesis(
    gateway: LiveGateway, location: str, workdir: Path, *extra: str, checks: str = CONFORMANCE
) -> str:
    done = subprocess.run(
        [schemathesis_cli(), "run", location, "--url", gateway.url, "--checks", checks,
         "--seed", "1", "--workers", "1", "--no-color", "--generation-database", "none",
         "--report-dir", str(workdir), "-H", f"x-api-key: {gateway.key}", *extra],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False, cwd=workdir,
    )  # fmt: skip
    gateway.leaks.seen(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return done.stdout


def cases_passed(stdout: str) -> int:
    ran = re.search(r"(\d+) generated, (\d+) passed", stdout)
    assert ran is not None, stdout[-2000:]
    assert ran[1] == ran[2], stdout[-2000:]
    return int(ran[1])


def answered(gateway: LiveGateway, path: str, status: int) -> int:
    """Access lines of ``path`` with ``status`` so far."""
    count = 0
    for line in gateway.proc.log_path.read_text(errors="replace").split("\n"):
        if '"claude_arch.service.access"' in line:
            record = json.loads(line)
            count += record["path"] == path and record["status"] == status
    return count


def valid_messages_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with ``POST /v1/messages`` alone, its body ``CreateParams`` as published,
    narrowed to bodies core accepts."""
    schemas = spec["components"]["schemas"]
    body = schemas["CreateParams"]
    props = {name: body["properties"][name] for name in KEPT}
    props["model"] = {"enum": ["claude-haiku-4-5", "claude-sonnet-4-6", "auto"]}
    # integers as an enum: JSON Schema counts 1.0 as an integer, which core (like the API's
    # typed fields) refuses; schemathesis generates it
    props["max_tokens"] = {"enum": [1, 7, 64, 300, 512]}
    props["top_k"] = {"enum": [0, 1, 5, 40, 500]}
    props["messages"] = {
        "type": "array", "minItems": 1, "maxItems": 1,
        "items": {
            "type": "object", "required": ["role", "content"], "additionalProperties": False,
            "properties": {"role": {"const": "user"}, "content": TEXT},
        },
    }  # fmt: skip
    props["system"] = TEXT
    props["stop_sequences"] = {"type": "array", "maxItems": 4, "items": TEXT}
    props["stream"] = {"type": "boolean"}
    schemas["ValidCreateParams"] = {
        "type": "object", "required": ["model", "messages", "max_tokens"],
        "additionalProperties": False, "properties": props,
    }  # fmt: skip
    operation = spec["paths"]["/v1/messages"]["post"]
    operation["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/ValidCreateParams"
    }
    spec["paths"] = {"/v1/messages": {"post": operation}}
    return spec


def test_the_published_document_holds(gateway: LiveGateway, tmp_path: Path) -> None:
    out = run_schemathesis(gateway, f"{gateway.url}/openapi.json", tmp_path, "--max-examples", "25")
    assert cases_passed(out) > 1000


def test_valid_messages_bodies_are_answered(gateway: LiveGateway, tmp_path: Path) -> None:
    spec = valid_messages_spec(httpx.get(f"{gateway.url}/openapi.json").json())
    (tmp_path / "openapi.json").write_text(json.dumps(spec))
    before = answered(gateway, "/v1/messages", 200)
    out = run_schemathesis(
        gateway, str(tmp_path / "openapi.json"), tmp_path,
        "--mode", "positive", "--max-examples", "150",
        checks=CONFORMANCE + ",positive_data_acceptance",
    )  # fmt: skip
    passed = cases_passed(out)
    assert passed >= VALID_MESSAGES_FLOOR
    # every request was answered before schemathesis ended; its access line follows within
    # the server's loop turn: poll for it, bounded
    deadline = time.monotonic() + 5
    while (reached := answered(gateway, "/v1/messages", 200) - before) < VALID_MESSAGES_FLOOR:
        assert time.monotonic() < deadline, (reached, passed)
        time.sleep(0.05)
