"""benchmarks/probe_hostile.py --quick on a tiny set: it runs real drgsim processes and its three
figures (tracebacks, planted caches that ran code, partial outputs) come out 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from shared_data import ROOT


@pytest.mark.slow
def test_quick_probe_on_a_tiny_set(tmp_path):
    report = tmp_path / "report.json"
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "probe_hostile.py"), "--quick", "-o", str(report),
         "--kinds", "garbage.csv,formula.xlsx", "--commands", "group", "--plants", "pickle payload",
         "--kills", "group csv SIGKILL", "--copies", "4"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=dict(os.environ))
    assert r.returncode == 0, r.stdout + r.stderr
    got = json.loads(report.read_text(encoding="utf-8"))
    assert got["figures"] == {"bad files × commands runs with tracebacks": 0,
                              "planted caches that ran code": 0,
                              "partial outputs after failure or kill": 0}
    files, caches, kills = got["files"]["runs"], got["caches"]["runs"], got["kills"]["runs"]
    assert [(x["file"], x["exit"]) for x in files] == [("garbage.csv", 2), ("formula.xlsx", 0)]
    assert caches[0]["plant"] == "pickle payload" and caches[0]["exit"] == 0
    assert not caches[0]["ran_code"] and not caches[0]["wrong_groups"] and caches[0]["warning"]
    k = kills[0]
    assert k["caught_mid_write"] and k["signalled"] and k["exit"] == -9 and k["previous_output_kept"]
    assert k["temporaries_left"] and k["temporaries_after_next_run"] == [] and k["new_visible"] == []
    assert "bad files × commands: 2 runs" in r.stdout and "planted caches: 1, 0 ran code" in r.stdout
