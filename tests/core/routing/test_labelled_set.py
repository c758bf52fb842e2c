"""The labelled routing set: rebuilt byte for byte by its builder, the test split untouched by
the training-only prompts, and no prompt on both sides of the split."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

DATA = Path(__file__).parents[3] / "bench" / "data" / "routing"


def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_dataset", DATA / "build_dataset.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prompts(path: Path) -> list[str]:
    return [json.loads(line)["prompt"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_builder_writes_the_shipped_files(tmp_path: Path) -> None:
    builder().main(tmp_path)
    for name in ("train.jsonl", "test.jsonl"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_training_only_prompts_are_only_in_train_and_after_the_split() -> None:
    extra = [p for p, _ in builder().extra_train()]
    train, test = prompts(DATA / "train.jsonl"), prompts(DATA / "test.jsonl")
    assert len(test) == 95
    assert train[-len(extra) :] == extra
    assert not set(train) & set(test)
    assert len(set(train)) == len(train)
