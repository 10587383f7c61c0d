"""imgflow/sources/labels_file.py: labels parsed, numbers normalised, images matched explicitly."""

from __future__ import annotations

import pytest

from imgflow.sources.labels_file import (
    LabelsError,
    flat_name,
    is_image,
    match_labels,
    normalise_label,
    parse_labels,
)


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("1.0000000e+00", "1"),
        ("0.0000000e+00", "0"),
        ("2", "2"),
        ("  3.0 ", "3"),
        ("-1", "-1"),
        ("defect", "defect"),
        ("no_defect", "no_defect"),
    ],
)
def test_normalise_label(raw, label):
    assert normalise_label(raw, "labels.txt line 1") == label


@pytest.mark.parametrize("raw", ["0.5", "nan", "inf", "a/b", "..", ".hidden", ""])
def test_normalise_label_rejects_non_classes(raw):
    with pytest.raises(LabelsError) as info:
        normalise_label(raw, "labels.txt line 4")
    assert str(info.value).startswith("labels.txt line 4:")


def test_parse_text_sorted_float_labels_and_trailing_blank_lines():
    data = b"1.0000000e+00\n0.0000000e+00\n1.0000000e+00\n\n\n"
    table = parse_labels(data, "labels.txt", "sorted")
    assert table["label"].tolist() == ["1", "0", "1"]
    assert table["line"].tolist() == [1, 2, 3]


def test_parse_text_sorted_blank_line_inside_is_an_error():
    # It would shift every later label onto the wrong image.
    with pytest.raises(LabelsError, match="labels.txt line 2: expected one label"):
        parse_labels(b"1\n\n0\n", "labels.txt", "sorted")


def test_parse_text_id_order():
    table = parse_labels(b"b.png 1.0\na.png, 0\n", "labels.txt", "id")
    assert table[["id", "label"]].values.tolist() == [["b.png", "1"], ["a.png", "0"]]


def test_parse_csv_id_and_sorted():
    data = b"id,label,note\nx/2.png,cat,\nx/1.png,dog,blurry\n"
    table = parse_labels(data, "labels.csv", "id")
    assert table[["id", "label", "line"]].values.tolist() == [
        ["x/2.png", "cat", 2],
        ["x/1.png", "dog", 3],
    ]
    assert parse_labels(data, "labels.csv", "sorted")["label"].tolist() == ["cat", "dog"]


def test_parse_csv_without_needed_column_names_it():
    with pytest.raises(LabelsError, match="labels.csv: no id column"):
        parse_labels(b"file,label\na.png,1\n", "labels.csv", "id")


def test_parse_duplicate_id_is_an_error():
    with pytest.raises(LabelsError, match="line 3: 'a.png' is labelled more than once"):
        parse_labels(b"a.png 1\nb.png 0\na.png 0\n", "labels.txt", "id")


def test_parse_empty_file_is_an_error():
    with pytest.raises(LabelsError, match="holds no labels"):
        parse_labels(b"\n", "labels.txt", "sorted")


def labels(values: list[str], ids: list[str] | None = None):
    rows = [f"{i} {v}" for i, v in zip(ids, values, strict=True)] if ids else values
    return parse_labels("\n".join(rows).encode(), "labels.txt", "id" if ids else "sorted")


def test_match_sorted_pairs_in_sorted_file_order():
    matched = match_labels(
        labels(["a", "b", "c"]), ["3.png", "1.png", "2.png"], "sorted", "fail", "l"
    )
    assert matched.pairs == [("1.png", "a"), ("2.png", "b"), ("3.png", "c")]
    assert matched.note is None


def test_match_sorted_mismatch_fails_with_both_counts():
    images = [f"{i:03d}.png" for i in range(5)]
    with pytest.raises(LabelsError) as info:
        match_labels(labels(["1", "0"]), images, "sorted", "fail", "labels.txt")
    message = str(info.value)
    assert "labels.txt: 2 labels for 5 images" in message
    assert "on_label_mismatch: labelled_only" in message


def test_match_sorted_labelled_only_keeps_the_first_sorted_images():
    images = [f"{i:03d}.png" for i in reversed(range(5))]
    matched = match_labels(labels(["1", "0"]), images, "sorted", "labelled_only", "labels.txt")
    assert matched.pairs == [("000.png", "1"), ("001.png", "0")]
    assert "2 labels for 5 images" in matched.note and "keeping the 2" in matched.note


def test_match_id_order_and_mismatch_policies():
    table = labels(["1", "0", "1"], ids=["c.png", "a.png", "ghost.png"])
    images = ["a.png", "b.png", "c.png"]
    with pytest.raises(LabelsError) as info:
        match_labels(table, images, "id", "fail", "labels.txt")
    message = str(info.value)
    assert "3 labels for 3 images" in message
    assert "1 images have no label (e.g. ['b.png'])" in message
    assert "1 labels name no image (e.g. ['ghost.png'])" in message
    matched = match_labels(table, images, "id", "labelled_only", "labels.txt")
    assert matched.pairs == [("a.png", "0"), ("c.png", "1")]


def test_match_without_images_fails():
    with pytest.raises(LabelsError, match="no image files"):
        match_labels(labels(["1"]), [], "sorted", "labelled_only", "labels.txt")


def test_is_image_and_flat_name():
    assert is_image("x/C0001_0001.PNG") and is_image("a.jpeg") and not is_image("labels.txt")
    assert flat_name("series1/img.png") == "series1__img.png"


def test_sorted_order_reads_unpadded_numbers_as_numbers():
    matched = match_labels(
        labels(["a", "b", "c"]), ["img10.png", "img2.png", "img1.png"], "sorted", "fail", "l"
    )
    assert matched.pairs == [("img1.png", "a"), ("img2.png", "b"), ("img10.png", "c")]
