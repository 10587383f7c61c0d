"""The page `dvc plots show` and `dvc plots diff` write, drawn without a network.

dvc_render fills an HTML template: `{plot_divs}` takes the charts, each a `<div>` whose script
calls `vegaEmbed(...)`, and `{scripts}` takes `<script src="https://cdn.jsdelivr.net/...">`
tags for vega, vega-lite and vega-embed, so offline its charts stay blank. The template made
here has no `{scripts}` (dvc_render then drops those tags) and carries the three libraries
inline instead, from vl-convert-python's bundle: the JavaScript comes from an installed
package, so none is committed to this repository and nothing is downloaded.

`make setup` writes it to .venv/share/imgflow/dvc_plots.html, the file `.dvc/config`'s
`plots.html_template` names: `python -m imgflow.evaluation.offline_plots <path>`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imgflow.common.artifacts import atomic_file

# What dvc_render replaces in a template (dvc_render.html.HTML.embed), by plain substitution.
PLOTS = "{plot_divs}"
SCRIPTS = "{scripts}"
REFRESH = "{refresh_tag}"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{refresh_tag}
<title>DVC plots</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
table {{ border-spacing: 15px; }}
</style>
<script>
// vega {vega}, vega-lite {vega_lite}, vega-embed {vega_embed}: from vl-convert-python
{bundle}
</script>
</head>
<body>
{plot_divs}
</body>
</html>
"""


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split("."))


def vega_lite_version(available: list[str]) -> str:
    """The newest Vega-Lite 5: DVC's templates declare the v5 schema, and vega-embed warns in
    the console when a spec's major version is not the library's."""
    fives = [v for v in available if _version_key(v)[0] == 5]
    if not fives:
        raise RuntimeError(f"vl-convert-python offers no Vega-Lite 5 (only {available})")
    return max(fives, key=_version_key)


def render_template() -> str:
    """The whole template: the libraries inline, then the `{plot_divs}` DVC fills."""
    import vl_convert  # imported here: only setup needs it (its bundle step takes ~2 s)

    vl_version = vega_lite_version(vl_convert.get_vegalite_versions())
    bundle = vl_convert.javascript_bundle(vl_version=vl_version)
    # dvc_render substitutes its placeholders anywhere in the page, the script included.
    for placeholder in (PLOTS, SCRIPTS, REFRESH):
        if placeholder in bundle:
            raise RuntimeError(f"the Vega bundle contains {placeholder}: it would be replaced")
    # The only text that could end the <script> element early; `<\/` means `</` in JavaScript
    # strings and regular expressions alike.
    bundle = bundle.replace("</script", "<\\/script")
    return _PAGE.format(
        refresh_tag=REFRESH,
        plot_divs=PLOTS,
        vega=vl_convert.get_vega_version(),
        vega_lite=vl_version,
        vega_embed=vl_convert.get_vega_embed_version(),
        bundle=bundle,
    )


def write_template(target: Path) -> None:
    with atomic_file(target) as temp:
        temp.write_text(render_template(), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="e.g. .venv/share/imgflow/dvc_plots.html")
    args = parser.parse_args(argv)
    write_template(args.target)
    print(f"offline_plots: DVC's plot page template with Vega inline -> {args.target}")


if __name__ == "__main__":
    main()
