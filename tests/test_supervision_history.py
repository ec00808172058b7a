"""Split admissions across the history boundary, and case-flag detail text in Chinese/English.

Hand-made cases: a stay in the last days of the history year and the same patient's readmission
early in the period pair; pairs inside the history alone are not listed; the hospital rates count
the period's stays only. The engine is also held to tests/naive_supervision.py on history +
period rows (the reference pairs over both, keeping pairs with a period stay).
"""

from __future__ import annotations

import datetime as dt

import naive_supervision as naive
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payment.signals import low_standard_admissions
from payment.signals_codes import all_signals, restricted_codes
from payment.signals_text import details
from payment.supervision import SupervisionPolicy, split_admissions

COLS = ["case_id", "hospital_id", "hospital_level", "patient_id", "admission_date",
        "discharge_date", "status", "mdc", "adrg"]


def frame(rows):
    return pd.DataFrame(rows, columns=COLS)


HIST = frame([
    ("h1", "H1", 3, "p1", "2023-12-20", "2023-12-28", "SUCCESS", "MDCF", "FM1"),  # pairs c1
    ("h2", "H1", 3, "p2", "2023-06-01", "2023-06-05", "SUCCESS", "MDCF", "FM1"),  # pairs h3
    ("h3", "H2", 3, "p2", "2023-06-08", "2023-06-10", "SUCCESS", "MDCF", "FM1"),  # history only
    ("h4", "H2", 3, "p3", "2023-12-30", "2023-12-31", "SUCCESS", "MDCF", "FR1"),  # other ADRG
])
CUR = frame([
    ("c0", "H1", 3, "p9", "2024-02-01", "2024-02-03", "SUCCESS", "MDCF", "FM1"),
    ("c1", "H2", 3, "p1", "2024-01-05", "2024-01-09", "SUCCESS", "MDCF", "FM1"),  # gap 8
    ("c2", "H2", 3, "p3", "2024-01-02", "2024-01-04", "SUCCESS", "MDCF", "FM1"),  # h4 is FR1
    ("c3", "H1", 3, "p2", "2024-03-01", "2024-03-02", "SUCCESS", "MDCF", "FM1"),  # too late
])


def test_pair_across_the_history_boundary():
    flags, hosp = split_admissions(CUR, history=HIST)
    assert list(zip(flags.case_id, flags.other_case_id, flags.gap_days, flags.period)) == [
        ("h1", "c1", 8, "history"), ("c1", "h1", 8, "current")]
    d = dict(zip(flags.case_id, flags.detail))
    assert d["h1"] == "next stay c1 at H2 admitted 8 days after this discharge"
    assert d["c1"] == "previous stay h1 at H1 discharged 8 days before this admission"
    z = dict(zip(flags.case_id, flags.detail_zh))
    assert z["h1"] == "下次住院 c1 (H2) 于本次出院后 8 天入院"
    assert z["c1"] == "上次住院 h1 (H1) 于本次入院前 8 天出院"
    h = hosp.set_index("hospital_id")
    # rates over the period's discharges: H2 has c1 in a pair (1 of 2), H1 none (h1 is history)
    assert (h.flagged_stays["H2"], h.discharges["H2"]) == (1, 2)
    assert (h.flagged_stays["H1"], h.discharges["H1"]) == (0, 2)
    assert h.value["H2"] == 0.5


def test_without_history_nothing_pairs():
    flags, hosp = split_admissions(CUR)
    assert flags.empty and hosp.flagged_stays.sum() == 0


def test_all_signals_passes_the_history_to_split_admissions():
    cur = CUR.assign(drg=CUR.adrg + "5", diagnoses="K35.0", los=3, total_cost=1000.0,
                     discharge_mode=1, sex=1, age=40)
    hist = HIST.assign(drg=HIST.adrg + "5", diagnoses="K35.0", los=3, total_cost=1000.0,
                       discharge_mode=1, sex=1, age=40)
    flags, _ = all_signals(cur, hist)
    split = flags[flags.signal == "split_admission"]
    assert set(split.case_id) == {"h1", "c1"}


