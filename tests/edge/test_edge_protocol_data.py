"""The edge core agrees with core: its generated protocol data, its key hashes, its model checks,
and what the worker uploads is the standard library only."""

from __future__ import annotations

import ast
import asyncio
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from claude_arch.cli import app
from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.core.validation.schema import validate_create_params
from claude_arch.edge import protocol_data
from claude_arch.edge.cpython.bundle import WORKER_MODULES, build_bundle, bundle_size
from claude_arch.edge.cpython.generate import PROTOCOL_DATA_PATH, render_protocol_data
from claude_arch.edge.keys import hash_secret as edge_hash
from claude_arch.edge.keys import salted_hash as edge_salted
from claude_arch.edge.keys import verify_secret as edge_verify
from claude_arch.edge.platform import MemoryCache, MemoryKeyValue
from claude_arch.edge.problems import EdgeProblem
from claude_arch.edge.validate import Policy, check_body, suggest_models
from claude_arch.errors import ClaudeArchError, UnknownModelError
from claude_arch.service.tenancy.keys import hash_secret as service_hash
from claude_arch.service.tenancy.keys import salted_hash as service_salted
from claude_arch.service.tenancy.keys import verify_secret as service_verify

UPLOAD_LIMIT_BYTES = 100 * 1024


def test_the_generated_protocol_data_matches_core() -> None:
    assert PROTOCOL_DATA_PATH.read_text("utf-8") == render_protocol_data(), (
        "claude_arch/edge/protocol_data.py is out of date: run `claude-arch edge generate`"
    )
    catalog = default_catalog()
    assert list(protocol_data.MODELS) == [m.id for m in catalog]
    for model in catalog:
        assert protocol_data.MODELS[model.id][2] == model.max_output


def test_generate_check_fails_when_the_file_drifts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["edge", "generate", "--check"]).exit_code == 0
    copy = tmp_path / "protocol_data.py"
    copy.write_text(PROTOCOL_DATA_PATH.read_text("utf-8").replace("128000", "128001", 1))
    monkeypatch.setattr("claude_arch.edge.cpython.generate.PROTOCOL_DATA_PATH", copy)
    drifted = runner.invoke(app, ["edge", "generate", "--check"])
    assert drifted.exit_code == 1
    assert "out of date" in drifted.output
    assert runner.invoke(app, ["edge", "generate"]).exit_code == 0
    assert copy.read_text("utf-8") == render_protocol_data()


@given(st.text(max_size=80), st.binary(min_size=12, max_size=12))
def test_edge_and_service_hash_secrets_alike(secret: str, salt: bytes) -> None:
    assert edge_hash(secret) == service_hash(secret)
    stored = service_salted(secret, salt)
    assert edge_salted(secret, salt) == stored
    assert edge_verify(secret, stored)
    assert service_verify(secret, stored)
    assert not edge_verify(secret + "x", stored)
    assert not service_verify(secret + "x", stored)


@given(st.text(alphabet="claude-hikusonetpfb0123456789", max_size=30))
def test_unknown_models_get_the_catalogs_suggestions(name: str) -> None:
    catalog = default_catalog()
    assert suggest_models(name) == catalog.suggest(name)
    body = {"model": name, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    if name not in catalog:
        with pytest.raises(UnknownModelError) as core:
            catalog.resolve(name)
        with pytest.raises(EdgeProblem) as refused:
            check_body(_json(body), Policy())
        assert (refused.value.status, refused.value.message) == (404, core.value.message)
    else:
        assert check_body(_json(body), Policy()).model == catalog.resolve(name).id


def _json(value: object) -> bytes:
    import json

    return json.dumps(value).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "model": st.sampled_from([*protocol_data.MODELS, "gpt-4", ""]) | json_values,
            "max_tokens": st.integers(-5, 200_000) | json_values,
            "messages": json_values
            | st.lists(
                st.fixed_dictionaries(
                    {
                        "role": st.sampled_from(["user", "assistant", "system"]),
                        "content": json_values,
                    }
                ),
                max_size=2,
            ),
            "stream": json_values,
        },
    )
)
def test_what_the_edge_refuses_core_refuses_too(
    body: dict[str, object],
) -> None:
    """The edge checks a subset of core's rules: a body it refuses, core refuses too, so the edge
    never blocks what the API would take (which fault each names first may differ)."""
    refused: EdgeProblem | None = None
    try:
        check_body(_json(body), Policy())
    except EdgeProblem as problem:
        refused = problem
    if refused is not None:
        with pytest.raises(ClaudeArchError):
            validate_create_params(body)


def test_the_upload_is_small_and_stdlib_only(tmp_path: Path) -> None:
    files = build_bundle(tmp_path)
    assert bundle_size(files) <= UPLOAD_LIMIT_BYTES
    allowed = set(sys.stdlib_module_names) | {"claude_arch", "workers", "js", "pyodide"}
    for path in files:
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                top = name.split(".")[0]
                assert top in allowed, f"{path.name} imports {name}"
                if top == "claude_arch":
                    assert name == "claude_arch.edge" or name.split(".")[2] in WORKER_MODULES, (
                        f"{path.name} imports {name}, which the worker does not upload"
                    )


def test_memory_kv_and_cache_expire_by_their_clock() -> None:
    now = [100.0]
    kv = MemoryKeyValue(clock=lambda: now[0])
    cache = MemoryCache(size=1, clock=lambda: now[0])

    async def scenario() -> tuple[object, ...]:
        from claude_arch.edge.platform import CachedAnswer

        await kv.put("k", "v", ttl_s=60)
        await cache.put("a", "", CachedAnswer({}, b"1", now[0]), ttl_s=10)
        await cache.put("b", "", CachedAnswer({}, b"2", now[0]), ttl_s=10)
        kept = (await kv.get("k"), await cache.get("a", ""), (await cache.get("b", "")) is not None)
        now[0] += 61
        return (*kept, await kv.get("k"), await cache.get("b", ""))

    assert asyncio.run(scenario()) == ("v", None, True, None, None)


def test_the_edge_package_exports_a_sorted_all() -> None:
    from claude_arch import edge

    assert edge.__all__ == sorted(edge.__all__)
    assert all(getattr(edge, name) is not None for name in edge.__all__)
