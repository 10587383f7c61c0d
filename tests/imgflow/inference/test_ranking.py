"""imgflow/inference/ranking.py: the top classes of each prediction."""

import numpy as np
import pytest

from imgflow.inference.ranking import Ranked, top_k

CLASSES = ("ant", "bee", "cat")


def test_top_k_lists_the_most_probable_classes_first() -> None:
    probabilities = np.array([[0.2, 0.7, 0.1], [0.5, 0.1, 0.4]], dtype=np.float32)
    ranked = top_k(["a.png", "b.png"], probabilities, CLASSES, 2)
    assert [r.path for r in ranked] == ["a.png", "b.png"]
    assert [[name for name, _ in r.top] for r in ranked] == [["bee", "ant"], ["ant", "cat"]]
    assert ranked[0].top[0][1] == pytest.approx(0.7)


def test_top_k_larger_than_the_class_count_lists_every_class() -> None:
    ranked = top_k(["a.png"], np.array([[0.2, 0.7, 0.1]]), CLASSES, 10)
    assert [name for name, _ in ranked[0].top] == ["bee", "ant", "cat"]


def test_ties_keep_label_order() -> None:
    ranked = top_k(["a.png"], np.array([[0.25, 0.5, 0.25]]), CLASSES, 3)
    assert ranked == [Ranked("a.png", (("bee", 0.5), ("ant", 0.25), ("cat", 0.25)))]


def test_k_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="k: expected at least 1, got 0"):
        top_k(["a.png"], np.array([[0.2, 0.7, 0.1]]), CLASSES, 0)


def test_probabilities_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match=r"expected shape \(1, 3\), got \(1, 2\)"):
        top_k(["a.png"], np.array([[0.3, 0.7]]), CLASSES, 1)
