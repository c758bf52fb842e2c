"""Choosing the embedding router's operating point by cross-validation on training prompts
(``route fit --max-under-routing``), and the shipped policy and model agreeing on it."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from claude_arch.cli import app
from claude_arch.core.routing import shipped_policy
from claude_arch.core.routing.building import build_classifier
from claude_arch.core.routing.classifiers.embedding import (
    EmbeddingClassifier,
    EmbeddingModel,
    KnnSettings,
)
from claude_arch.core.routing.evaluation.dataset import Example
from claude_arch.core.routing.evaluation.operating_point import (
    choose_operating_point,
    routed_tiers,
)
from claude_arch.core.routing.features import Features

DATA = Path(__file__).parents[3] / "bench" / "data" / "routing"


class WordHashEmbedder:
    """Bag of hashed words, unit length."""

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 32), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, zlib.crc32(word.encode()) % 32] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


# no rule of the default policy is sure of these: the classifier decides each
EXAMPLES = (
    [Example(f"tell me a fun fact about otters {i}", "fast") for i in range(12)]
    + [Example(f"draft a careful essay on housing policy {i}", "balanced") for i in range(8)]
    + [Example(f"derive and justify every step of the argument {i}", "deep") for i in range(6)]
    # words of both: the classifier is unsure of these
    + [Example(f"tell me a careful essay about otters {i}", "balanced") for i in range(5)]
)


def test_the_choice_is_the_most_saving_within_the_bound() -> None:
    selection = choose_operating_point(
        EXAMPLES, shipped_policy(), WordHashEmbedder(), max_under_routing=0.1, repeats=3
    )
    chosen = selection.chosen
    assert chosen.under_routing <= 0.1
    within = [g for g in selection.grid if g.under_routing <= 0.1]
    assert chosen.saving == max(g.saving for g in within)
    assert {g.below_confidence for g in selection.grid} == {
        0.3,
        0.6,
        0.65,
        0.7,
        0.75,
        0.8,
        0.85,
        0.9,
        1.0,
    }  # the default policy's rule confidences, its default's and 1
    assert selection.to_dict()["max_under_risk"] == chosen.max_under_risk
    assert chosen in selection.frontier()
    # a tighter bound never saves more
    tight = choose_operating_point(
        EXAMPLES, shipped_policy(), WordHashEmbedder(), max_under_routing=0.0, repeats=3
    )
    assert tight.chosen.under_routing == 0.0
    assert tight.chosen.saving <= chosen.saving


def test_the_choice_is_repeatable_and_its_seed_matters_only_to_the_folds() -> None:
    args = (EXAMPLES, shipped_policy(), WordHashEmbedder())
    first = choose_operating_point(*args, repeats=2, seed=7)
    assert choose_operating_point(*args, repeats=2, seed=7) == first


def test_heads_are_chosen_with_the_point_and_the_logistic_model_alone_is_unchanged() -> None:
    args = (EXAMPLES, shipped_policy(), WordHashEmbedder())
    alone = choose_operating_point(*args, max_under_routing=0.1, repeats=3)
    heads = (None, KnnSettings(0.3, 5, 0.02), KnnSettings(1.0, 3, 0.05))
    both = choose_operating_point(*args, max_under_routing=0.1, repeats=3, heads=heads)
    assert [g for g in both.grid if g.head is None] == list(alone.grid)
    assert {g.head for g in both.grid} == set(heads)
    within = [g for g in both.grid if g.under_routing <= 0.1]
    assert both.chosen.saving == max(g.saving for g in within)
    assert all(point.head == both.chosen.head for point in both.frontier())
    head = both.chosen.head
    assert both.to_dict()["knn"] == (None if head is None else head.to_dict())
    # the kNN head alone (weight 1) routes these differently from the logistic model
    assert [g.saving for g in both.grid if g.head == heads[2]] != [g.saving for g in alone.grid]


def test_too_few_examples_of_a_tier_for_the_folds_is_refused() -> None:
    few = [*EXAMPLES[:12], Example("prove it", "deep"), Example("write it", "balanced")]
    with pytest.raises(ValueError, match="5 folds need at least 5 examples of every tier"):
        choose_operating_point(few, shipped_policy(), WordHashEmbedder())


def test_no_point_within_the_bound_is_refused() -> None:
    # every prompt alike: the classifier cannot tell them apart, so no risk keeps every
    # balanced and deep prompt off the fast tier without the rules, which are never sure here
    same = [Example("same words", t) for t in ["fast"] * 5 + ["balanced"] * 5 + ["deep"] * 5]
    with pytest.raises(ValueError, match="no operating point"):
        choose_operating_point(
            same,
            shipped_policy(),
            WordHashEmbedder(),
            max_under_routing=0.0,
            below_confidences=[1.0],
            risks=[0.99],
            repeats=1,
        )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.001, 1), st.floats(0.001, 1), st.floats(0.001, 1)),
        min_size=1,
        max_size=20,
    ),
    st.floats(0, 1),
)
def test_routed_tiers_is_what_the_classifier_decides(
    rows: list[tuple[float, float, float]], risk: float
) -> None:
    p = np.array(rows)
    p /= p.sum(axis=1, keepdims=True)
    model = EmbeddingModel(["fast", "balanced", "deep"], [[0.0] * 3], risk)
    classifier = EmbeddingClassifier(model, WordHashEmbedder())
    for row, tier in zip(p, routed_tiers(p, risk), strict=True):
        probabilities = dict(zip(model.tiers, row, strict=True))
        classifier.probabilities = lambda _text, pr=probabilities: pr  # type: ignore[method-assign]
        assert classifier.classify(Features.of_prompt("x")).tier == model.tiers[tier]


def test_route_fit_chooses_and_records_the_point(tmp_path: Path) -> None:
    """Through the CLI, with the real MiniLM model (``make test`` installs it)."""
    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(json.dumps({"prompt": e.prompt, "tier": e.tier}) + "\n" for e in EXAMPLES)
    )
    out = tmp_path / "model.json"
    args = ["route", "fit", str(train), "--out", str(out), "--max-under-routing", "0.1"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    model = EmbeddingModel.load(out)
    assert model.selection is not None
    assert model.selection["max_under_routing"] == 0.1
    assert model.selection["examples"] == len(EXAMPLES)
    assert model.max_under_risk == model.selection["max_under_risk"]
    assert f"max_under_risk {model.max_under_risk:g}" in result.output
    head = model.knn  # the head chosen with the point, or none: the logistic model alone
    assert model.selection["knn"] == (None if head is None else head.settings.to_dict())
    named = "the logistic model alone" if head is None else f"k {head.settings.k},"
    assert named in result.output


def test_route_fit_names_the_file_when_it_cannot_choose(tmp_path: Path) -> None:
    train = tmp_path / "few.jsonl"
    train.write_text('{"prompt": "hi", "tier": "fast"}\n{"prompt": "prove", "tier": "deep"}\n')
    out = tmp_path / "model.json"
    args = ["route", "fit", str(train), "--out", str(out), "--max-under-routing", "0.04"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "few.jsonl: 5 folds need at least 5 examples of every tier" in result.output
    assert not out.exists()


def test_the_shipped_policy_uses_the_point_the_shipped_model_was_chosen_with() -> None:
    policy = shipped_policy()
    classifier = build_classifier(policy, "embedding")
    assert isinstance(classifier, EmbeddingClassifier)
    selection = classifier.model.selection
    assert selection is not None
    assert selection["max_under_routing"] <= 0.05  # a margin below the target's 5%
    assert policy.classifier.below_confidence == selection["below_confidence"]
    assert policy.classifier.options["max_under_risk"] == selection["max_under_risk"]
    assert classifier.model.max_under_risk == selection["max_under_risk"]
    head = classifier.model.knn
    assert selection["knn"] == (None if head is None else head.settings.to_dict())
    train = (DATA / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert selection["examples"] == len(train)
