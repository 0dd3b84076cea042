from pathlib import Path

from app.settings_doc import render
from tests.conftest import ROOT


def test_configuration_page_matches_the_settings_model() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    regenerate = ".venv/bin/python -m app.settings_doc > docs/configuration.md"
    assert committed == render(), f"run: {regenerate}"


def test_every_setting_has_a_description() -> None:
    undocumented = [line for line in render().splitlines()
                    if line.startswith("| `") and line.rstrip().endswith("|  |")]
    assert not undocumented


def test_readme_gives_the_two_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    assert "make test" in Path(ROOT / ".ci" / "run").read_text(encoding="utf-8")
