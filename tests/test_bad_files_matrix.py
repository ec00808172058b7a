"""Every kind of bad file through every command that reads cases (issue 12 item 8): a
file-level problem exits 2 with one line naming the file; a bad cell is a row problem (exit 0,
or 2 when the command cannot go on); never a traceback, never an internal error (exit 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import grouper
import payment
from drgsim.cli import app

runner = CliRunner()

#: file -> True when it is a file-level problem (exit 2 naming the file)
FILES = {
    "header.csv": False, "huge.csv": False, "inf.csv": False, "baddate.csv": False,
    "gbk.csv": False, "garbage.csv": True, "garbage.xlsx": True, "garbage.parquet": True,
    "empty.csv": True, "missing.csv": True, "wrong.txt": True,
}


@pytest.fixture(scope="module")
def env(tmp_path_factory, sample_cases, demo_scheme):
    d = tmp_path_factory.mktemp("badfiles")
    pol = payment.load_policy("national_drg")
    g = grouper.group(sample_cases, demo_scheme, keep_columns=True)
    payment.compute_weights(g[g["year"] < 2025], pol).save(d / "w")
    good = g[g["year"] == 2025].head(60).drop(columns=["read_status", "read_warnings"]).reset_index(drop=True)
    good.to_csv(d / "good.csv", index=False)
    from grouper.dip import DipConfig, build_catalogue

    build_catalogue(g[g["year"] < 2025].drop(columns=["read_status", "read_warnings"]),
                    DipConfig(core_threshold=5), demo_scheme).save(d / "cat")
    good.head(0).to_csv(d / "header.csv", index=False)
    huge = good.astype(str)
    huge.loc[0, "age"], huge.loc[1, "los"], huge.loc[2, "total_cost"] = "99999999999999999999", "1e308", "1e400"
    huge.to_csv(d / "huge.csv", index=False)
    inf = good.astype(str)
    inf.loc[0, "total_cost"], inf.loc[1, "age"], inf.loc[2, "los"] = "inf", "-inf", "nan"
    inf.to_csv(d / "inf.csv", index=False)
    bad_date = good.astype(str)
    bad_date.loc[0, "discharge_date"], bad_date.loc[1, "admission_date"] = "2025-10-32", "9999-99-99"
    bad_date.to_csv(d / "baddate.csv", index=False)
    zh = {"case_id": "病案号", "sex": "性别", "age": "年龄", "los": "住院天数", "total_cost": "总费用",
          "diagnoses": "诊断", "procedures": "手术操作"}
    good.rename(columns=zh).to_csv(d / "gbk.csv", index=False, encoding="gbk")
    rng = np.random.default_rng(1)
    for name in ("garbage.csv", "garbage.xlsx", "garbage.parquet"):
        (d / name).write_bytes(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    (d / "empty.csv").write_bytes(b"")
    (d / "wrong.txt").write_text((d / "good.csv").read_text("utf-8"), "utf-8")
    return d, demo_scheme


def _argv(command: str, f: str, d, scheme) -> list[str]:
    s = str(scheme.path)
    return {
        "group": ["group", f, "-s", s, "-o", str(d / "o.csv"), "-q"],
        "explain": ["explain", f, "-s", s],
        "price": ["price", f, "-w", str(d / "w"), "-p", "national_drg", "-o", str(d / "p.xlsx"), "-q"],
        "weights": ["weights", f, "-p", "national_drg", "-o", str(d / "w_out"), "-q"],
        "dip group": ["dip", "group", f, "--catalogue", str(d / "cat"), "-o", str(d / "dg.xlsx"), "-q"],
        "analyse": ["analyse", f, "-w", str(d / "w"), "-o", str(d / "an")],
        "supervise": ["supervise", f, "-s", s, "-o", str(d / "sv"), "-q"],
        "benefits": ["benefits", f, "-o", str(d / "bn")],
    }[command]


COMMANDS = ("group", "explain", "price", "weights", "dip group", "analyse", "supervise", "benefits")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", sorted(FILES))
def test_bad_file(env, command, name):
    d, scheme = env
    res = runner.invoke(app, _argv(command, str(d / name), d, scheme))
    out = res.output
    assert "Traceback" not in out, (command, name, out)
    assert res.exit_code in (0, 2), (command, name, res.exit_code, out, res.exception)
    assert res.exception is None or isinstance(res.exception, SystemExit), (command, name, res.exception)
    if FILES[name]:
        assert res.exit_code == 2, (command, name, out)
        assert name in out, (command, name, out)
    if res.exit_code == 2:
        errors = [ln for ln in out.splitlines() if ln.startswith(("error:", "Error", "│", "╭"))]
        assert len([ln for ln in out.splitlines() if ln.startswith("error:")]) <= 1, (command, name, out)
        assert errors, (command, name, out)


@pytest.mark.parametrize("command", ("group", "explain", "price", "dip group"))
@pytest.mark.parametrize("name", ("gbk.csv", "huge.csv", "inf.csv", "baddate.csv"))
def test_row_problems_do_not_stop_a_run(env, command, name):
    """GBK is read; huge, infinite and impossible values are missing for their case only."""
    d, scheme = env
    res = runner.invoke(app, _argv(command, str(d / name), d, scheme))
    assert res.exit_code == 0, (command, name, res.output)
    if command == "group":
        out = pd.read_csv(d / "o.csv", dtype=str, keep_default_na=False)
        assert len(out) == 60 and list(out["case_id"]) == list(pd.read_csv(d / "good.csv", dtype=str)["case_id"])
        if name in ("huge.csv", "inf.csv", "baddate.csv"):
            assert (out["read_status"].iloc[:2] == "BAD_VALUE").all(), out.iloc[:3].T
