"""A routing policy: tiers of catalog models, cheapest first, and the rules that pick a tier.

    >>> p = shipped_policy("default")
    >>> p.tier_names
    ('fast', 'balanced', 'deep')
    >>> p.tiers["fast"].models[0]
    'claude-haiku-5-5'
    >>> shipped_policy("seed-intents").tier_names
    ('question', 'task', 'creative', 'code')

The YAML format (``docs/orchestrator.md`` has the whole of it)::

    tiers:                         # cheapest first; each an ordered fallback chain
      fast: {models: [claude-haiku-5-5, claude-haiku-4-5]}
      balanced: {models: [claude-sonnet-5-5, claude-sonnet-4-6]}
    default: {tier: balanced, confidence: 0.3}
    classifier: {kind: rules, below_confidence: 0.6}
    rules:
      - {name: images, when: {images: true}, tier: balanced, confidence: 0.9}
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from claude_arch.core.pricing.catalog import Catalog, default_catalog
from claude_arch.core.routing.conditions import Condition
from claude_arch.core.routing.errors import PolicyError
from claude_arch.core.routing.policy_yaml import LineDict, LineList, parse_yaml

__all__ = [
    "CLASSIFIER_KINDS",
    "SHIPPED_POLICIES",
    "ClassifierSpec",
    "Policy",
    "Rule",
    "Tier",
    "load_policy",
    "parse_policy",
    "shipped_policy",
]

_log = logging.getLogger(__name__)

CLASSIFIER_KINDS = ("rules", "llm", "embedding")
SHIPPED_POLICIES = ("default", "seed-intents")
_TOP_KEYS = ("name", "description", "tiers", "default", "classifier", "rules")
_CLASSIFIER_KEYS = (
    "kind",
    "below_confidence",
    "model",
    "timeout_s",
    "max_cost_usd",
    "cache_ttl_s",
    "cache_size",
    "model_file",
    "max_under_risk",
    "excerpt_chars",
)


@dataclass(frozen=True, slots=True)
class Tier:
    """A named tier: its models in fallback order (all in the catalog) and what it is for."""

    name: str
    models: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    """When ``when`` holds, route to ``tier`` with ``confidence`` (0..1)."""

    name: str
    when: Condition
    tier: str
    confidence: float
    line: int = 0


@dataclass(frozen=True, slots=True)
class ClassifierSpec:
    """Which classifier decides when no rule is at least ``below_confidence`` sure, and its knobs
    (``model``, ``timeout_s``, ``max_cost_usd``, ``cache_ttl_s``, ``cache_size``: llm;
    ``excerpt_chars``: llm; ``model_file``, ``max_under_risk``: embedding)."""

    kind: str = "rules"
    below_confidence: float = 0.6
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy; ``tier_names`` runs from cheapest to most capable."""

    name: str
    tiers: dict[str, Tier]
    rules: tuple[Rule, ...]
    default_tier: str
    default_confidence: float
    classifier: ClassifierSpec
    source: str = "<memory>"
    description: str = ""

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(self.tiers)

    def rank(self, tier: str) -> int:
        """The tier's place, cheapest 0."""
        return self.tier_names.index(tier)


