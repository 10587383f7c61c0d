"""imgflow/data/splitting.py: stratified, seeded split assignment, class maps, balancing, the
class hierarchy and class quotas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imgflow.common.errors import StageError
from imgflow.data.layout import SPLITS
from imgflow.data.splitting import class_quotas, make_splits, map_hierarchy
from imgflow.params.split import SplitParams
from tests.imgflow.data.helpers import CLASSES, imbalanced_index, synthetic_index

# --- make_splits ---------------------------------------------------------------------------


def test_every_row_is_in_exactly_one_split():
    index = synthetic_index()
    table, _, _ = make_splits(index, SplitParams())
    assert len(table) == len(index)
    assert table["row"].tolist() == index["row"].tolist()
    assert set(table["split"]) == set(SPLITS)
    assert table["split"].notna().all()


def test_each_split_contains_every_class():
    table, _, _ = make_splits(synthetic_index(), SplitParams())
    for name in SPLITS:
        assert sorted(table.loc[table["split"] == name, "label"].unique()) == CLASSES, name


def test_split_sizes_follow_fractions():
    params = SplitParams(val_fraction=0.15, test_fraction=0.2)
    table, _, _ = make_splits(synthetic_index(), params)
    sizes = table["split"].value_counts()
    n = len(table)
    assert abs(sizes["test"] - params.test_fraction * n) <= len(CLASSES)
    assert abs(sizes["val"] - params.val_fraction * n) <= len(CLASSES)
    assert sizes["train"] + sizes["val"] + sizes["test"] == n


def test_test_split_is_stratified():
    table, _, _ = make_splits(synthetic_index(), SplitParams(test_fraction=0.2))
    per_class = table[table["split"] == "test"]["label"].value_counts()
    assert set(per_class) == {8}  # 20% of 40 per class


def test_dataset_own_test_rows_stay_test_and_nothing_else_becomes_test():
    index = synthetic_index()
    own_test = index["row"] % 5 == 0
    index.loc[own_test, "split"] = "test"
    table, _, _ = make_splits(index, SplitParams())
    assert (table.loc[own_test, "split"] == "test").all()
    assert (table.loc[~own_test, "split"] != "test").all()
    assert set(table.loc[~own_test, "split"]) == {"train", "val"}


def test_dataset_own_val_rows_stay_val():
    index = synthetic_index()
    own_val = index["row"] % 10 == 3
    index.loc[own_val, "split"] = "val"
    index.loc[~own_val, "split"] = "train"
    table, _, _ = make_splits(index, SplitParams())
    assert (table.loc[own_val, "split"] == "val").all()
    assert (table.loc[~own_val, "split"] != "val").all()
    assert "test" in set(table["split"])


def test_same_seed_same_splits_other_seed_differs():
    index = synthetic_index()
    a, _, _ = make_splits(index, SplitParams(seed=1))
    b, _, _ = make_splits(index, SplitParams(seed=1))
    c, _, _ = make_splits(index, SplitParams(seed=2))
    pd.testing.assert_frame_equal(a, b)
    assert a["split"].tolist() != c["split"].tolist()


def test_class_with_one_image_names_that_class():
    index = synthetic_index(per_class=5, classes=["cat", "dog"])
    lonely = pd.DataFrame(
        {"row": [len(index)], "path": ["emu/0.png"], "label": ["emu"], "split": [None]}
    )
    index = pd.concat([index, lonely], ignore_index=True)
    with pytest.raises(StageError, match="class 'emu' has 1 image"):
        make_splits(index, SplitParams())


def test_too_few_images_for_fraction_raises():
    # 15 images in 5 classes: a 0.6 test share leaves 6, and val then needs 5 of them.
    index = synthetic_index(per_class=3, classes=["a", "b", "c", "d", "e"])
    with pytest.raises(StageError, match="6 images in 5 classes are too few"):
        make_splits(index, SplitParams(val_fraction=0.1, test_fraction=0.6))


def test_class_too_small_for_train_val_and_test_says_how_many_it_needs():
    index = synthetic_index(per_class=2, classes=["a", "b"])
    with pytest.raises(StageError, match="class 'a' has 2 image.*needs at least 3"):
        make_splits(index, SplitParams())


def test_label_index_follows_sorted_class_names():
    index = synthetic_index(per_class=6, classes=["zebra", "ant", "moth"])
    table, classes, _ = make_splits(index, SplitParams())
    assert classes == ["ant", "moth", "zebra"]
    expected = table["label"].map({"ant": 0, "moth": 1, "zebra": 2})
    assert table["label_index"].tolist() == expected.tolist()
    assert table["label_index"].dtype == np.int64


# --- class_map, grayscale, duplicates, balance ---------------------------------------------


def test_class_map_merges_classes() -> None:
    table, classes, _ = make_splits(
        synthetic_index(), SplitParams(class_map={"c0": "insect", "c1": "insect"})
    )
    assert "insect" in classes and "c0" not in classes
    merged = table[table["label"] == "insect"]
    assert set(merged["source_label"]) == {"c0", "c1"}


def test_class_map_null_drops_a_class_and_reports_it() -> None:
    index = synthetic_index()
    dropped = CLASSES[0]
    table, classes, report = make_splits(index, SplitParams(class_map={dropped: None}))
    assert dropped not in classes and dropped not in set(table["source_label"])
    assert report["dropped"]["class_map"] == (index["label"] == dropped).sum()


def test_class_map_unknown_class_is_named() -> None:
    with pytest.raises(StageError, match="split.class_map: class 'unicorn'"):
        make_splits(synthetic_index(), SplitParams(class_map={"unicorn": "horse"}))


def test_drop_grayscale_removes_gray_images() -> None:
    index = synthetic_index()
    index["is_grayscale"] = index["row"] % 4 == 0
    table, _, report = make_splits(index, SplitParams(drop_grayscale=True))
    assert not set(table["row"]) & set(index.loc[index["is_grayscale"], "row"])
    assert report["dropped"]["grayscale"] == index["is_grayscale"].sum()


def test_identical_images_never_straddle_splits() -> None:
    index = synthetic_index()
    # every image appears twice: rows 2k and 2k+1 of the same class share a hash
    index["sha256"] = [
        f"h{r // (2 * len(CLASSES))}-{label}"
        for r, label in zip(index["row"], index["label"], strict=True)
    ]
    table, _, _ = make_splits(index, SplitParams())
    assert (table.groupby(index["sha256"])["split"].nunique() == 1).all()


def train_counts(table: pd.DataFrame) -> dict[str, int]:
    train = table[table["split"] == "train"]
    return train.groupby("label")["copies"].sum().to_dict()


def test_undersample_cuts_training_classes_to_the_smallest() -> None:
    table, _, report = make_splits(imbalanced_index(), SplitParams(balance="undersample"))
    counts = train_counts(table)
    assert len(set(counts.values())) == 1
    assert report["train_after_balance"] == counts
    assert (table.loc[table["split"] != "train", "copies"] == 1).all()  # val/test untouched


def test_oversample_tops_training_classes_up_to_the_largest() -> None:
    table, _, _ = make_splits(imbalanced_index(), SplitParams(balance="oversample"))
    counts = train_counts(table)
    assert len(set(counts.values())) == 1
    assert (
        counts["ant"] == (table[(table["split"] == "train") & (table["label"] == "ant")]).shape[0]
    )


def test_max_per_class_caps_training_classes() -> None:
    table, _, _ = make_splits(imbalanced_index(), SplitParams(max_per_class=5))
    assert set(train_counts(table).values()) == {5}


# --- class hierarchy -----------------------------------------------------------------------


def test_hierarchy_follows_the_class_map():
    hierarchy = {"bear": "carnivores", "lion": "carnivores", "apple": "fruit"}
    class_map = {"lion": "big_cat", "apple": None}
    mapped, why_not = map_hierarchy(hierarchy, class_map, ["bear", "big_cat"])
    assert mapped == {"bear": "carnivores", "big_cat": "carnivores"} and why_not == ""


def test_merging_classes_of_two_groups_drops_the_hierarchy_and_says_why():
    hierarchy = {"bear": "carnivores", "apple": "fruit"}
    mapped, why_not = map_hierarchy(hierarchy, {"apple": "bear"}, ["bear"])
    assert mapped == {}
    assert "class 'bear' without one coarse group" in why_not


# --- class_quotas ----------------------------------------------------------------------------


def test_quotas_are_proportional_and_add_up_exactly():
    quotas = class_quotas(np.array([500, 300, 200]), 100)
    assert quotas.tolist() == [50, 30, 20]
    # 7 of 3 equal classes: the remainder goes to the earliest classes.
    assert class_quotas(np.array([10, 10, 10]), 7).tolist() == [3, 2, 2]


def test_every_class_gives_one_and_keeps_one():
    quotas = class_quotas(np.array([1000, 2, 3]), 300)
    assert quotas.sum() == 300
    assert quotas[1] == 1 and 1 <= quotas[2] <= 2
