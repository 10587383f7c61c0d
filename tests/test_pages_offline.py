"""Every HTML page the project writes opens offline: validate's page, the plot stage's
reports/report.html and the page `dvc plots show/diff` write with the project's template.

Each page is checked twice: its text names nothing to fetch from elsewhere, and a real headless
Chromium with no network (tests/browser_helpers.py) loads it, draws every image and chart, logs
no error and requests nothing beyond the page's own files. The browser half needs Debian's
`chromium` (.ci/run installs it) and is skipped without it; screenshots of each page are left
in the test's temp folder.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from imgflow.evaluation.offline_plots import render_template
from imgflow.validation.report import write_report_dir
from stages.plot import main as plot_main
from tests.browser_helpers import PageResult, browser, chromium_path, open_page, outside_requests
from tests.conftest import dvc, init_repo
from tests.imgflow.validation.test_report import report as validation_report
from tests.plot_helpers import plot_arguments

# Something a page would load from elsewhere: a script, style sheet, image or font by URL.
EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|//cdn""",
    re.IGNORECASE,
)
NEEDS_CHROMIUM = pytest.mark.skipif(
    chromium_path() is None,
    reason="no `chromium` on PATH: apt-get install chromium (.ci/run does)",
)
PAGES = ("report", "validation", "dvc_plots")
# dvc_plots: every chart vega-embed drew, and how many there are.
CHARTS = "document.querySelectorAll('.vega-embed canvas, .vega-embed svg.marks').length"
EMBEDS = "document.querySelectorAll('.vega-embed').length"


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each kind of page the project writes, written into a temp folder."""
    root = tmp_path_factory.mktemp("pages")
    (root / "run").mkdir()
    plot_main(plot_arguments(root / "run"))
    write_report_dir(validation_report(), root / "validation")
    return {
        "report": root / "run" / "report.html",
        "validation": root / "validation" / "index.html",
        "dvc_plots": dvc_plots_page(root / "dvc"),
    }


def dvc_plots_page(project: Path) -> Path:
    """`dvc plots show` in a new repository whose .dvc/config names the template, as the
    project's does: a line chart (Vega) and a PNG, both as in the project's dvc.yaml."""
    project.mkdir()
    init_repo(project)
    template = project.parent / "dvc_plots.html"
    template.write_text(render_template())
    dvc("config", "plots.html_template", str(template), cwd=project)
    (project / "curve.tsv").write_text("step\taccuracy\n0\t0.5\n1\t0.7\n2\t0.8\n")
    (project / "curve.png").write_bytes(
        (project.parent / "run" / "plots" / "reliability.png").read_bytes()
    )
    (project / "dvc.yaml").write_text(
        "plots:\n  - Curve:\n      template: linear\n      x: step\n      y:\n"
        "        curve.tsv: accuracy\n  - curve.png\n"
    )
    dvc("plots", "show", "-o", "out", cwd=project)
    return project / "out" / "index.html"


@pytest.mark.parametrize("name", PAGES)
def test_page_names_nothing_to_fetch_from_elsewhere(pages: dict[str, Path], name: str) -> None:
    assert EXTERNAL.findall(pages[name].read_text()) == []


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: one PNG per page, named after it."""
    return tmp_path_factory.mktemp("shots")


@pytest.fixture(scope="module")
def loaded(
    pages: dict[str, Path], shots: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, PageResult]:
    """Each page as headless Chromium showed it."""
    found = {}
    with browser(tmp_path_factory.mktemp("chromium-profile")) as tools:
        for name, page in pages.items():
            charts = name == "dvc_plots"
            found[name] = open_page(
                tools,
                page,
                shots / f"{name}.png",
                ready=f"{CHARTS} >= {EMBEDS}" if charts else "true",
                check=f"[{CHARTS}, {EMBEDS}]" if charts else "null",
            )
    return found


@NEEDS_CHROMIUM
@pytest.mark.parametrize("name", PAGES)
def test_page_logs_no_error(loaded: dict[str, PageResult], name: str) -> None:
    assert loaded[name].errors == []


@NEEDS_CHROMIUM
@pytest.mark.parametrize("name", PAGES)
def test_page_requests_nothing_beyond_its_own_files(
    loaded: dict[str, PageResult], name: str
) -> None:
    assert loaded[name].requests  # the page itself, at least: the log did record
    assert outside_requests(loaded[name].requests) == []


@NEEDS_CHROMIUM
@pytest.mark.parametrize("name", PAGES)
def test_every_image_on_the_page_is_drawn(loaded: dict[str, PageResult], name: str) -> None:
    images = loaded[name].images
    assert images, "the page shows no image"
    assert [i for i in images if not (i["complete"] and i["width"] > 0)] == []


@NEEDS_CHROMIUM
def test_report_shows_each_figure_and_both_galleries(loaded: dict[str, PageResult]) -> None:
    # 7 figures, and each of 2 wrong predictions in both galleries
    assert len(loaded["report"].images) == 7 + 2 * 2


@NEEDS_CHROMIUM
def test_dvc_plots_charts_are_drawn_offline(loaded: dict[str, PageResult]) -> None:
    drawn, charts = loaded["dvc_plots"].value
    assert charts == 1 and drawn == charts


@NEEDS_CHROMIUM
@pytest.mark.parametrize("name", PAGES)
def test_screenshot_holds_the_whole_page(
    loaded: dict[str, PageResult], shots: Path, name: str
) -> None:
    header = (shots / f"{name}.png").read_bytes()[:24]
    width, height = struct.unpack(">II", header[16:24])  # the PNG's IHDR chunk
    assert header.startswith(b"\x89PNG") and width == 1280 and height > 300