def _confidence(value: Any, path: str, line: int, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise PolicyError(path, line, f"{what}: expected a number from 0 to 1, got {value!r}")
    return float(value)


def _tiers(spec: Any, path: str, line: int, catalog: Catalog) -> dict[str, Tier]:
    if not isinstance(spec, LineDict) or not spec:
        raise PolicyError(path, line, "tiers: expected a mapping of tier name to {models: [...]}")
    tiers: dict[str, Tier] = {}
    for name, body in spec.items():
        at = spec.line_of(name)
        if not isinstance(body, LineDict) or not isinstance(body.get("models"), LineList):
            raise PolicyError(path, at, f"tiers.{name}: expected {{models: [model, ...]}}")
        extra = set(body) - {"models", "description"}
        if extra:
            raise PolicyError(path, at, f"tiers.{name}: unknown key {sorted(extra)[0]!r}")
        models = body["models"]
        if not models:
            raise PolicyError(path, models.line, f"tiers.{name}.models: empty")
        resolved: list[str] = []
        for i, model in enumerate(models):
            if not isinstance(model, str) or model not in catalog:
                near = ", ".join(catalog.suggest(str(model))) if isinstance(model, str) else ""
                hint = f" (did you mean {near}?)" if near else ""
                raise PolicyError(
                    path,
                    models.line_of(i),
                    f"tiers.{name}.models.{i}: unknown model {model!r}{hint}",
                )
            info = catalog.resolve(model)
            if info.retired():
                _log.warning(
                    "%s:%d: tiers.%s.models.%d: %s was retired on %s; the Claude API answers "
                    "404 not_found_error for it: name a model it serves",
                    path,
                    models.line_of(i),
                    name,
                    i,
                    info.id,
                    info.retires,
                )
            resolved.append(info.id)
        tiers[name] = Tier(name, tuple(resolved), str(body.get("description", "")).strip())
    return tiers


def _rules(spec: Any, path: str, line: int, tiers: dict[str, Tier]) -> tuple[Rule, ...]:
    if spec is None:
        return ()
    if not isinstance(spec, LineList):
        raise PolicyError(path, line, "rules: expected a list")
    rules: list[Rule] = []
    for i, body in enumerate(spec):
        at = spec.line_of(i)
        if not isinstance(body, LineDict):
            raise PolicyError(path, at, f"rules.{i}: expected a mapping")
        extra = set(body) - {"name", "when", "tier", "confidence"}
        if extra:
            raise PolicyError(path, at, f"rules.{i}: unknown key {sorted(extra)[0]!r}")
        name = str(body.get("name", f"rule {i}"))
        tier = body.get("tier")
        if tier not in tiers:
            raise PolicyError(
                path,
                body.line_of("tier"),
                f"rules.{i} ({name}): tier {tier!r} is not defined (tiers: {', '.join(tiers)})",
            )
        when = body.get("when")
        if not isinstance(when, LineDict) or not when:
            raise PolicyError(
                path,
                body.line_of("when"),
                f"rules.{i} ({name}): when: expected a mapping of conditions",
            )
        try:
            condition = Condition.from_mapping(dict(when))
        except ValueError as exc:
            raise PolicyError(path, body.line_of("when"), f"rules.{i} ({name}).when.{exc}") from exc
        confidence = _confidence(
            body.get("confidence", 0.9), path, body.line_of("confidence"), f"rules.{i}.confidence"
        )
        rules.append(Rule(name, condition, str(tier), confidence, at))
    return tuple(rules)


def _classifier(spec: Any, path: str, line: int) -> ClassifierSpec:
    if spec is None:
        return ClassifierSpec()
    if not isinstance(spec, LineDict):
        raise PolicyError(path, line, "classifier: expected a mapping")
    for key in spec:
        if key not in _CLASSIFIER_KEYS:
            raise PolicyError(path, spec.line_of(key), f"classifier: unknown key {key!r}")
    kind = spec.get("kind", "rules")
    if kind not in CLASSIFIER_KINDS:
        raise PolicyError(
            path,
            spec.line_of("kind"),
            f"classifier.kind: {kind!r} is not one of {', '.join(CLASSIFIER_KINDS)}",
        )
    below = _confidence(
        spec.get("below_confidence", 0.6),
        path,
        spec.line_of("below_confidence"),
        "classifier.below_confidence",
    )
    options = {k: v for k, v in spec.items() if k not in ("kind", "below_confidence")}
    return ClassifierSpec(str(kind), below, options)


def parse_policy(text: str, path: str = "<memory>", catalog: Catalog | None = None) -> Policy:
    """Validate a policy's YAML text; a problem raises :class:`PolicyError` with file and line."""
    catalog = catalog or default_catalog()
    doc = parse_yaml(text, path)
    if not isinstance(doc, LineDict):
        raise PolicyError(path, 1, "expected a mapping with 'tiers' and 'rules'")
    for key in doc:
        if key not in _TOP_KEYS:
            raise PolicyError(
                path, doc.line_of(key), f"unknown key {key!r} (one of: {', '.join(_TOP_KEYS)})"
            )
    if "tiers" not in doc:
        raise PolicyError(path, 1, "tiers: missing")
    tiers = _tiers(doc["tiers"], path, doc.line_of("tiers"), catalog)
    rules = _rules(doc.get("rules"), path, doc.line_of("rules"), tiers)
    default = doc.get("default", LineDict())
    if not isinstance(default, LineDict):
        raise PolicyError(path, doc.line_of("default"), "default: expected {tier, confidence}")
    default_tier = default.get("tier", next(iter(tiers)))
    if default_tier not in tiers:
        raise PolicyError(
            path,
            default.line_of("tier"),
            f"default.tier: {default_tier!r} is not defined (tiers: {', '.join(tiers)})",
        )
    confidence = _confidence(
        default.get("confidence", 0.0), path, default.line_of("confidence"), "default.confidence"
    )
    return Policy(
        name=str(doc.get("name", Path(path).stem)),
        tiers=tiers,
        rules=rules,
        default_tier=str(default_tier),
        default_confidence=confidence,
        classifier=_classifier(doc.get("classifier"), path, doc.line_of("classifier")),
        source=path,
        description=str(doc.get("description", "")).strip(),
    )


def load_policy(path: str | Path, catalog: Catalog | None = None) -> Policy:
    """Read and validate a policy file, or a shipped one by name (``default``, ``seed-intents``)."""
    if str(path) in SHIPPED_POLICIES:
        return shipped_policy(str(path), catalog)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), None, f"cannot read: {exc.strerror or exc}") from exc
    return parse_policy(text, str(path), catalog)


def shipped_policy(name: str = "default", catalog: Catalog | None = None) -> Policy:
    """A policy shipped in the package: ``default`` (fast/balanced/deep) or ``seed-intents``."""
    if name not in SHIPPED_POLICIES:
        raise PolicyError(name, None, f"no shipped policy {name!r} ({', '.join(SHIPPED_POLICIES)})")
    text = (
        resources.files(__package__)
        .joinpath("policies")
        .joinpath(f"{name}.yaml")
        .read_text("utf-8")
    )
    return parse_policy(text, f"{name}.yaml", catalog)
