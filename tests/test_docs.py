"""Docs stay true: the README's column table is the schema; every command has help."""

from __future__ import annotations

import re

from shared_data import ROOT
from typer.testing import CliRunner

from drgsim.cli import app
from grouper.schema import markdown_table


def test_readme_column_table_is_the_schema():
    text = (ROOT / "README.md").read_text("utf-8")
    got = re.search(r"<!-- columns:start -->\n(.*?)\n<!-- columns:end -->", text, re.S).group(1)
    assert got == markdown_table(), "regenerate it: python -m grouper.schema"


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one():
    lines = (ROOT / "README.md").read_text("utf-8").split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(lines) == 2 and lines[0].endswith("drgsim demo") and "pytest" in lines[1]
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert 'pip install --quiet -e ".[dev]"' in ci and "python -m pytest -q" in ci


def test_every_command_has_help_and_is_in_the_readme():
    runner = CliRunner()
    readme = (ROOT / "README.md").read_text("utf-8")
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    names += [g.name for g in app.registered_groups]
    assert {"group", "explain", "demo", "weights", "price", "simulate", "serve", "dip"} <= set(names)
    for name in names:
        res = runner.invoke(app, [name, "--help"])
        assert res.exit_code == 0, res.output
        assert f"drgsim {name}" in readme
