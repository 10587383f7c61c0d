"""Folder, archive and URL sources, in image-folder layout or with a labels file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from imgflow.common.errors import SourceError
from imgflow.data.layout import (
    RawEntry,
    is_junk,
    parse_layout,
    select_per_class,
    strip_wrapper_folders,
)
from imgflow.data.raw_store import is_utf8, shown, write_images
from imgflow.params.data import DataParams
from imgflow.sources.fetching import (
    ARCHIVE_SUFFIXES,
    Tree,
    archive_kind,
    expected_checksums,
    fetch_url,
    is_url,
    open_tree,
    sniff_archive,
    url_basename,
    verify,
)


def image_folder_entries(tree: Tree) -> dict[str, RawEntry]:
    """The tree's images by their name in the tree, placed by image-folder layout (junk left
    out)."""
    names = [n for n in tree.names if not is_junk(n)]
    prefix, stripped = strip_wrapper_folders(names)
    entries = parse_layout(stripped)
    return {f"{prefix}/{e.relpath}" if prefix else e.relpath: e for e in entries}


def labels_file_entries(tree: Tree, params: DataParams) -> dict[str, RawEntry]:
    """The images beside `data.labels_file` (in it or below), each in its labelled class."""
    # Imported here: it needs pandas, slow to import, which image-folder sources do without.
    from imgflow.sources.labels_file import flat_name, is_image, match_labels, parse_labels

    wanted = str(params.labels_file).strip("/")
    found = [n for n in tree.names if n == wanted or n.endswith(f"/{wanted}")]
    if len(found) != 1:
        raise SourceError(
            f"data.labels_file: {wanted!r} found {len(found)} times in {params.source!r}"
            + (f" ({', '.join(found[:5])})" if found else "")
        )
    labels_name = found[0]
    if tree.sizes[labels_name] > params.max_file_bytes:
        raise SourceError(
            f"data.labels_file: {labels_name!r} is {tree.sizes[labels_name]:,} bytes, over "
            f"data.max_file_bytes ({params.max_file_bytes:,})"
        )
    folder = PurePosixPath(labels_name).parent
    prefix = "" if folder == PurePosixPath(".") else f"{folder}/"
    images = [
        n.removeprefix(prefix)
        for n in tree.names
        if n.startswith(prefix) and is_image(n) and not is_junk(n.removeprefix(prefix))
    ]
    table = parse_labels(tree.read_bytes(labels_name), labels_name, params.labels_order)
    matched = match_labels(
        table, images, params.labels_order, params.on_label_mismatch, labels_name
    )
    if matched.note:
        print(f"download: {matched.note}")
    entries = {
        prefix + image: RawEntry(f"{label}/{flat_name(image)}", label=label, split=None)
        for image, label in matched.pairs
    }
    if len({e.relpath for e in entries.values()}) != len(entries):
        raise SourceError(f"{labels_name}: two images map to the same output file name")
    return entries


def open_source(params: DataParams) -> tuple[str, Path, str]:
    """(dataset name, local path, "folder" | "tar" | "zip") of a non-builtin source.

    A URL is downloaded (or taken from the cache); an archive is checksum-verified when
    `data.md5`/`data.sha256` is given, before anything is read from it.
    """
    source = params.source
    checksums = expected_checksums(params.md5, params.sha256)
    if is_url(source):
        basename = url_basename(source)
        path = fetch_url(source, Path(params.cache_dir), checksums)
        kind = archive_kind(Path(basename)) or sniff_archive(path)
        if kind is None:
            raise SourceError(f"data.source: {source!r} is not a tar or zip archive")
        return dataset_name(basename), path, kind
    path = Path(source).expanduser()
    if path.is_dir():
        if checksums:
            raise SourceError(f"data.md5/data.sha256: {source!r} is a folder, not a file to check")
        return path.name, path, "folder"
    kind = archive_kind(path)
    if path.is_file() and kind is not None:
        verify(path, checksums, str(path))
        return dataset_name(path.name), path, kind
    raise SourceError(
        f"data.source: {source!r} is not 'digits', 'cifar10', 'cifar100', an http(s)/file URL, "
        f"or an existing folder or {'/'.join(ARCHIVE_SUFFIXES)} archive"
    )


def dataset_name(filename: str) -> str:
    lower = filename.lower()
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return filename[: -len(suffix)]
    return filename


def write_tree_source(params: DataParams, table: Path) -> tuple[str, list[RawEntry], list[str]]:
    """Store the source's images; return its name, the stored entries and the files left out
    (dataset.json's `ignored`)."""
    name, path, kind = open_source(params)
    with open_tree(path, kind) as tree:  # type: ignore[arg-type]
        if params.labels_file is not None:
            by_name = labels_file_entries(tree, params)
        else:
            by_name = image_folder_entries(tree)
        # Set aside only once placed: a sorted labels file's line i must still meet image i.
        set_aside = unstorable(tree, by_name, params.max_file_bytes)
        storable = [entry for n, entry in by_name.items() if n not in set_aside]
        junk, aside = left_out(tree, set_aside)
        if by_name and not storable:
            raise SourceError(
                f"data.source: {params.source!r}: no image left to store, all "
                f"{len(set_aside)} set aside: {_some(aside)}"
            )
        kept = set(select_per_class(storable, params.max_per_class, params.seed))
        targets = {n: e.relpath for n, e in by_name.items() if e in kept}
        check_total(tree, targets, params.max_total_bytes)
        if aside:
            print(
                f"download: set aside {len(aside)} file(s), listed with the reason under "
                f"`ignored` in dataset.json: {_some(aside)}"
            )
        write_images(tree.iter_bytes(targets), table)
    return name, sorted(kept, key=lambda e: e.relpath), sorted(junk + aside)


def unstorable(tree: Tree, by_name: dict[str, RawEntry], max_file_bytes: int) -> dict[str, str]:
    """The placed files that cannot be stored, each with why: a name that is not UTF-8 (the
    table's paths are UTF-8 text), or a declared size over data.max_file_bytes (so never read)."""
    reasons = {}
    for name, entry in by_name.items():
        if not (is_utf8(name) and is_utf8(entry.relpath)):
            reasons[name] = "name is not valid UTF-8"
        elif tree.sizes[name] > max_file_bytes:
            reasons[name] = (
                f"{tree.sizes[name]:,} bytes, over data.max_file_bytes ({max_file_bytes:,})"
            )
    return reasons


def left_out(tree: Tree, set_aside: dict[str, str]) -> tuple[list[str], list[str]]:
    """What dataset.json's `ignored` lists: the junk, by its name alone, and every other file
    not stored, as "name (why)"; names not in UTF-8 escaped."""
    junk = [shown(n) for n in [*tree.names, *tree.skipped] if is_junk(n)]
    reasons = tree.skipped | set_aside
    aside = [f"{shown(n)} ({why})" for n, why in reasons.items() if not is_junk(n)]
    return sorted(junk), sorted(aside)


def check_total(tree: Tree, targets: Mapping[str, str], max_total_bytes: int) -> None:
    """Stop before reading anything if the files to store declare over data.max_total_bytes."""
    total = sum(tree.sizes[name] for name in targets)
    if total > max_total_bytes:
        raise SourceError(
            f"data.max_total_bytes: the {len(targets):,} files to store declare {total:,} "
            f"bytes, over the limit of {max_total_bytes:,} (raise it, or store fewer with "
            "data.max_per_class)"
        )


def _some(lines: list[str], shown_at_most: int = 3) -> str:
    more = len(lines) - shown_at_most
    return "; ".join(lines[:shown_at_most]) + (f"; and {more} more" if more > 0 else "")
