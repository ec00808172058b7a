"""Every kind of bad file through every command that reads cases (issue 12 item 8).

The files and command lines are :mod:`bad_files` (shared with ``benchmarks/probe_hostile.py``).
Asserted for each pair: never a traceback or an internal error (exit 1); a file-level problem
exits 2 with one error line naming the file; a bad cell is a row problem — exit 0 with warnings
naming the file, the header and the spreadsheet row (or exit 2 with one such error, where the
command cannot go on without the cell: ``benefits`` shares costs out and refuses a missing cost).
An output path that cannot be written is one error naming it, for every command that writes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from bad_files import COMMANDS, KINDS, TABLE_OUTPUTS, argv, build
from typer.testing import CliRunner

import grouper
from drgsim.cli import app
from drgsim.cli.headers import reverse_headers
from grouper.schema import alias_map

runner = CliRunner()


@pytest.fixture(scope="module")
def env(tmp_path_factory, sample_cases, demo_scheme):
    d = tmp_path_factory.mktemp("badfiles")
    build(d, grouper.group(sample_cases, demo_scheme, keep_columns=True), demo_scheme)
    return d, demo_scheme.path


def _run(env, command, name, out=None):
    d, scheme = env
    res = runner.invoke(app, argv(command, d / name, d, scheme, out))
    text = res.output
    assert "Traceback" not in text, (command, name, text)
    assert res.exit_code in (0, 2), (command, name, res.exit_code, text, res.exception)
    assert res.exception is None or isinstance(res.exception, SystemExit), (command, name, res.exception)
    return res.exit_code, text


def _errors(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("error:")]


def _rows_in(line: str) -> set[int]:
    """The spreadsheet rows a message names: 'row 4', 'rows 3-4', 'rows 3, 5, 9'."""
    out: set[int] = set()
    for m in re.finditer(r"\brows? (\d+)(?:-(\d+))?((?:, \d+)*)", line):
        lo, hi = int(m[1]), int(m[2] or m[1])
        out |= set(range(lo, hi + 1)) | {int(x) for x in re.findall(r"\d+", m[3])}
    return out


def _names_cell(lines: list[str], file: str, header: str, row: int) -> bool:
    """Some one warning or error names the file, the header and the row."""
    return any(file in ln and header in ln and row in _rows_in(ln) for ln in lines)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", sorted(KINDS))
def test_bad_file(env, command, name):
    kind = KINDS[name]
    code, text = _run(env, command, name)
    lines = text.splitlines()
    if kind.file_level:
        assert code == 2, (command, name, text)
        if "Invalid value" in text:  # typer refused the path itself (it must exist), in a box
            assert name in re.sub(r"[\s│]", "", text), (command, name, text)
        else:
            assert len(_errors(text)) == 1 and name in _errors(text)[0], (command, name, text)
            if kind.row is not None:
                assert f": row {kind.row}: " in _errors(text)[0], (command, name, text)
        return
    if code == 2:  # a command that cannot go on: one error line, naming the file
        assert len(_errors(text)) == 1 and name in _errors(text)[0], (command, name, text)
    if kind.cells:
        named = [(h, r) for h, r in kind.cells if _names_cell(lines, name, h, r)]
        if code == 0:  # every planted cell is said
            assert named == list(kind.cells), (command, name, kind.cells, text)
        else:  # the refusal names one of them
            assert named, (command, name, kind.cells, text)


@pytest.mark.parametrize("command", TABLE_OUTPUTS)
def test_header_only_input_writes_an_empty_table_with_its_columns(env, command):
    d, _ = env
    out = d / f"header-{command.replace(' ', '_')}.csv"
    code, text = _run(env, command, "header.csv", out)
    assert code == 0, text
    t = pd.read_csv(out)
    assert len(t) == 0 and "case_id" in t.columns and len(t.columns) >= 8, list(t.columns)


@pytest.mark.parametrize("command", ("weights", "simulate", "cashflow"))
def test_header_only_history_is_one_clear_error(env, command):
    code, text = _run(env, command, "header.csv")
    assert code == 2 and "header.csv: no cases (header only)" in " ".join(text.split()), text


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "explain"])
@pytest.mark.parametrize("where", ("under_a_file", "in_proc"))
def test_unwritable_output_is_one_error_naming_it(env, command, where):
    d, scheme = env
    normal = argv(command, "x", d, scheme)
    base = d / "good.csv" / "deeper" if where == "under_a_file" else Path("/proc/drgsim-nowhere")
    out = base / Path(normal[normal.index("-o") + 1]).name
    code, text = _run(env, command, "good.csv", out)
    assert code == 2 and len(_errors(text)) == 1, text
    why = (f"{d / 'good.csv'} is a file, not a folder" if where == "under_a_file"
           else f"cannot create the folder {base}")
    assert _errors(text)[0] == f"error: {out}: cannot be written: {why}" or \
        _errors(text)[0].startswith(f"error: {out}: cannot be written: {why} ("), text


@pytest.mark.parametrize("name", ("gbk.csv", "age45.csv", "huge.csv", "inf.csv", "baddate.csv",
                                  "formula.xlsx", "merged.xlsx"))
def test_every_row_is_grouped_once_in_order_with_its_status(env, name):
    """Readable rows are all kept, in input order; planted cells are BAD_VALUE rows (merged
    blanks keep OK and say so); 45岁 is read as 45."""
    d, _ = env
    out = d / f"rows-{name}.csv"
    code, text = _run(env, "group", name, out)
    assert code == 0, text
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    # a Chinese-headed input (gbk.csv, the workbooks) answers with Chinese headers: read them
    # as names
    assert ("病案号" in got.columns) == grouper.has_chinese_headers(d / name), list(got.columns)
    got = got.rename(columns={**reverse_headers(), **alias_map()})
    good = pd.read_csv(d / "good.csv", dtype=str, keep_default_na=False)
    assert list(got["case_id"]) == list(good["case_id"])
    status, notes = got["read_status"].tolist(), got["read_warnings"].tolist()
    planted = {"huge.csv": 3, "inf.csv": 2, "baddate.csv": 2, "formula.xlsx": 2}.get(name, 0)
    assert status == ["BAD_VALUE"] * planted + ["OK"] * (len(got) - planted), name
    if name == "formula.xlsx":
        assert notes[:2] == ["总费用 is a formula with no saved value (row 2)",
                             "年龄 is a formula with no saved value (row 3)"]
    if name == "merged.xlsx":
        assert [n.endswith(f"(row {r})") for r, n in zip((2, 3, 4), notes[:3], strict=True)] == [False, True, True]
        assert got["hospital_id"].tolist()[1:3] == ["", ""]
    if name == "age45.csv":
        assert got["age"].tolist() == good["age"].tolist()