def test_chinese_and_english_detail_hand_cases():
    df = pd.DataFrame({
        "case_id": ["m", "f"], "hospital_id": ["H1", "H1"], "hospital_level": [3, 3],
        "sex": [1, 2], "age": [40, 30], "diagnoses": ["O80.0", "K35.0"], "procedures": ""})
    flags, _ = restricted_codes(df)
    assert flags.detail.tolist() == ["diagnosis O80.0 requires sex == 2 (policy prefix O) but "
                                     "sex = 1"]
    assert flags.detail_zh.tolist() == ["诊断 O80.0 要求 性别 == 2 (policy prefix O), 但 性别 = 1"]
    # low-standard: one 1-day stay at 100 yuan in a DRG whose other stays (peers) are long
    rows = [("x", "H1", 1, 100.0)] + [(f"p{i}", "H2", 10, 1000.0) for i in range(6)]
    ls = pd.DataFrame(rows, columns=["case_id", "hospital_id", "los", "total_cost"]).assign(
        hospital_level=3, status="SUCCESS", drg="FM15")
    pol = SupervisionPolicy.model_validate({"low_standard_admission": {"min_stays": 1}})
    lf, _ = low_standard_admissions(ls, pol)
    mean = (100 + 6 * 1000) / 7  # 871.428... -> 871.43
    assert lf.case_id.tolist() == ["x"]
    assert lf.detail[0] == ("LOS 1 day(s), cost 100.00 yuan < 30% of FM15 region mean "
                            f"{mean:.2f}; peers mostly treat FM15 as a longer stay")
    assert lf.detail_zh[0] == ("住院 1 天, 费用 100.00 元 < FM15 全区均值 871.43 元的 30%; "
                               "同级医院该组多为较长住院")


def test_fixed_two_decimals_and_languages():
    got = details("low_standard", "en", 2, los=np.array([0, 2]), cost=np.array([0.0, 1234.5]),
                  share="30%", group=np.array(["A", "B"], dtype=object),
                  mean=np.array([np.nan, 99.999]))
    assert got.tolist() == [
        "LOS 0 day(s), cost 0.00 yuan < 30% of A region mean nan; peers mostly treat A as a "
        "longer stay",
        "LOS 2 day(s), cost 1234.50 yuan < 30% of B region mean 100.00; peers mostly treat B "
        "as a longer stay"]


stay = st.tuples(
    st.sampled_from(["H1", "H2", "H3"]), st.sampled_from(["p1", "p2", ""]),
    st.integers(-2, 16), st.integers(0, 5), st.sampled_from(["SUCCESS", "SUCCESS", "QY"]),
    st.sampled_from([("MDCF", "FM1"), ("MDCF", "FR1"), ("MDCR", "RB1")]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(stay, min_size=1, max_size=30), st.integers(0, 30))
def test_property_history_and_period_equal_reference(stays, cut):
    base = dt.date(2023, 12, 1)
    level = {"H1": 3, "H2": 3, "H3": 2}
    last, rows = {}, []
    for i, (h, p, gap, los, s, (m, ad)) in enumerate(stays):
        adm = last.get(p, base) + dt.timedelta(days=gap)
        dis = adm + dt.timedelta(days=los)
        last[p] = dis
        rows.append((f"c{i}", h, level[h], p, adm.isoformat(), dis.isoformat(), s, m, ad))
    boundary = (base + dt.timedelta(days=cut)).isoformat()
    hist = frame([r for r in rows if r[4] < boundary])
    cur = frame([r for r in rows if r[4] >= boundary])
    if cur.empty:
        return
    sp = SupervisionPolicy().split_admission
    hrows, crows = hist.to_dict("records"), cur.to_dict("records")
    cur_ids = {r["case_id"] for r in crows}
    ref = [p for p in naive.split_pairs(hrows + crows, sp.window_days, sp.match, sp.exempt_adrgs)
           if p[0] in cur_ids or p[1] in cur_ids]
    flags, hosp = split_admissions(cur, history=hist)
    got = sorted(zip(flags.case_id, flags.other_case_id, flags.gap_days))
    assert got == sorted([(a, b, g) for a, b, g in ref] + [(b, a, g) for a, b, g in ref])
    assert set(flags.case_id[flags.period == "history"]) <= set(hist.case_id)
    want = naive.hospital_signal(crows, ref, sp.flag_score, sp.min_stays, sp.min_scale)
    for rec in hosp.to_dict("records"):
        r = want[rec["hospital_id"]]
        assert (rec["flagged_stays"], rec["discharges"]) == (r["flagged_stays"], r["discharges"])


def test_two_decimals_round_like_python_format():
    xs = np.array([6060.025, 0.125, 2.675, 1.005, 12.345, 871.4285714, 1e6 + 0.015])
    got = details("low_standard", "en", len(xs), los=np.zeros(len(xs), dtype=np.int64),
                  cost=xs, share="30%", group=np.array(["A"] * len(xs), dtype=object),
                  mean=xs)
    assert [g.split(" ")[4] for g in got] == [f"{x:.2f}" for x in xs]
