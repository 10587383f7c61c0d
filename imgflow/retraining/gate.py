"""The promotion gate: a challenger's test scores against the champion's, rule by rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from imgflow.common.errors import StageError
from imgflow.params.gate import GateParams

CLASS_METRICS = ("recall", "f1")  # the per-class figures `max_class_drop` guards


@dataclass(frozen=True)
class Scores:
    """What the gate compares: overall test accuracy and each class's recall and F1."""

    accuracy: float
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def from_metrics(
        cls,
        metrics: Mapping[str, Any],
        source: str,
        per_class: Mapping[str, Any] | None = None,
    ) -> Scores:
        """From evaluate's metrics.json and per_class.json (by class name: recall, F1, ...);
        `source` names the files in an error. Without `per_class`, the figures are read from
        metrics.json's `per_class` key, where evaluate kept them before per_class.json (a
        champion promoted then still has them there)."""
        try:
            accuracy = float(metrics["accuracy"])
            classes = metrics.get("per_class", {}) if per_class is None else per_class
            per_class_scores = {
                str(name): {key: float(figures[key]) for key in CLASS_METRICS}
                for name, figures in classes.items()
            }
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StageError(f"{source}: not evaluate's metrics ({exc!r} missing or bad)") from None
        return cls(accuracy, per_class_scores)


@dataclass(frozen=True)
class Rule:
    name: str
    passed: bool
    value: float | None  # the challenger's figure the rule judged
    threshold: float | None  # what it had to reach (or not fall below)
    detail: str


@dataclass(frozen=True)
class Decision:
    promote: bool
    rules: list[Rule]
    has_champion: bool

    @property
    def summary(self) -> str:
        failed = [r.name for r in self.rules if not r.passed]
        if self.promote:
            first = "" if self.has_champion else " (no champion yet)"
            return f"promote: every rule passed{first}"
        return f"keep the champion: {', '.join(failed)} failed"

    def to_json(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "summary": self.summary,
            "has_champion": self.has_champion,
            "rules": [asdict(rule) for rule in self.rules],
        }


@dataclass(frozen=True)
class ClassMove:
    name: str
    recall: float  # challenger minus champion
    f1: float

    @property
    def worst(self) -> float:
        return min(self.recall, self.f1)


def class_moves(challenger: Scores, champion: Scores) -> list[ClassMove]:
    """Each class both know, by how far its recall and F1 moved, largest move first."""
    moves = [
        ClassMove(
            name,
            challenger.per_class[name]["recall"] - champion.per_class[name]["recall"],
            challenger.per_class[name]["f1"] - champion.per_class[name]["f1"],
        )
        for name in champion.per_class
        if name in challenger.per_class
    ]
    return sorted(moves, key=lambda m: (-max(abs(m.recall), abs(m.f1)), m.name))


def decide(challenger: Scores, champion: Scores | None, params: GateParams) -> Decision:
    """Every rule's outcome; without a champion only the value thresholds apply."""
    rules = [
        Rule(
            "min_accuracy",
            challenger.accuracy >= params.min_accuracy,
            challenger.accuracy,
            params.min_accuracy,
            f"test accuracy {challenger.accuracy:.4f}, at least {params.min_accuracy:.4f} needed",
        )
    ]
    if champion is not None:
        gain = challenger.accuracy - champion.accuracy
        rules.append(
            Rule(
                "min_gain",
                gain >= params.min_gain,
                gain,
                params.min_gain,
                f"accuracy {challenger.accuracy:.4f} against the champion's "
                f"{champion.accuracy:.4f}: {gain:+.4f}, at least {params.min_gain:+.4f} needed",
            )
        )
        rules.append(class_drop_rule(challenger, champion, params.max_class_drop))
    return Decision(all(rule.passed for rule in rules), rules, champion is not None)


def class_drop_rule(challenger: Scores, champion: Scores, limit: float) -> Rule:
    missing = sorted(set(champion.per_class) - set(challenger.per_class))
    if missing:
        return Rule(
            "max_class_drop",
            False,
            None,
            -limit,
            f"the challenger has no figures for the champion's classes {', '.join(missing)}",
        )
    moves = class_moves(challenger, champion)
    if not moves:
        return Rule("max_class_drop", True, None, -limit, "no per-class figures to compare")
    worst = min(moves, key=lambda m: (m.worst, m.name))
    which = "recall" if worst.recall <= worst.f1 else "F1"
    return Rule(
        "max_class_drop",
        worst.worst >= -limit,
        worst.worst,
        -limit,
        f"largest drop: class {worst.name!r} {which} {worst.worst:+.4f}, "
        f"at most {limit:.4f} allowed",
    )
