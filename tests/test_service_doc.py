"""docs/service.md matches the code: every setting with its variable and default, every metric
name a running service exports, every relative link.

The configuration table is generated from ``ServiceSettings``; after adding a field, print the
rows to paste (then write the description column):

    .venv/bin/python tests/test_service_doc.py
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from pydantic import AliasChoices

from claude_arch.constants import ENV_PREFIX
from claude_arch.service.config import ServiceSettings

DOC = Path(__file__).resolve().parents[1] / "docs" / "service.md"


def env_name(field: str) -> str:
    alias = ServiceSettings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return ENV_PREFIX + field.upper()


def default_text(field: str) -> str:
    info = ServiceSettings.model_fields[field]
    value: Any = info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, dict):
        return "`{}`"
    return f"`{value}`"


def generated_rows() -> dict[str, str]:
    """Variable → default, for every field."""
    return {env_name(f): default_text(f) for f in ServiceSettings.model_fields}


def documented_rows() -> dict[str, tuple[str, str]]:
    """Variable → (default, meaning), from the table under '## Configuration'."""
    section = DOC.read_text("utf-8").split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        match = re.match(r"\| `([A-Z_]+)` \| (.*?) \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = (match.group(2).strip(), match.group(3).strip())
    return rows


def test_the_configuration_table_lists_every_setting_with_its_default() -> None:
    documented = documented_rows()
    generated = generated_rows()
    assert set(documented) == set(generated)
    for name, default in generated.items():
        assert documented[name][0] == default, name
        assert len(documented[name][1]) > 10, f"{name}: say what it does"


def test_relative_links_point_at_files() -> None:
    text = DOC.read_text("utf-8")
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (DOC.parent / target).exists(), target


async def test_every_metric_named_is_exported_and_every_exported_one_is_named(
    tmp_path: Path,
) -> None:
    from claude_arch.service.testing import ServiceServer

    # keys required (a key with a budget brings its spend and budget gauges), on loopback
    settings = ServiceSettings(  # type: ignore[call-arg]
        _env_file=None, port=0, data_dir=tmp_path, emulator_speed=0
    )
    async with ServiceServer(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        await server.create_key("budgeted", budget_usd=5)
        exposition = (await http.get("/metrics")).text
    families = dict(re.findall(r"^# TYPE (claude_arch_\w+) (\w+)$", exposition, flags=re.M))
    assert families, exposition[:500]
    exported = set(families)  # counters already carry their _total here
    named = set(re.findall(r"\bclaude_arch_[a-z_]+\b", DOC.read_text("utf-8")))
    assert named == exported


if __name__ == "__main__":
    for name, default in generated_rows().items():
        print(f"| `{name}` | {default} | |")
