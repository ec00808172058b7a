"""§10 split-admission signal: hand-computed pairs and scores, engine against the reference."""

from __future__ import annotations

import datetime as dt

import naive_supervision as naive
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payment.policy import PolicyError
from payment.supervision import (
    CASE_FLAG_COLUMNS,
    HOSPITAL_SIGNAL_COLUMNS,
    SupervisionPolicy,
    load_supervision_policy,
    peer_values,
    robust_scores,
    split_admissions,
)

COLS = ["case_id", "hospital_id", "hospital_level", "patient_id", "admission_date",
        "discharge_date", "status", "mdc", "adrg"]


def frame(rows):
    return pd.DataFrame(rows, columns=COLS)


CASES = frame([
    # p1: a -> b gap 14 (pair, across hospitals), b -> c gap 15 (no pair)
    ("a", "H1", 3, "p1", "2024-01-01", "2024-01-05", "SUCCESS", "MDCF", "FM1"),
    ("b", "H2", 3, "p1", "2024-01-19", "2024-01-20", "SUCCESS", "MDCF", "FM1"),
    ("c", "H1", 3, "p1", "2024-02-04", "2024-02-06", "SUCCESS", "MDCF", "FM1"),
    # p2: gap 0 but chemotherapy (exempt)
    ("d", "H1", 3, "p2", "2024-01-01", "2024-01-03", "SUCCESS", "MDCR", "RB1"),
    ("e", "H1", 3, "p2", "2024-01-03", "2024-01-05", "SUCCESS", "MDCR", "RB1"),
    # p3: gap 3, same MDC, different ADRG (pair only with match = "mdc")
    ("f", "H2", 3, "p3", "2024-05-01", "2024-05-04", "SUCCESS", "MDCF", "FM1"),
    ("g", "H2", 3, "p3", "2024-05-07", "2024-05-09", "SUCCESS", "MDCF", "FR1"),
    # p4: gap 2 but the second stay is not grouped
    ("h", "H1", 3, "p4", "2024-06-01", "2024-06-02", "SUCCESS", "MDCF", "FM1"),
    ("i", "H1", 3, "p4", "2024-06-04", "2024-06-05", "QY", "", ""),
    # p5: overlapping stays (negative gap), then the next one 0 days after, listed out of order
    ("k", "H2", 3, "p5", "2024-07-05", "2024-07-06", "SUCCESS", "MDCF", "FM1"),
    ("j", "H2", 3, "p5", "2024-07-01", "2024-07-10", "SUCCESS", "MDCF", "FM1"),
    ("l", "H2", 3, "p5", "2024-07-10", "2024-07-12", "SUCCESS", "MDCF", "FM1"),
    # no patient id: never paired
    ("m", "H1", 3, "", "2024-07-12", "2024-07-13", "SUCCESS", "MDCF", "FM1"),
])


def test_pairs_hand_computed():
    flags, hosp = split_admissions(CASES)
    assert list(flags.columns[:3]) == list(CASE_FLAG_COLUMNS)
    pairs = set(zip(flags.case_id, flags.other_case_id, flags.gap_days))
    # j (07-01..07-10) is followed by k (admitted 07-05: overlap, no pair), k by l (gap 4)
    assert pairs == {("a", "b", 14), ("b", "a", 14), ("k", "l", 4), ("l", "k", 4)}
    assert list(flags.case_id) == ["a", "b", "k", "l"]  # input order of the stays
    d = dict(zip(flags.case_id, flags.detail))
    assert d["a"] == "next stay b at H2 admitted 14 days after this discharge"
    assert d["b"] == "previous stay a at H1 discharged 14 days before this admission"
    assert set(flags.signal) == {"split_admission"}
    assert list(hosp.columns[:6]) == list(HOSPITAL_SIGNAL_COLUMNS)
    h = hosp.set_index("hospital_id")
    # H1: 7 discharges, one stay (a) in a pair; H2: 6 discharges, three stays (b, k, l)
    assert (h.flagged_stays["H1"], h.discharges["H1"]) == (1, 7)
    assert (h.flagged_stays["H2"], h.discharges["H2"]) == (3, 6)
    assert h.value["H1"] == pytest.approx(1 / 7)
    assert h.peer_value["H1"] == pytest.approx(3 / 6)
    assert h.peer_value["H2"] == pytest.approx(1 / 7)


def test_match_mdc_and_window_policy():
    mdc = SupervisionPolicy.model_validate({"split_admission": {"match": "mdc"}})
    flags, _ = split_admissions(CASES, mdc)
    assert {"f", "g"} <= set(flags.case_id)
    short = SupervisionPolicy.model_validate({"split_admission": {"window_days": 13}})
    flags, _ = split_admissions(CASES, short)
    assert set(flags.case_id) == {"k", "l"}
    none_exempt = SupervisionPolicy.model_validate({"split_admission": {"exempt_adrgs": []}})
    flags, _ = split_admissions(CASES, none_exempt)
    assert {"d", "e"} <= set(flags.case_id)


