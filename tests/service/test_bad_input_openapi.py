"""schemathesis against the live service: zero 5xx, with and without a service key.

The service's ``/openapi.json`` describes no request body for ``POST /v1/messages`` (the routes read
the raw body so an over-long one is refused before parsing), so schemathesis alone would only send
what it guesses. A second run adds the body schemas from core's own request models
(``CreateParams``, ``CountTokensParams``) with the model limited to known IDs, so the generated
bodies reach validation (and, for count_tokens, the upstream). Generating whole valid Messages
bodies this way rarely succeeds (the models' JSON schema cannot say "non-empty text"), which is
what ``test_bad_input.py``'s hypothesis test covers instead.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from log_capture import json_logs
from pydantic import BaseModel

from claude_arch.core.validation.schema import CountTokensParams, CreateParams
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

MAX_BODY = 64 * 1024
RUN_TIMEOUT_S = 120
MODELS = ["claude-haiku-4-5", "claude-sonnet-4-6", "auto"]


def schemathesis_cli() -> str:
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip("schemathesis is not installed (pip install schemathesis)")
    return cli


def with_body_schemas(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with core's request models as the bodies of the two POST routes."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    routes: tuple[tuple[str, type[BaseModel]], ...] = (
        ("/v1/messages", CreateParams),
        ("/v1/messages/count_tokens", CountTokensParams),
    )
    for path, model in routes:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        # known models, answers within every model's output limit: past the 404 and 400 gates
        schema["properties"]["model"] = {"enum": MODELS}
        if "max_tokens" in schema["properties"]:
            schema["properties"]["max_tokens"] = {"type": "integer", "minimum": 1, "maximum": 1024}
        schemas[model.__name__] = schema
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        spec["paths"][path]["post"]["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref}},
        }
    return spec


def run_schemathesis(location: str, url: str, workdir: Path, *extra: str) -> str:
    done = subprocess.run(
        [schemathesis_cli(), "run", location, "--url", url, "--checks", "not_a_server_error",
         "--seed", "1", "--workers", "1", "--no-color", "--generation-database", "none",
         "--report-dir", str(workdir), *extra],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False, cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done.stdout


def cases_passed(stdout: str) -> int:
    ran = re.search(r"(\d+) generated, (\d+) passed", stdout)
    assert ran is not None, stdout[-2000:]
    assert ran[1] == ran[2], stdout[-2000:]
    return int(ran[1])


@pytest.mark.parametrize("with_key", [False, True], ids=["dev-no-key", "service-key"])
@pytest.mark.timeout(180)
def test_schemathesis_on_the_published_schema_finds_no_5xx(
    tmp_path_factory: pytest.TempPathFactory, with_key: bool
) -> None:
    schemathesis_cli()
    with (
        EmulatorServer(speed=0) as emu,
        ServiceServer.for_emulator(
            emu, tmp_path_factory.mktemp("svc"), dev=not with_key, max_body_bytes=MAX_BODY
        ) as svc,
    ):
        headers: list[str] = []
        if with_key:
            headers = ["-H", f"x-api-key: {svc.create_key_sync('fuzz', rpm=100_000)}"]
        workdir = tmp_path_factory.mktemp("schemathesis")
        out = run_schemathesis(
            f"{svc.url}/openapi.json", svc.url, workdir, "--max-examples", "30", *headers
        )
    assert cases_passed(out) > 100


@pytest.mark.timeout(180)
def test_schemathesis_with_core_body_schemas_finds_no_5xx(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    schemathesis_cli()
    with (
        EmulatorServer(speed=0) as emu,
        ServiceServer.for_emulator(
            emu, tmp_path_factory.mktemp("svc"), max_body_bytes=MAX_BODY
        ) as svc,
    ):
        key = svc.create_key_sync("fuzz-bodies", rpm=100_000)
        workdir = tmp_path_factory.mktemp("schemathesis")
        spec = with_body_schemas(httpx.get(f"{svc.url}/openapi.json").json())
        (workdir / "openapi.json").write_text(json.dumps(spec))
        with json_logs() as logs:
            out = run_schemathesis(
                str(workdir / "openapi.json"), svc.url, workdir,
                "--include-path-regex", "^/v1/messages", "--max-examples", "40",
                "-H", f"x-api-key: {key}",
            )  # fmt: skip
    assert cases_passed(out) > 300
    answers = Counter(
        (line["path"], line["status"])
        for line in logs.lines()
        if line["logger"] == "claude_arch.service.access"
    )
    # the generated bodies reached validation, and some passed it
    assert answers["/v1/messages", 400] > 100, answers
    assert answers["/v1/messages/count_tokens", 200] > 10, answers
