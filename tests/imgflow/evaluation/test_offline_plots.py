"""imgflow/evaluation/offline_plots.py: DVC's plot page template, with the Vega scripts inline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from imgflow.evaluation.offline_plots import main, render_template, vega_lite_version

ROOT = Path(__file__).parents[3]


@pytest.fixture(scope="module")
def template() -> str:
    return render_template()


def test_template_keeps_dvcs_plot_placeholder_and_drops_its_cdn_scripts(template: str) -> None:
    assert template.count("{plot_divs}") == 1
    assert "{scripts}" not in template  # where dvc_render puts its <script src=cdn> tags


def test_template_defines_vega_embed_before_the_plots(template: str) -> None:
    # DVC's chart divs call vegaEmbed(...) as the page is parsed: it must exist by then.
    assert template.index("window.vegaEmbed=") < template.index("{plot_divs}")


def test_template_holds_a_single_script_element(template: str) -> None:
    assert template.count("<script") == 1 and template.count("</script") == 1


def test_newest_vega_lite_5_is_chosen_for_dvcs_v5_specs() -> None:
    assert vega_lite_version(["5.8", "5.21", "5.20", "6.4"]) == "5.21"


def test_main_writes_the_template_where_asked(tmp_path: Path, template: str) -> None:
    main([str(tmp_path / "share" / "dvc_plots.html")])
    assert (tmp_path / "share" / "dvc_plots.html").read_text() == template


def test_dvc_config_names_the_file_make_setup_writes() -> None:
    config = (ROOT / ".dvc" / "config").read_text()
    makefile = (ROOT / "Makefile").read_text()
    configured = re.search(r"^\s*html_template\s*=\s*(\S+)", config, re.MULTILINE)
    venv = re.search(r"^VENV\s*:=\s*(\S+)", makefile, re.MULTILINE)
    written = re.search(r"^PLOTS_TEMPLATE\s*:=\s*\$\(VENV\)/(\S+)", makefile, re.MULTILINE)
    assert configured and venv and written
    # DVC reads a relative html_template from .dvc/, make from the project root.
    assert (ROOT / ".dvc" / configured[1]).resolve() == (ROOT / venv[1] / written[1]).resolve()
