"""imgflow/retraining/gate.py: each rule's outcome on hand-made scores."""

from __future__ import annotations

import pytest

from imgflow.common.errors import StageError
from imgflow.params.gate import GateParams
from imgflow.retraining.gate import Scores, class_moves, decide

RULES = GateParams(min_accuracy=0.5, min_gain=0.01, max_class_drop=0.05)


def scores(accuracy: float, **classes: tuple[float, float]) -> Scores:
    return Scores(accuracy, {name: {"recall": r, "f1": f} for name, (r, f) in classes.items()})


def outcomes(decision) -> dict[str, bool]:
    return {rule.name: rule.passed for rule in decision.rules}


def test_without_a_champion_only_the_accuracy_floor_decides() -> None:
    decision = decide(scores(0.6), None, RULES)
    assert decision.promote and outcomes(decision) == {"min_accuracy": True}
    assert "no champion yet" in decision.summary
    assert not decide(scores(0.4), None, RULES).promote


def test_a_better_challenger_passes_every_rule() -> None:
    champion = scores(0.80, cat=(0.8, 0.8), dog=(0.8, 0.8))
    decision = decide(scores(0.85, cat=(0.84, 0.83), dog=(0.86, 0.87)), champion, RULES)
    assert decision.promote
    assert outcomes(decision) == {"min_accuracy": True, "min_gain": True, "max_class_drop": True}


def test_a_gain_below_the_minimum_keeps_the_champion() -> None:
    decision = decide(scores(0.805), scores(0.80), RULES)
    assert not decision.promote
    assert outcomes(decision)["min_gain"] is False
    assert decision.summary == "keep the champion: min_gain failed"


def test_one_class_falling_beyond_the_limit_keeps_the_champion() -> None:
    champion = scores(0.80, cat=(0.9, 0.9), dog=(0.7, 0.7))
    challenger = scores(0.90, cat=(0.8, 0.88), dog=(0.95, 0.95))  # cat's recall falls 0.10
    decision = decide(challenger, champion, RULES)
    rule = next(r for r in decision.rules if r.name == "max_class_drop")
    assert not decision.promote and not rule.passed
    assert rule.value == pytest.approx(-0.1)
    assert "'cat' recall -0.1000" in rule.detail


def test_a_class_the_challenger_lost_keeps_the_champion() -> None:
    decision = decide(scores(0.9, cat=(1, 1)), scores(0.8, cat=(1, 1), owl=(1, 1)), RULES)
    rule = next(r for r in decision.rules if r.name == "max_class_drop")
    assert not rule.passed and "owl" in rule.detail


def test_class_moves_list_the_largest_first() -> None:
    moves = class_moves(
        scores(0.9, a=(0.5, 0.5), b=(0.9, 0.7), c=(0.7, 0.7)),
        scores(0.8, a=(0.5, 0.5), b=(0.6, 0.7), c=(0.8, 0.8)),
    )
    assert [m.name for m in moves] == ["b", "c", "a"]


def test_decision_json_carries_every_rule() -> None:
    data = decide(scores(0.9), scores(0.8), RULES).to_json()
    assert data["promote"] is True
    assert [r["name"] for r in data["rules"]] == ["min_accuracy", "min_gain", "max_class_drop"]


def test_scores_read_the_per_class_figures_from_per_class_json() -> None:
    metrics = {"accuracy": 0.9, "f1_macro": 0.8}
    per_class = {"cat": {"precision": 1.0, "recall": 0.8, "f1": 0.7, "support": 3}}
    assert Scores.from_metrics(metrics, "m.json", per_class) == scores(0.9, cat=(0.8, 0.7))


def test_scores_of_an_older_run_read_per_class_from_metrics_json() -> None:
    metrics = {"accuracy": 0.9, "per_class": {"cat": {"recall": 0.8, "f1": 0.7, "support": 3}}}
    assert Scores.from_metrics(metrics, "m.json") == scores(0.9, cat=(0.8, 0.7))


def test_scores_name_a_bad_file() -> None:
    with pytest.raises(StageError, match="m.json: not evaluate's metrics"):
        Scores.from_metrics({"loss": 1.0}, "m.json")


def test_scores_name_a_per_class_file_missing_a_figure() -> None:
    with pytest.raises(StageError, match="per_class.json: not evaluate's metrics.*'f1'"):
        Scores.from_metrics({"accuracy": 0.9}, "per_class.json", {"cat": {"recall": 0.8}})
