"""dvc.yaml against the code: each stage's deps cover every project file its module imports.

DVC reruns a stage only when one of its deps changes, so a module a stage imports but does not
list could change without a rerun, and the same dvc.lock would stand for different code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path, PurePosixPath

import pytest
import yaml

from imgflow.common.pipeline import STAGES

ROOT = Path(__file__).resolve().parents[1]
# Top-level packages of the project; anything else imported is a third-party library.
PROJECT_PACKAGES = ("imgflow", "stages")
# A string naming a project module, as importlib.import_module would take it.
MODULE_STRING = re.compile(r"^(imgflow|stages)(\.\w+)+$")


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The file of a project module (a package's __init__.py), or None if there is none."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """Every project module a file imports anywhere (in functions too), or names in a string."""
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from imgflow.evaluation import metrics` imports a module, not a name
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and MODULE_STRING.match(str(node.value)):
            names.add(node.value)
    return {n for n in names if n.split(".")[0] in PROJECT_PACKAGES}


def with_parents(name: str) -> list[str]:
    """A module and every package above it: importing it runs each package's __init__."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_closure(module: str, root: Path = ROOT) -> set[Path]:
    """The project files that running `python -m <module>` can execute."""
    seen: set[Path] = set()
    pending = [module]
    while pending:
        for name in with_parents(pending.pop()):
            path = module_file(name, root)
            if path is None or path in seen:
                continue
            seen.add(path)
            pending.extend(imported_modules(path))
    return seen


def stage_module(stage: dict) -> str:
    """The module a stage's `cmd` runs (`python -m stages.<name> ...`)."""
    match = re.match(r"python -m ([\w.]+)", stage["cmd"])
    assert match, f"cmd {stage['cmd']!r} is not `python -m <module> ...`"
    return match.group(1)


def is_docstring_only(path: Path) -> bool:
    """A file that runs nothing: no dep needed (package __init__ files are kept so, by a test)."""
    body = ast.parse(path.read_text()).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def uncovered(files: set[Path], deps: list[str], root: Path = ROOT) -> list[str]:
    """The files no dep covers (a dep is a file or a folder above it), as posix paths.

    Files that hold only a docstring are left out: no change to them can change a result.
    """
    dep_paths = [PurePosixPath(d.rstrip("/")) for d in deps]
    missing = []
    for file in sorted(f for f in files if not is_docstring_only(f)):
        rel = PurePosixPath(file.relative_to(root).as_posix())
        if not any(rel == dep or dep in rel.parents for dep in dep_paths):
            missing.append(str(rel))
    return missing


def unreached(files: set[Path], deps: list[str], root: Path = ROOT) -> list[str]:
    """Python file deps the stage never imports: a rerun they cause is for nothing."""
    reached = {file.relative_to(root).as_posix() for file in files}
    return [d for d in deps if d.endswith(".py") and d not in reached]


def pipeline(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "dvc.yaml").read_text())["stages"]


def test_dvc_yaml_declares_the_stages_in_order() -> None:
    assert tuple(pipeline()) == STAGES


def test_stages_folder_holds_only_the_stage_modules() -> None:
    modules = {p.stem for p in (ROOT / "stages").glob("*.py")}
    assert modules == {*STAGES, "__init__"}
    assert not [p for p in (ROOT / "stages").iterdir() if p.is_dir() and p.name != "__pycache__"]


@pytest.mark.parametrize("name", STAGES)
def test_stage_deps_cover_every_imported_file(name: str) -> None:
    stage = pipeline()[name]
    files = import_closure(stage_module(stage))
    missing = uncovered(files, stage.get("deps", []))
    assert not missing, f"dvc.yaml stage {name}: deps do not cover {', '.join(missing)}"


@pytest.mark.parametrize("name", STAGES)
def test_stage_lists_no_code_it_does_not_import(name: str) -> None:
    stage = pipeline()[name]
    extra = unreached(import_closure(stage_module(stage)), stage.get("deps", []))
    assert not extra, f"dvc.yaml stage {name}: lists {', '.join(extra)}, which it never imports"


@pytest.mark.parametrize("name", STAGES)
def test_no_stage_imports_another_stage(name: str) -> None:
    own = ROOT / "stages" / f"{name}.py"
    others = {m for m in imported_modules(own) if m.startswith("stages.")}
    assert not others, f"stages/{name}.py imports {', '.join(sorted(others))}"


def test_library_and_pipelines_never_import_stages() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("imgflow", "pipelines")
        for path in (ROOT / folder).rglob("*.py")
        if any(m.split(".")[0] == "stages" for m in imported_modules(path))
    ]
    assert not offenders


def test_package_inits_hold_only_a_docstring() -> None:
    inits = [*(ROOT / "imgflow").rglob("__init__.py"), ROOT / "stages" / "__init__.py"]
    assert [str(p.relative_to(ROOT)) for p in inits if not is_docstring_only(p)] == []


def test_closure_follows_imports_inside_functions_and_package_inits(tmp_path: Path) -> None:
    (tmp_path / "stages").mkdir()
    (tmp_path / "imgflow" / "models").mkdir(parents=True)
    (tmp_path / "stages" / "__init__.py").write_text("")
    (tmp_path / "imgflow" / "__init__.py").write_text("")
    (tmp_path / "imgflow" / "models" / "__init__.py").write_text("")
    (tmp_path / "imgflow" / "models" / "late.py").write_text("import numpy\n")
    (tmp_path / "imgflow" / "loaded.py").write_text("")
    (tmp_path / "stages" / "s.py").write_text(
        "import importlib\n"
        "def main():\n    from imgflow.models import late\n"
        "importlib.import_module('imgflow.loaded')\n"
    )
    files = {p.relative_to(tmp_path).as_posix() for p in import_closure("stages.s", tmp_path)}
    assert files == {
        "stages/__init__.py",
        "stages/s.py",
        "imgflow/__init__.py",
        "imgflow/models/__init__.py",
        "imgflow/models/late.py",
        "imgflow/loaded.py",
    }


def test_a_dropped_dep_is_reported_by_file(tmp_path: Path) -> None:
    files = {tmp_path / "imgflow" / "data" / "layout.py", tmp_path / "stages" / "split.py"}
    for file in files:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("import numpy\n")
    assert uncovered(files, ["stages/split.py", "imgflow/common"], tmp_path) == [
        "imgflow/data/layout.py"
    ]
    assert uncovered(files, ["stages/split.py", "imgflow/data"], tmp_path) == []