def test_robust_score_and_peers_hand_computed():
    v = np.array([0.0, 0.1, 0.2, 0.9, 0.5])
    lvl = np.array([3, 3, 3, 3, 2])
    s = robust_scores(v, lvl, 0.005)
    # level 3: median 0.15, MAD median(0.15, 0.05, 0.05, 0.75) = 0.1, scale 0.14826
    assert s[3] == pytest.approx(0.75 / 0.14826)
    assert s[0] == pytest.approx(-0.15 / 0.14826)
    assert s[4] == 0.0  # alone in its level
    pv = peer_values(np.array([1, 3, 0]), np.array([10, 10, 5]), np.array([3, 3, 2]))
    assert pv[0] == pytest.approx(0.3) and pv[1] == pytest.approx(0.1) and np.isnan(pv[2])


def test_flag_needs_score_and_min_stays():
    rows = []
    for h in range(6):  # six level-2 hospitals, 10 stays each, one patient per stay
        for i in range(10):
            rows.append((f"H{h}-{i}", f"H{h}", 2, f"P{h}-{i}", "2024-01-01", "2024-01-02",
                         "SUCCESS", "MDCF", "FM1"))
    # H0: four of its stays are two split pairs (readmitted 3 days later)
    for i in range(2):
        rows.append((f"H0-r{i}", "H0", 2, f"P0-{i}", "2024-01-05", "2024-01-06", "SUCCESS",
                     "MDCF", "FM1"))
    _, hosp = split_admissions(frame(rows))
    h = hosp.set_index("hospital_id")
    assert h.flagged_stays["H0"] == 4 and h.value["H0"] == pytest.approx(4 / 12)
    # MAD 0 among the others -> scale = min_scale
    assert h.score["H0"] == pytest.approx((4 / 12) / 0.005)
    assert list(hosp.hospital_id[hosp.flagged]) == ["H0"]
    strict = SupervisionPolicy.model_validate({"split_admission": {"min_stays": 5}})
    _, hosp = split_admissions(frame(rows), strict)
    assert not hosp.flagged.any()


def test_policy_file_errors(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('[supervision.split_admission]\nmatch = "drg"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"supervision\.split_admission\.match"):
        load_supervision_policy(p)
    p.write_text('[supervision.split_admission]\nwindow_days = "14"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="window_days"):
        load_supervision_policy(p)
    p.write_text('[supervision.split_admission]\nwindow_days = 7\nexempt_adrgs = ["LL1"]\n',
                 encoding="utf-8")
    sp = load_supervision_policy(p).split_admission
    assert (sp.window_days, sp.exempt_adrgs, sp.match) == (7, ["LL1"], "adrg")
    with pytest.raises(KeyError, match="patient_id"):
        split_admissions(CASES.drop(columns="patient_id"))


def _compare(df, policy):
    sp = policy.split_admission
    rows = df.to_dict("records")
    ref_pairs = naive.split_pairs(rows, sp.window_days, sp.match, sp.exempt_adrgs)
    flags, hosp = split_admissions(df, policy)
    got = sorted(zip(flags.case_id[::1], flags.other_case_id, flags.gap_days))
    want = sorted([(a, b, g) for a, b, g in ref_pairs] + [(b, a, g) for a, b, g in ref_pairs])
    assert got == want
    ref = naive.hospital_signal(rows, ref_pairs, sp.flag_score, sp.min_stays, sp.min_scale)
    assert len(hosp) == len(ref)
    for rec in hosp.to_dict("records"):
        r = ref[rec["hospital_id"]]
        assert rec["value"] == pytest.approx(r["value"])
        assert rec["score"] == pytest.approx(r["score"], abs=1e-9)
        assert (rec["flagged_stays"], rec["discharges"]) == (r["flagged_stays"],
                                                            r["discharges"])
        if r["peer_value"] is None:
            assert np.isnan(rec["peer_value"])
        else:
            assert rec["peer_value"] == pytest.approx(r["peer_value"])
        if abs(r["score"] - sp.flag_score) > 1e-9:
            assert bool(rec["flagged"]) == r["flagged"]


def test_reference_on_hand_data():
    _compare(CASES, SupervisionPolicy())
    _compare(CASES, SupervisionPolicy.model_validate({"split_admission": {"match": "mdc"}}))


stay = st.tuples(
    st.sampled_from(["H1", "H2", "H3", "H4"]), st.sampled_from(["p1", "p2", "p3", ""]),
    st.integers(-3, 18), st.integers(0, 6), st.sampled_from(["SUCCESS", "SUCCESS", "QY"]),
    st.sampled_from([("MDCF", "FM1"), ("MDCF", "FM1"), ("MDCF", "FR1"), ("MDCR", "RB1")]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(stay, min_size=1, max_size=40), st.sampled_from(["adrg", "mdc"]),
       st.sampled_from([0, 3, 14]))
def test_property_engine_equals_reference(stays, match, window):
    # each stay starts `gap` days after the patient's previous discharge (so gaps at and around
    # the window, and overlaps, are common); rows are then shuffled by the draw order of hospitals
    base = dt.date(2024, 1, 1)
    level = {"H1": 3, "H2": 3, "H3": 2, "H4": 3}
    last = {}
    rows = []
    for i, (h, p, gap, los, s, (m, ad)) in enumerate(stays):
        adm = last.get(p, base) + dt.timedelta(days=gap)
        dis = adm + dt.timedelta(days=los)
        last[p] = dis
        rows.append((f"c{i}", h, level[h], p, adm.isoformat(), dis.isoformat(), s, m, ad))
    rows.sort(key=lambda r: r[1])
    policy = SupervisionPolicy.model_validate(
        {"split_admission": {"match": match, "window_days": window, "min_stays": 1}})
    _compare(frame(rows), policy)
