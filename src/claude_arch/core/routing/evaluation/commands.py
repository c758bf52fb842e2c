"""What ``claude-arch route eval`` and ``route fit`` do, so the CLI only parses and prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from claude_arch.core.routing.building import build_router
from claude_arch.core.routing.errors import DatasetError
from claude_arch.core.routing.evaluation.dataset import load_examples
from claude_arch.core.routing.evaluation.scoring import DEFAULT_OUTPUT_TOKENS, EvalReport, evaluate
from claude_arch.core.routing.policy import load_policy

if TYPE_CHECKING:
    from claude_arch.core.routing.evaluation.operating_point import Selection

__all__ = ["Fitted", "eval_file", "fit_file"]


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


@dataclass(frozen=True, slots=True)
class Fitted:
    """What ``route fit`` did: how many examples it fitted on, the ``max_under_risk`` written,
    and, when it was chosen by cross-validation, how (``selection``: with the kNN head chosen,
    ``selection.chosen.head``)."""

    examples: int
    max_under_risk: float
    selection: Selection | None = None


def fit_file(
    path: str | Path,
    out: str | Path,
    policy: str | Path = "default",
    max_under_risk: float = 0.4,
    *,
    max_under_routing: float | None = None,
) -> Fitted:
    """Fit the embedding classifier on a labelled JSONL file and write it to ``out``. With
    ``max_under_routing``, ``max_under_risk`` (and the ``below_confidence`` to use it with) is
    chosen first by cross-validation on the same file
    (:func:`~claude_arch.core.routing.evaluation.operating_point.choose_operating_point`), with
    the classifier's head (the logistic model alone or blended with one of ``KNN_GRID``'s
    k-nearest-neighbours heads), and recorded in the model; without it, the logistic model
    alone is fitted."""
    from claude_arch.core.routing.classifiers.embedding import KNN_GRID, fit_embedding_model
    from claude_arch.core.routing.classifiers.minilm import DEFAULT_MAX_TOKENS, MiniLMEmbedder

    chosen = load_policy(policy)
    examples = load_examples(path, chosen.tier_names)
    embedder = MiniLMEmbedder(max_tokens=DEFAULT_MAX_TOKENS)
    selection = None
    if max_under_routing is not None:
        from claude_arch.core.routing.evaluation.operating_point import choose_operating_point

        try:
            selection = choose_operating_point(
                examples, chosen, embedder, max_under_routing=max_under_routing, heads=KNN_GRID
            )
        except ValueError as exc:
            raise DatasetError(str(path), None, str(exc)) from exc
        max_under_risk = selection.chosen.max_under_risk
    head = selection.chosen.head if selection is not None else None
    model = fit_embedding_model(examples, chosen, embedder, max_under_risk=max_under_risk, knn=head)
    if selection is not None:
        model.selection = selection.to_dict()
    model.save(out)
    return Fitted(len(examples), max_under_risk, selection)
