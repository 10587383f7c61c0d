"""Folder, archive and URL sources, in image-folder layout or with a labels file."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from imgflow.common.errors import SourceError
from imgflow.data.layout import (
    RawEntry,
    is_junk,
    parse_layout,
    select_per_class,
    strip_wrapper_folders,
)
from imgflow.data.raw_store import write_images
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
    """Store the source's images; return its name, the stored entries and the junk names."""
    name, path, kind = open_source(params)
    with open_tree(path, kind) as tree:  # type: ignore[arg-type]
        if params.labels_file is not None:
            by_name = labels_file_entries(tree, params)
        else:
            by_name = image_folder_entries(tree)
        kept = set(select_per_class(list(by_name.values()), params.max_per_class, params.seed))
        write_images(
            tree.iter_bytes({n: e.relpath for n, e in by_name.items() if e in kept}), table
        )
        ignored = [n for n in tree.names if is_junk(n)]
    return name, sorted(kept, key=lambda e: e.relpath), ignored
