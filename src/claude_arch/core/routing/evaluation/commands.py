"""What ``claude-arch route eval`` and ``route fit`` do, so the CLI only parses and prints."""

from __future__ import annotations

from pathlib import Path

from claude_arch.core.routing.building import build_router
from claude_arch.core.routing.evaluation.dataset import load_examples
from claude_arch.core.routing.evaluation.scoring import DEFAULT_OUTPUT_TOKENS, EvalReport, evaluate
from claude_arch.core.routing.policy import load_policy

__all__ = ["eval_file", "fit_file"]


def eval_file(
    path: str | Path,
    policy: str | Path = "default",
    classifier: str | None = None,
    *,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    model_file: str | Path | None = None,
) -> EvalReport:
    """Route every line of a labelled JSONL file and score it (``llm`` uses the client from
    the environment's settings)."""
    chosen = load_policy(policy)
    examples = load_examples(path, chosen.tier_names)
    kind = classifier or chosen.classifier.kind
    client = None
    if kind == "llm":
        from claude_arch.core.sync_client import SyncClaudeClient

        client = SyncClaudeClient()
    router = build_router(chosen, kind, client=client, model_file=model_file)

    def route(prompt: str) -> str:
        return router.decide({"messages": [{"role": "user", "content": prompt}]}).tier

    try:
        return evaluate(examples, route, chosen, classifier=kind, output_tokens=output_tokens)
    finally:
        if client is not None:
            client.close()


def fit_file(
    path: str | Path, out: str | Path, policy: str | Path = "default", max_under_risk: float = 0.4
) -> int:
    """Fit the embedding classifier on a labelled JSONL file, write it to ``out``; the count of
    examples used."""
    from claude_arch.core.routing.classifiers.embedding import fit_embedding_model

    chosen = load_policy(policy)
    examples = load_examples(path, chosen.tier_names)
    fit_embedding_model(examples, chosen, max_under_risk=max_under_risk).save(out)
    return len(examples)
