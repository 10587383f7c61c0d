"""stages/split.py: stratified, seeded split assignment and the per-split arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages.artifacts import read_json, write_json
from stages.errors import StageError
from stages.params import SplitParams
from stages.split import SPLITS, class_quotas, main, make_splits, map_hierarchy

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"
CLASSES = [f"c{k}" for k in range(10)]


def synthetic_index(per_class: int = 40, classes: list[str] = CLASSES, split=None) -> pd.DataFrame:
    """resize's index table: row, path, label, split (rows interleaved across classes)."""
    labels = [classes[i % len(classes)] for i in range(per_class * len(classes))]
    return pd.DataFrame(
        {
            "row": np.arange(len(labels)),
            "path": [f"{label}/{i:04d}.png" for i, label in enumerate(labels)],
            "label": labels,
            "split": [split] * len(labels),
        }
    )


def write_inputs(folder: Path, index: pd.DataFrame) -> tuple[Path, Path]:
    """images.npy whose pixels encode each row number, and index.parquet."""
    n = len(index)
    images = np.zeros((n, 2, 3, 1), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(n) // 256
    images[:, 0, 1, 0] = np.arange(n) % 256
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "images.npy", images)
    index.to_parquet(folder / "index.parquet", index=False)
    return folder / "images.npy", folder / "index.parquet"


def run_main(tmp_path: Path, index: pd.DataFrame, out_name: str = "processed", *extra: str) -> Path:
    images, index_path = write_inputs(tmp_path / "interim", index)
    out_dir = tmp_path / out_name
    report = tmp_path / f"{out_name}_split.json"
    main(
        [str(images), str(index_path), str(out_dir), str(report), "--params", str(PARAMS_YAML)]
        + list(extra)
    )
    return out_dir


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


# --- main ----------------------------------------------------------------------------------


def test_main_writes_every_output(tmp_path):
    out = run_main(tmp_path, synthetic_index())
    expected = {"splits.parquet", "classes.json"}
    expected |= {f"{name}_{kind}.npy" for name in SPLITS for kind in ("images", "labels")}
    assert {p.name for p in out.iterdir()} == expected
    assert read_json(out / "classes.json") == CLASSES
    report = read_json(tmp_path / "processed_split.json")
    assert sum(report["images"]["test"].values()) == len(np.load(out / "test_labels.npy"))


def test_main_refuses_index_rows_beyond_the_image_array(tmp_path):
    index = synthetic_index()
    images, index_path = write_inputs(tmp_path / "interim", index)
    np.save(images, np.load(images)[:-1])  # one image fewer than the index lists
    with pytest.raises(StageError, match=r"index.parquet: rows beyond the \d+ images of .*images"):
        main(
            [str(images), str(index_path), str(tmp_path / "out"), str(tmp_path / "split.json")]
            + ["--params", str(PARAMS_YAML)]
        )
    assert not (tmp_path / "out").exists()


def test_main_is_byte_identical_across_runs(tmp_path):
    index = synthetic_index()
    first = run_main(tmp_path, index, "first")
    second = run_main(tmp_path, index, "second")
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    report = (tmp_path / "first_split.json").read_bytes()
    assert report == (tmp_path / "second_split.json").read_bytes()


def test_per_split_arrays_line_up_with_splits_table(tmp_path):
    index = synthetic_index()
    out = run_main(tmp_path, index)
    images = np.load(tmp_path / "interim" / "images.npy")
    table = pd.read_parquet(out / "splits.parquet")
    classes = read_json(out / "classes.json")
    total = 0
    for name in SPLITS:
        part = table[table["split"] == name]
        split_images = np.load(out / f"{name}_images.npy")
        split_labels = np.load(out / f"{name}_labels.npy")
        assert split_labels.dtype == np.int64
        assert len(split_images) == len(split_labels) == len(part)
        np.testing.assert_array_equal(split_labels, part["label_index"].to_numpy())
        assert [classes[i] for i in split_labels] == part["label"].tolist()
        np.testing.assert_array_equal(split_images, images[part["row"].to_numpy()])
        # The pixels encode the source row, so this also checks the order.
        rows = split_images[:, 0, 0, 0].astype(int) * 256 + split_images[:, 0, 1, 0]
        assert rows.tolist() == part["row"].tolist()
        total += len(part)
    assert total == len(index)


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


def imbalanced_index() -> pd.DataFrame:
    """Training-heavy classes of 30, 20 and 10 images, with a test split of their own."""
    labels = ["ant"] * 30 + ["bee"] * 20 + ["cat"] * 10 + ["ant", "bee", "cat"] * 4
    splits = ["train"] * 60 + ["test"] * 12
    return pd.DataFrame(
        {
            "row": np.arange(len(labels)),
            "path": [f"{i}.png" for i in range(len(labels))],
            "label": labels,
            "split": splits,
        }
    )


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


def test_training_arrays_repeat_oversampled_images(tmp_path: Path) -> None:
    params_path = tmp_path / "params.yaml"
    params_path.write_text(PARAMS_YAML.read_text().replace("balance: none", "balance: oversample"))
    images, index_path = write_inputs(tmp_path / "interim", imbalanced_index())
    out = tmp_path / "processed"
    main(
        [
            str(images),
            str(index_path),
            str(out),
            str(tmp_path / "split.json"),
            "--params",
            str(params_path),
        ]
    )
    labels = np.load(out / "train_labels.npy")
    assert len(labels) == len(np.load(out / "train_images.npy"))
    assert len(set(np.bincount(labels).tolist())) == 1  # every class equally often


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


def test_main_writes_hierarchy_json_from_the_dataset(tmp_path):
    dataset = tmp_path / "dataset.json"
    groups = {name: f"group_{i % 2}" for i, name in enumerate(CLASSES)}
    write_json({"hierarchy": groups}, dataset)
    out = run_main(tmp_path, synthetic_index(), "processed", "--dataset", str(dataset))
    assert read_json(out / "hierarchy.json") == groups


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
