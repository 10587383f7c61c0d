from pathlib import Path

import pytest
import yaml
from imgflow.pipelines.cli import build_parser, main


def test_run_defaults() -> None:
    args = build_parser().parse_args(["run"])
    assert args.project_dir == Path(".") and not args.force
    assert args.train_timeout_minutes == 120.0


def test_a_command_is_required() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


@pytest.mark.usefixtures("prefect_harness")
def test_failed_stage_exits_1_naming_the_stage(
    toy_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = yaml.safe_load((toy_project / "dvc.yaml").read_text())
    spec["stages"]["resize"]["cmd"] = "python -c \"raise SystemExit('bad image size')\""
    (toy_project / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    assert main(["run", "--project-dir", str(toy_project)]) == 1
    assert "stage 'resize' failed" in capsys.readouterr().err
