"""The drill-down's supervision signals (issue 16 item 5) against payment's signals.

The demo region's hospitals get, per signal, the value, peer value, score and flag that
``payment.signals_codes.all_signals`` computes for the settlement year with the year before as
the history (what ``drgsim supervise`` runs), and exactly the case flags it lists for them. A
priced-only region names each signal it cannot give and why.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("fastapi")
from dashboard_shared import dashboard_client, demo_dashboard  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import grouper  # noqa: E402
from drgsim.dashboard import Dashboard, create_app, scenario_from_args  # noqa: E402
from drgsim.supervision_run import cc_codes_from_scheme, restrictions_from_scheme  # noqa: E402
from payment.indices import history_rw  # noqa: E402
from payment.signals_codes import all_signals  # noqa: E402
from payment.supervision import SIGNALS  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "sample_cases" / "cases.csv"
dash = pytest.fixture(scope="module", name="dash")(demo_dashboard)
client = pytest.fixture(scope="module", name="client")(dashboard_client)


@pytest.fixture(scope="module")
def expected(dash: Dashboard) -> tuple[pd.DataFrame, pd.DataFrame]:
    """payment's signals of the demo's 2025 cases, 2024 as the history (grouped afresh)."""
    scheme = grouper.load_scheme(grouper.demo_scheme_path())
    cases = grouper.read_cases(dash.scenario.path(dash.scenario.cases))
    g = grouper.group(cases, scheme, keep_columns=True)
    year = pd.to_numeric(g["year"])
    cur = g[year == 2025].reset_index(drop=True)
    hist = g[year == 2024].reset_index(drop=True)
    flags, hosp = all_signals(cur, hist, weights=history_rw(hist, "drg")[["group", "rw"]],
                              cc_codes=cc_codes_from_scheme(scheme),
                              restrictions=restrictions_from_scheme(scheme))
    return flags, hosp


def test_signals_equal_payment_for_every_hospital(client: TestClient, dash: Dashboard,
                                                 expected) -> None:
    flags, hosp = expected
    assert hosp["flagged"].sum() >= 1  # the demo has a flagged hospital (H010, low standard)
    cur_flags = flags[flags["period"].astype(str) != "history"]
    for h in dash.base.cells.inputs.hospital_ids:
        h = str(h)
        d = client.get(f"/api/hospital/{h}/supervision?cases=500").json()
        assert d["unavailable"] == []
        want = hosp[hosp["hospital_id"].astype(str) == h].set_index("signal")
        assert [s["signal"] for s in d["signals"]] == list(SIGNALS)
        mine = cur_flags[cur_flags["hospital_id"].astype(str) == h]
        for s in d["signals"]:
            w = want.loc[s["signal"]]
            for k in ("value", "peer_value", "score"):
                assert s[k] == (None if pd.isna(w[k]) else float(w[k])), (h, s["signal"], k)
            assert s["flagged"] is bool(w["flagged"])
            listed = mine[mine["signal"] == s["signal"]]
            assert s["flagged_cases"] == listed["case_id"].nunique()
            got = [(c["case_id"], c["detail"], c["detail_zh"]) for c in d["cases"]
                   if c["signal"] == s["signal"]]
            assert got == list(zip(listed["case_id"].astype(str), listed["detail"],
                                   listed["detail_zh"], strict=True))
        assert d["flagged_cases"] == mine["case_id"].nunique()


def test_flagged_hospital_and_case_order(client: TestClient, expected) -> None:
    _, hosp = expected
    fl = hosp[hosp["flagged"]]
    h, sig = str(fl["hospital_id"].iloc[0]), fl["signal"].iloc[0]
    d = client.get(f"/api/hospital/{h}/supervision?cases=2").json()
    row = next(s for s in d["signals"] if s["signal"] == sig)
    assert row["flagged"] is True and row["score"] >= 3.0 and row["flagged_cases"] >= 3
    assert d["cases"][0]["signal"] == sig  # a flagged signal's cases come first
    per = pd.Series([c["signal"] for c in d["cases"]]).value_counts()
    assert per.max() <= 2
    assert client.get(f"/api/hospital/{h}/supervision?cases=0").json()["cases"] == []


def test_computed_once_and_levers_do_not_move_it(client: TestClient, dash: Dashboard) -> None:
    first = dash.supervision().held()
    a = client.get("/api/hospital/H001/supervision").json()
    client.post("/api/answer", json={"levers": {"settlement.reserve_rate": 0.02,
                                                "whatif.volume_growth": 0.05}})
    b = client.get("/api/hospital/H001/supervision").json()
    assert dash.supervision().held() is first
    assert a["signals"] == b["signals"] and a["computed_ms"] == b["computed_ms"]


def test_unknown_hospital_and_bad_limit(client: TestClient) -> None:
    r = client.get("/api/hospital/NOPE/supervision")
    assert r.status_code == 404 and "NOPE" in r.json()["detail"]
    assert client.get("/api/hospital/H001/supervision?cases=-1").status_code == 422


def test_priced_only_region_names_what_each_signal_lacks(tmp_path, dash: Dashboard) -> None:
    p = tmp_path / "priced.csv"
    dash.base.priced.to_csv(p, index=False)
    c = TestClient(create_app(Dashboard(scenario_from_args(None, p, None))))
    d = c.get("/api/hospital/H001/supervision").json()
    assert d["signals"] == [] and d["cases"] == []
    why = {u["signal"]: u["reason"] for u in d["unavailable"]}
    assert set(why) == set(SIGNALS)
    assert "patient_id" in why["split_admission"]
    assert "status" in why["low_standard_admission"]
    assert "diagnoses" in why["restricted_code"]
    # a priced file that carries the diagnoses, sex and age: restricted codes run (policy
    # prefixes, no scheme), the others still say what is missing
    cur = dash.current_cases()
    extra = dash.base.priced.assign(diagnoses=cur["diagnoses"].to_numpy(),
                                    sex=cur["sex"].to_numpy(), age=cur["age"].to_numpy())
    extra.to_csv(p, index=False)
    c = TestClient(create_app(Dashboard(scenario_from_args(None, p, None))))
    d = c.get("/api/hospital/H001/supervision").json()
    assert [s["signal"] for s in d["signals"]] == ["restricted_code"]
    assert {u["signal"] for u in d["unavailable"]} == set(SIGNALS) - {"restricted_code"}
    assert any("no scheme" in n for n in d["notes"])


def test_same_as_drgsim_supervise_on_the_files(tmp_path, client: TestClient) -> None:
    """`drgsim supervise 2025.csv --history 2024.csv -s demo` writes the drill-down's numbers."""
    from typer.testing import CliRunner

    from drgsim import cli

    raw = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    raw[raw.year == "2025"].to_csv(tmp_path / "c.csv", index=False)
    raw[raw.year == "2024"].to_csv(tmp_path / "h.csv", index=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli.app, ["supervise", str(tmp_path / "c.csv"), "-s", "demo",
                                       "--history", str(tmp_path / "h.csv"), "-o", str(out),
                                       "-q", "--max-explained", "0"])
    assert res.exit_code == 0, res.output
    hs = pd.read_csv(out / "hospital_signals.csv", dtype={"hospital_id": str, "flagged": str})
    cf = pd.read_csv(out / "case_flags.csv", dtype=str, keep_default_na=False)
    cf = cf[cf["period"] != "history"]
    for h, want in hs.groupby("hospital_id"):
        d = client.get(f"/api/hospital/{h}/supervision").json()
        got = {s["signal"]: s for s in d["signals"]}
        for w in want.itertuples():
            s = got[w.signal]
            assert s["value"] == pytest.approx(w.value, rel=1e-12, abs=0)
            assert s["score"] == pytest.approx(w.score, rel=1e-12, abs=0)
            assert s["flagged"] is (w.flagged == "true")
            mine = cf[(cf["hospital_id"] == h) & (cf["signal"] == w.signal)]
            assert s["flagged_cases"] == mine["case_id"].nunique()
