"""Schemes by name (grouper.catalog) and ``drgsim schemes``, over copies of the demo scheme."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from shared_data import ROOT
from typer.testing import CliRunner

import grouper
from drgsim.cli import app
from drgsim.cli.schemes import format_schemes
from grouper.catalog import SchemeInfo, schemes_dirs

runner = CliRunner()
DEMO = grouper.demo_scheme_path()
CASES = ROOT / "sample_cases" / "cases.csv"


def _copy(dst: Path, version: str | None = None) -> Path:
    shutil.copytree(DEMO, dst, ignore=shutil.ignore_patterns("*.py", "README.md", "__pycache__"))
    if version is not None:  # scheme.json is not hashed by the table checks: safe to edit
        f = dst / "scheme.json"
        meta = json.loads(f.read_text(encoding="utf-8"))
        meta["scheme"]["version"] = version
        f.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return dst


@pytest.fixture
def schemes(tmp_path, monkeypatch):
    """Two schemes directories: a/ (tiny-1, tiny-2 v2.0, broken) and b/ (tiny-1 v9.9)."""
    a, b = tmp_path / "a", tmp_path / "b"
    _copy(a / "tiny-1")
    _copy(a / "tiny-2", version="2.0")
    (a / "broken").mkdir()
    (a / "broken" / "scheme.json").write_text("{not json", encoding="utf-8")
    (a / "not-a-scheme").mkdir()  # no scheme.json: not listed
    _copy(b / "tiny-1", version="9.9")
    monkeypatch.setenv("DRGSIM_SCHEMES", os.pathsep.join([str(a), str(b)]))
    return a, b


def test_name_resolves_in_the_first_directory_that_has_it(schemes):
    a, b = schemes
    assert grouper.resolve_scheme("tiny-1") == (a / "tiny-1").resolve()
    assert grouper.resolve_scheme("tiny-2") == (a / "tiny-2").resolve()
    assert schemes_dirs()[:2] == [a.resolve(), b.resolve()]
    s = grouper.load_scheme(grouper.resolve_scheme("tiny-2"))
    assert s.meta["scheme"]["version"] == "2.0"


def test_demo_name_and_existing_paths(schemes, tmp_path):
    assert grouper.resolve_scheme("demo") == DEMO
    # an existing path is a path, even when a scheme has the same name
    p = _copy(tmp_path / "tiny-1")
    assert grouper.resolve_scheme(p) == p
    assert grouper.resolve_scheme(p / "scheme.json") == p / "scheme.json"


def test_unknown_name_lists_the_available_names(schemes):
    with pytest.raises(grouper.SchemeError) as e:
        grouper.resolve_scheme("tiny-3")
    msg = str(e.value)
    assert msg.startswith("tiny-3: scheme: does not exist")
    for name in ("tiny-1", "tiny-2", "broken", "demo"):
        assert name in msg
    assert "not-a-scheme" not in msg


def test_available_schemes_reads_counts_version_and_source(schemes):
    infos = {i.name: i for i in grouper.available_schemes()}
    t1, t2 = infos["tiny-1"], infos["tiny-2"]
    # the demo scheme's own numbers (scheme.json): 9 MDCs, 41 ADRGs, 88 DRGs, version 1.0
    assert (t1.n_mdc, t1.n_adrg, t1.n_drg, t1.version) == (9, 41, 88, "1.0")
    assert t2.version == "2.0"
    assert t1.source == "drgsim" and t1.scheme_id == "drgsim-demo"
    assert infos["broken"].n_drg is None and "unreadable" in infos["broken"].title
    assert infos["demo"].path == DEMO
    assert list(infos) == sorted(infos)


def test_schemes_command_fits_80_columns(schemes):
    res = runner.invoke(app, ["schemes"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].split() == ["name", "MDC", "ADRG", "DRG", "version", "source"]
    row = next(line for line in lines if line.startswith("tiny-2 "))
    assert row.split() == ["tiny-2", "9", "41", "88", "2.0", "drgsim"]
    assert any(line.startswith("broken ") and " ? " in line for line in lines)
    res = runner.invoke(app, ["schemes", "--json"])
    got = {d["name"]: d for d in json.loads(res.output)}
    assert got["tiny-1"]["n_adrg"] == 41 and got["tiny-1"]["version"] == "1.0"


def test_format_shortens_long_fields_to_the_width():
    long = SchemeInfo("x" * 40, Path("."), "x", "t", "v" * 30, 26, 376, 1006, "s" * 100)
    lines = format_schemes([long], width=80)
    assert all(len(line) <= 80 for line in lines)
    assert lines[1].endswith("…") and "1006" in lines[1]


def test_group_and_explain_take_a_scheme_name(schemes, tmp_path):
    out = tmp_path / "g.csv"
    res = runner.invoke(app, ["group", str(CASES), "-s", "tiny-1", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    want = grouper.group(grouper.read_cases(CASES), grouper.load_scheme(DEMO))
    got = out.read_text(encoding="utf-8").splitlines()
    assert len(got) == len(want) + 1
    res = runner.invoke(app, ["explain", str(CASES), "-s", "demo"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["group", str(CASES), "-s", "tiny-3", "-o", str(out)])
    assert res.exit_code == 2
    assert "tiny-3" in res.output and "tiny-2" in res.output


def test_service_settings_take_a_scheme_name(schemes):
    from drgsim.service.engine import PreviewEngine
    from drgsim.service.settings import ServiceSettings

    eng = PreviewEngine.load(ServiceSettings(scheme=Path("tiny-2")))
    assert eng.scheme.meta["scheme"]["version"] == "2.0"
