"""The CLI's one error boundary: user errors exit 2 with one line, internal errors exit 1 with a log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from shared_data import ROOT
from typer.testing import CliRunner

import grouper
from drgsim.cli import app
from drgsim.cli._app import App

runner = CliRunner()
DEMO = str(grouper.demo_scheme_path())


def _toy_app() -> App:
    toy = App()

    @toy.command("boom")
    def boom(kind: str) -> None:
        if kind == "internal":
            raise RuntimeError("kernel exploded")
        raise FileNotFoundError(2, "No such file or directory", "missing.csv")

    @toy.command("other")
    def other() -> None:  # a second command keeps "boom" a subcommand
        pass

    return toy


def test_internal_error_is_one_line_and_a_log():
    res = runner.invoke(_toy_app(), ["boom", "internal"])
    assert res.exit_code == 1
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in res.output
    assert lines[0].startswith("internal error: RuntimeError: kernel exploded (trace in ")
    log = Path(re.search(r"trace in (\S+);", lines[0]).group(1))
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "kernel exploded" in text


def test_user_os_error_reads_plainly():
    res = runner.invoke(_toy_app(), ["boom", "user"])
    assert res.exit_code == 2
    assert res.output.strip() == "error: missing.csv: No such file or directory"


def test_version_and_debug():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and re.fullmatch(r"drgsim \S+\n", res.output)
    # --debug lets the trace through (the exception reaches the runner)
    res = runner.invoke(app, ["--debug", "weights", str(ROOT / "nowhere.csv"), "-p", "national_drg",
                              "-o", "w"])
    # weights reads through the one case reader (issue 13 item 2), whose error names the file
    assert isinstance(res.exception, grouper.CaseFileError) and "nowhere.csv" in str(res.exception)
    res = runner.invoke(app, ["weights", str(ROOT / "nowhere.csv"), "-p", "national_drg", "-o", "w"])
    assert res.exit_code == 2 and "Traceback" not in res.output


def _bad_files(tmp: Path) -> dict[str, Path]:
    (tmp / "empty.csv").write_bytes(b"")
    (tmp / "garbage.csv").write_bytes(bytes(range(128, 256)) * 3)
    (tmp / "columns.csv").write_text("case_id,age\n1,45\n", encoding="utf-8")
    (tmp / "header.csv").write_text("case_id,hospital_id,year,total_cost,los,drg\n", encoding="utf-8")
    (tmp / "folder").mkdir()
    return {name: tmp / name for name in ("empty.csv", "garbage.csv", "columns.csv", "folder")}


def test_header_only_history_is_refused(tmp_path):
    _bad_files(tmp_path)
    res = runner.invoke(app, ["weights", str(tmp_path / "header.csv"), "-p", "national_drg",
                              "-o", str(tmp_path / "w")])
    assert res.exit_code == 2 and "header.csv: no cases (header only)" in res.output
    assert not (tmp_path / "w").exists()


COMMANDS = {
    "group": lambda f, t: ["group", f, "-s", DEMO, "-o", str(t / "o.csv")],
    "explain": lambda f, t: ["explain", f, "-s", DEMO],
    "weights": lambda f, t: ["weights", f, "-p", "national_drg", "-o", str(t / "w")],
    "dip build": lambda f, t: ["dip", "build", f, "-o", str(t / "cat")],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_files_exit_2_without_traceback(tmp_path, command):
    for name, path in _bad_files(tmp_path).items():
        res = runner.invoke(app, COMMANDS[command](str(path), tmp_path))
        assert res.exit_code == 2, (command, name, res.output)
        assert "Traceback" not in res.output, (command, name)
        assert isinstance(res.exception, SystemExit), (command, name, res.exception)
        assert name in res.output, (command, name, res.output)


def test_history_without_a_year_column_is_said_or_refused(tmp_path):
    """No year column: one undated year, said; refused when the policy names the years to weigh."""
    rows = [f"c{i},H{i % 3},2,{1000 + 37 * i},{3 + i % 4},{'AB1' if i % 2 else 'CD2'}" for i in range(40)]
    p = tmp_path / "noyear.csv"
    p.write_text("case_id,hospital_id,hospital_level,total_cost,los,drg\n" + "\n".join(rows) + "\n",
                 encoding="utf-8")
    res = runner.invoke(app, ["weights", str(p), "-p", "national_drg", "-o", str(tmp_path / "w"), "-q"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert f"warning: {p}: no year column" in text and "its 40 cases are fitted as one undated year" in text
    assert (tmp_path / "w").is_dir()
    pol = tmp_path / "years.toml"
    pol.write_text('name = "t"\nkind = "drg"\n[weights]\nyear_weights = [1, 2]\nhistory_years = [2023, 2024]\n',
                   encoding="utf-8")
    res = runner.invoke(app, ["weights", str(p), "-p", str(pol), "-o", str(tmp_path / "w2"), "-q"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    text = " ".join(res.output.split())
    assert f"{p}: column 'year': column missing, but the policy weighs the years [2023, 2024]" in text
    assert not (tmp_path / "w2").exists()
