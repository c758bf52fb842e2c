"""Policies load, and a broken one fails at load naming its file, line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.core.routing import PolicyError, PolicyWatcher, load_policy, shipped_policy
from claude_arch.core.routing.policy import SHIPPED_POLICIES, parse_policy

GOOD = """\
tiers:
  fast: {models: [claude-haiku-5-5]}
  deep: {models: [claude-opus-5-5]}
rules:
  - name: proof
    when: {keywords: [prove]}
    tier: deep
"""


def test_shipped_policies_load() -> None:
    assert shipped_policy().tier_names == ("fast", "balanced", "deep")
    seed = shipped_policy("seed-intents")
    assert seed.tier_names == ("question", "task", "creative", "code")
    assert seed.tiers["question"].models == ("claude-haiku-4-5",)
    assert {seed.tiers[t].models for t in ("task", "creative", "code")} == {("claude-sonnet-4-6",)}
    assert seed.default_tier == "task"
    assert seed.classifier.kind == "llm"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (GOOD.replace("tier: deep", "tier: huge"), 7, "tier 'huge' is not defined"),
        (GOOD.replace("claude-opus-5-5", "claude-opus-9"), 3, "unknown model 'claude-opus-9'"),
        (GOOD.replace("keywords: [prove]", "colour: red"), 6, "unknown condition 'colour'"),
        (GOOD.replace("keywords: [prove]", "regex: '('"), 6, "regex:"),
        (GOOD + "  - {when: {min_tokens: -1}, tier: fast}\n", 8, "min_tokens"),
        (GOOD + "bogus: 1\n", 8, "unknown key 'bogus'"),
        ("tiers: [\n", 2, "not valid YAML"),
        (GOOD.replace("    tier: deep", "    tier: deep\n    confidence: 3"), 8, "confidence"),
    ],
)
def test_broken_policy_names_file_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    assert caught.value.path == "p.yaml"
    assert caught.value.line == line, str(caught.value)
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"p.yaml:{line}: ")


def test_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.yaml")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_loads_or_fails_as_a_policy_error(text: str) -> None:
    failure: PolicyError | None = None
    try:
        parse_policy(text, "fuzz.yaml")
    except PolicyError as exc:
        failure = exc
    assert failure is None or failure.path == "fuzz.yaml"


def test_watcher_keeps_the_last_good_policy(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(GOOD)
    watcher = PolicyWatcher(path)
    assert watcher.current().tier_names == ("fast", "deep")
    path.write_text(GOOD.replace("tier: deep", "tier: huge") + "\n")
    assert watcher.current().tier_names == ("fast", "deep")
    assert watcher.last_error is not None
    assert watcher.last_error.line == 7
    path.write_text(GOOD.replace("deep", "slow") + "\n\n")
    assert watcher.current().tier_names == ("fast", "slow")
    assert watcher.last_error is None


def test_a_retired_model_loads_with_a_warning_naming_file_and_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = (
        "name: old\n"
        "tiers:\n"
        "  fast: {models: [claude-haiku-4-5]}\n"
        "  slow:\n"
        "    models:\n"
        "      - claude-sonnet-4-6\n"
        "      - claude-sonnet-4-5\n"
        "default: {tier: fast}\n"
    )
    with caplog.at_level("WARNING", logger="claude_arch.core.routing.policy"):
        policy = parse_policy(text, "old.yaml")
    assert policy.tiers["slow"].models == ("claude-sonnet-4-6", "claude-sonnet-4-5")
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1, warned
    assert warned[0].startswith("old.yaml:7: tiers.slow.models.1: claude-sonnet-4-5 was retired")
    assert "404" in warned[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="claude_arch.core.routing.policy"):
        for name in SHIPPED_POLICIES:  # no shipped policy names a model the API no longer serves
            shipped_policy(name)
    assert not caplog.records, [r.getMessage() for r in caplog.records]
