"""Atomic outputs: a failed, interrupted or killed run leaves nothing that looks complete, and
the previous output survives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from shared_data import ROOT

import grouper
from drgsim import outputs, stream

CASES = ROOT / "sample_cases" / "cases.csv"


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if outputs.TMP_TAG in p.name or "drgsim-old" in p.name)


@pytest.mark.parametrize("name", ["out.parquet", "out.csv", "parts"])
def test_failing_stream_keeps_previous_output(tmp_path, name):
    target = tmp_path / name
    scheme = grouper.load_scheme(grouper.demo_scheme_path())
    stream.group_file(CASES, target, scheme, chunk_rows=3000)
    snapshot = sorted((p.name, p.stat().st_size) for p in (target.iterdir() if target.is_dir() else [target]))
    seen = []

    def boom(chunk):
        seen.append(len(chunk))
        if len(seen) == 2:
            raise ValueError("bad value in the second chunk")

    with pytest.raises(ValueError, match="second chunk"):
        stream.group_file(CASES, target, scheme, chunk_rows=3000, on_chunk=boom)
    after = sorted((p.name, p.stat().st_size) for p in (target.iterdir() if target.is_dir() else [target]))
    assert after == snapshot  # the previous good output, untouched
    assert _leftovers(tmp_path) == []


def test_failing_first_run_leaves_nothing(tmp_path):
    target = tmp_path / "out.parquet"
    scheme = grouper.load_scheme(grouper.demo_scheme_path())

    def boom(chunk):
        raise ValueError("no")

    with pytest.raises(ValueError):
        stream.group_file(CASES, target, scheme, chunk_rows=3000, on_chunk=boom)
    assert list(tmp_path.iterdir()) == []


def test_write_table_is_atomic(tmp_path):
    target = tmp_path / "t.parquet"
    outputs.write_table(pd.DataFrame({"a": [1, 2]}), target)
    bad = pd.DataFrame({"a": [object(), object()]})  # Arrow cannot store it
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises
        outputs.write_table(bad, target)
    assert pd.read_parquet(target)["a"].tolist() == [1, 2]
    assert _leftovers(tmp_path) == []
    for suffix in (".csv", ".xlsx"):
        p = tmp_path / f"t{suffix}"
        outputs.write_table(pd.DataFrame({"病案号": ["A1"], "x": [1.5]}), p)
        back = pd.read_csv(p) if suffix == ".csv" else pd.read_excel(p)
        assert back.to_dict("list") == {"病案号": ["A1"], "x": [1.5]}


def test_unknown_extension_and_foreign_folder_refused(tmp_path):
    with pytest.raises(outputs.OutputError, match=r"'\.txt'.*allowed: \.csv, \.xlsx, \.parquet"):
        outputs.write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.txt")
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.docx").write_text("precious")
    with pytest.raises(outputs.OutputError, match="thesis.docx"), outputs.staged(home) as tmp:
        tmp.mkdir()
        (tmp / "report.html").write_text("x")
    assert (home / "thesis.docx").read_text() == "precious"
    assert _leftovers(tmp_path) == []


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    target = tmp_path / "out.csv"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = target.with_name(f".{target.name}{outputs.TMP_TAG}{dead}")
    stale.write_text("half")
    mine = outputs.temporary_for(target)  # a live process's temporary is left alone
    mine.write_text("in use")
    assert outputs.clean_stale(target) == 1
    assert not stale.exists() and mine.exists()


def _big_csv(tmp_path):
    df = pd.read_csv(CASES, dtype=str)
    big = pd.concat([df] * 6, ignore_index=True)
    big["case_id"] = [f"K{i}" for i in range(len(big))]
    p = tmp_path / "big.csv"
    big.to_csv(p, index=False)
    return p, len(big)


def _run_and_signal(tmp_path, sig):
    src, n = _big_csv(tmp_path)
    target = tmp_path / "out.parquet"
    pd.DataFrame({"case_id": ["old"]}).to_parquet(target)
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.Popen([sys.executable, "-c", "from drgsim.cli import main; main()", "group", str(src), "-s",
                             str(grouper.demo_scheme_path()), "-o", str(target), "-q",
                             "--chunk-rows", "500", "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    tmp = outputs.temporary_for(target).with_name(f".{target.name}{outputs.TMP_TAG}{proc.pid}")
    deadline = time.time() + 120
    while not tmp.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1].decode()  # still running, mid-write
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc, target, tmp, err.decode()


def test_terminated_run_cleans_up_and_keeps_previous(tmp_path):
    proc, target, tmp, err = _run_and_signal(tmp_path, signal.SIGTERM)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert pd.read_parquet(target)["case_id"].tolist() == ["old"]
    assert not tmp.exists()


def test_killed_run_keeps_previous_and_next_run_sweeps(tmp_path):
    proc, target, tmp, _ = _run_and_signal(tmp_path, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert pd.read_parquet(target)["case_id"].tolist() == ["old"]  # nothing complete-looking replaced it
    assert tmp.exists()  # SIGKILL cannot be caught: the hidden temporary stays until...
    assert outputs.clean_stale(target) == 1  # ...the next run sweeps it
    assert not tmp.exists()


def test_stale_price_scratch_is_swept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    old = tmp_path / f".drgsim-price-{dead}-abc"
    old.mkdir()
    (old / "readmit-000.arrow").write_bytes(b"x" * 100)
    live = tmp_path / (outputs.scratch_prefix("price") + "xyz")
    live.mkdir()
    assert outputs.sweep_scratch(tmp_path, "price") == 1
    assert not old.exists() and live.exists()
