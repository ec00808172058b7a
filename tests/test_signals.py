"""§10 signals upcoding, low-standard admission, patient selection, restricted codes:
hand-computed numbers, the [supervision] sub-tables, and the engine held to naive_signals."""

from __future__ import annotations

import math

import naive_signals as naive
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payment.policy import PolicyError
from payment.signals import low_standard_admissions, patient_selection, upcoding
from payment.signals_codes import SignalsUnavailable, all_signals, restricted_codes
from payment.supervision import (
    CASE_FLAG_COLUMNS,
    HOSPITAL_SIGNAL_COLUMNS,
    SIGNALS,
    SupervisionPolicy,
    load_supervision_policy,
)

COLS = ["case_id", "hospital_id", "hospital_level", "patient_id", "sex", "age", "los",
        "discharge_mode", "diagnoses", "procedures", "total_cost", "admission_date",
        "discharge_date", "status", "mdc", "adrg", "drg"]


def frame(rows):
    return pd.DataFrame(rows, columns=COLS)


def case(cid, h, drg, dx, *, level=2, pid="", sex=1, age=50, los=5, mode=1, cost=1000.0,
         adm="2024-03-01", dis="2024-03-06", status="SUCCESS", pr=""):
    return (cid, h, level, pid, sex, age, los, mode, dx, pr, cost, adm, dis, status,
            "MDCF", drg[:3], drg)


def policy(**tables):
    return SupervisionPolicy.model_validate(tables)


def by_h(df):
    return df.set_index("hospital_id")


# ---------------------------------------------------------------- upcoding, by hand

UP = frame([
    case("a1", "H1", "FM11", "I21.0|J18.0|I50.0", pid="p1", adm="2024-03-01"),
    case("a2", "H1", "FM13", "I21.0|N17.9|I50.0", pid="p2"),
    case("a3", "H1", "FM11", "I21.0|I50.0|X99.9", pid="p3"),
    case("a4", "H1", "FM15", "I21.0|A00.0|B00.0", pid="p4"),
    *[case(f"b{i}", "H2", d, "I21.0") for i, d in enumerate(("FM11", "FM15", "FM15", "FM15"))],
    *[case(f"c{i}", "H3", d, "I21.0") for i, d in enumerate(("FM13", "FM15", "FM15", "FM15"))],
])
UP_HIST = frame([
    case("h1", "H1", "FM15", "I21.0|J18.0", pid="p1", adm="2023-05-01", dis="2023-05-04"),
    case("h2", "H1", "FM15", "I21.0", pid="p9", adm="2023-06-01", dis="2023-06-04"),
])
CC = ["J18.0", "I50.0", "N17.9"]


def test_upcoding_hand_computed():
    pol = policy(upcoding={"min_cases": 4})
    flags, hosp = upcoding(UP, cc_codes=CC, policy=pol)
    assert list(hosp.columns[:6]) == list(HOSPITAL_SIGNAL_COLUMNS)
    h = by_h(hosp)
    # shares 3/4, 1/4, 1/4: median 1/4, MAD 0 -> floor 0.02: z = 0.5 / 0.02 = 25
    # secondary counts 2, 0, 0: floor 0.1: z = 2 / 0.1 = 20; score = (25 + 20) / 2
    assert h.loc["H1", "value"] == pytest.approx(0.75)
    assert h.loc["H1", "peer_value"] == pytest.approx(2 / 8)
    assert h.loc["H1", "sdx_mean"] == pytest.approx(2.0)
    assert h.loc["H1", "score"] == pytest.approx(22.5)
    assert h.loc["H2", "score"] == pytest.approx(0.0)
    assert list(h["flagged"]) == [True, False, False]
    # no history: a1 (J18.0, I50.0), a2 (N17.9, I50.0), a3 (I50.0; X99.9 is no CC) listed
    assert list(flags.case_id) == ["a1", "a2", "a3"]
    assert list(flags.columns[:3]) == list(CASE_FLAG_COLUMNS)
    assert "I50.0" in flags.detail.iloc[2] and "X99.9" not in flags.detail.iloc[2]


def test_upcoding_history_supports_codes():
    pol = policy(upcoding={"min_cases": 4, "rare_share": 0.5})
    flags, hosp = upcoding(UP, UP_HIST, cc_codes=CC, policy=pol)
    # p1 had J18.0 before: a1 supported. J18.0 is on 1 of H1's 2 history rows (0.5 >= 0.5),
    # so no code of a2/a3 is common there (I50.0, N17.9 are absent): a2, a3 listed
    assert list(flags.case_id) == ["a2", "a3"]
    h = by_h(hosp)
    # previous share of H1 = 0 (both FM15): change 0.75; H2, H3 have no history -> NaN parts
    assert h.loc["H1", "prev_value"] == pytest.approx(0.0)
    assert math.isnan(h.loc["H2", "prev_value"])
    # change parts: only H1 has one, its own median: z = 0; score = (25 + 20 + 0 + 0) / 4
    assert h.loc["H1", "score"] == pytest.approx(11.25)


# ---------------------------------------------------------------- low-standard, by hand

def test_low_standard_hand_computed():
    rows = []
    # DRG XX15: peers (H2, H3 at level 2) treat it as long stays; mean cost over all 9 cases
    rows += [case(f"h1_{i}", "H1", "XX15", "A", los=1, cost=100.0) for i in range(3)]
    rows += [case(f"h2_{i}", "H2", "XX15", "A", los=8, cost=2000.0) for i in range(3)]
    rows += [case(f"h3_{i}", "H3", "XX15", "A", los=8, cost=2000.0) for i in range(3)]
    # DRG YY15: everyone short and cheap-ish -> peers do not treat it as longer
    rows += [case(f"y{h}", h, "YY15", "A", los=1, cost=10.0) for h in ("H1", "H2", "H3")]
    rows += [case("y_big", "H2", "YY15", "A", los=1, cost=1000.0)]
    df = frame(rows)
    pol = policy(low_standard_admission={"min_stays": 3, "min_peer_cases": 5})
    flags, hosp = low_standard_admissions(df, pol)
    # XX15 mean = (300 + 12000) / 9 = 1366.67; 30 % = 410; H1's 100-yuan 1-day stays qualify
    assert sorted(flags.case_id) == ["h1_0", "h1_1", "h1_2"]
    h = by_h(hosp)
    assert h.loc["H1", "value"] == pytest.approx(3 / 4)
    # values 0.75, 0, 0 at level 2: median 0, MAD 0 -> floor 0.005
    assert h.loc["H1", "score"] == pytest.approx(0.75 / 0.005)
    assert h.loc["H1", "peer_value"] == pytest.approx(0.0)
    assert bool(h.loc["H1", "flagged"]) and not bool(h.loc["H2", "flagged"])
    # an exempt ADRG lists nothing
    pol = policy(low_standard_admission={"min_stays": 3, "exempt_adrgs": ["XX1"]})
    flags, hosp = low_standard_admissions(df, pol)
    assert flags.empty and not hosp.flagged.any()


# ---------------------------------------------------------------- patient selection, by hand

def test_patient_selection_hand_computed():
    rw = pd.DataFrame({"group": ["HI11", "LO15"], "rw": [2.5, 0.5]})
    rows = []
    for h, n_hi, n_tr in (("H1", 0, 3), ("H2", 2, 0), ("H3", 2, 0)):
        for i in range(4):
            rows.append(case(f"{h}_{i}", h, "HI11" if i < n_hi else "LO15", "A",
                             mode=2 if i < n_tr else 1))
    df = frame(rows)
    pol = policy(patient_selection={"min_cases": 4})
    flags, hosp = patient_selection(df, weights=rw, policy=pol)
    h = by_h(hosp)
    # high shares 0, .5, .5: median .5, MAD 0 -> floor .01: -z(H1) = 50
    # transfer shares .75, 0, 0: z = 75 -> score = max(50, 75)
    assert h.loc["H1", "value"] == pytest.approx(0.0)
    assert h.loc["H1", "peer_value"] == pytest.approx(0.5)
    assert h.loc["H1", "transfer_share"] == pytest.approx(0.75)
    assert h.loc["H1", "score"] == pytest.approx(75.0)
    assert list(h["flagged"]) == [True, False, False]
    assert list(flags.case_id) == ["H1_0", "H1_1", "H1_2"]


# ---------------------------------------------------------------- restricted codes, by hand

def test_restricted_codes_hand_computed():
    df = frame([
        case("m1", "H1", "FM15", "I21.0|N40.x00", sex=2),      # male-only code on a woman
        case("m2", "H1", "FM15", "O80.000", sex=1),            # pregnancy code on a man
        case("m3", "H1", "FM15", "P07.000", age=40),           # newborn code on an adult
        case("m4", "H1", "FM15", "P07.000", age=0),            # fine
        case("m5", "H2", "FM15", "O80.000", sex=9),            # sex unknown: not judged
        case("m6", "H2", "FM15", "N40.x00", sex=1),            # fine
    ])
    table = pd.DataFrame({"code": ["N40.x00", "P07.000"], "kind": "dx", "field": ["sex", "age"],
                          "cmp": "==", "value": [1, 0]})
    flags, hosp = restricted_codes(df, table, policy(restricted_code={"min_cases": 1}))
    assert list(zip(flags.case_id, flags.code)) == [("m1", "N40.x00"), ("m2", "O80.000"),
                                                    ("m3", "P07.000")]
    assert "sex = 2" in flags.detail.iloc[0] and "age = 40" in flags.detail.iloc[2]
    h = by_h(hosp)
    assert h.loc["H1", "value"] == pytest.approx(3 / 4)
    assert h.loc["H1", "flagged_cases"] == 3
    # two level-2 hospitals: median (0.75 + 0) / 2, MAD 0.375 -> scale 0.556
    assert h.loc["H1", "score"] == pytest.approx(0.375 / (1.4826 * 0.375))


def test_restriction_table_checked():
    bad = pd.DataFrame({"code": ["X"], "kind": "dx", "field": ["weight"], "cmp": "==",
                        "value": [1]})
    with pytest.raises(ValueError, match="unknown field"):
        restricted_codes(frame([case("a", "H1", "FM15", "X")]), bad)


def test_all_signals_columns_and_order():
    flags, hosp = all_signals(UP, cc_codes=CC, policy=policy(upcoding={"min_cases": 4}))
    assert list(hosp.columns[:6]) == list(HOSPITAL_SIGNAL_COLUMNS)
    assert list(dict.fromkeys(hosp.signal)) == list(SIGNALS)
    assert len(hosp) == 3 * len(SIGNALS)
    assert set(flags.signal) == {"upcoding"}


def test_policy_subtables_validated(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[supervision.upcoding]\nflag_score = 2.5\nlist_cases = 'all'\n"
                 "[supervision.restricted_code]\nfemale_prefixes = ['O']\n", encoding="utf-8")
    pol = load_supervision_policy(p)
    assert pol.upcoding.flag_score == 2.5 and pol.restricted_code.female_prefixes == ["O"]
    for body, key in (("[supervision.upcoding]\nlist_cases = 'some'\n", "upcoding.list_cases"),
                      ("[supervision.low_standard_admission]\ncost_share = 1.5\n",
                       "low_standard_admission.cost_share"),
                      ("[supervision.patient_selection]\nhigh_rw = 'x'\n",
                       "patient_selection.high_rw"),
                      ("[supervision.restricted_code]\nextra = 1\n", "restricted_code.extra")):
        p.write_text(body, encoding="utf-8")
        with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
            load_supervision_policy(p)


# ---------------------------------------------------------------- property tests

HOSP = {"H1": 1, "H2": 1, "H3": 2, "H4": 2, "H5": 2}
CODES = ["A01", "B02", "J18.0", "I50.0", "N40.1", "O80.0", "P07.0"]
DRGS = ["FM11", "FM13", "FM15", "XX19", "YY11", ""]


@st.composite
def rows_st(draw, prefix="c"):
    n = draw(st.integers(1, 40))
    out = []
    for i in range(n):
        h = draw(st.sampled_from(sorted(HOSP)))
        dx = draw(st.lists(st.sampled_from(CODES), min_size=0, max_size=4))
        day = draw(st.integers(1, 28))
        out.append(case(
            f"{prefix}{i}", h, draw(st.sampled_from(DRGS)), "|".join(dx), level=HOSP[h],
            pid=draw(st.sampled_from(["", "p1", "p2", "p3", "p4"])),
            sex=draw(st.sampled_from([1, 2, 9])), age=draw(st.sampled_from([0, 5, 40, 80])),
            los=draw(st.integers(0, 9)), mode=draw(st.sampled_from([1, 2, 4])),
            cost=float(draw(st.integers(0, 5000))), adm=f"2024-02-{day:02d}",
            dis=f"2024-03-{day:02d}", status=draw(st.sampled_from(["SUCCESS"] * 4 + ["QY"]))))
    return frame(out)


def _recs(df):
    return df.to_dict("records")


def _same(engine: pd.DataFrame, ref: dict, cols=("value", "peer_value", "score")):
    e = by_h(engine)
    assert set(e.index) == set(ref)
    for h, d in ref.items():
        for c in cols:
            a, b = float(e.loc[h, c]), float(d[c])
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-9), (
                h, c, a, b)
        assert bool(e.loc[h, "flagged"]) == bool(d["flagged"]), h


PROP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROP
@given(rows_st(), st.one_of(st.none(), rows_st("h")), st.booleans())
def test_upcoding_matches_reference(df, hist, all_cases):
    pol = policy(upcoding={"min_cases": 2, "flag_score": 1.0, "rare_share": 0.3,
                           "list_cases": "all" if all_cases else "flagged"})
    if hist is not None:
        hist = hist.assign(admission_date="2023-01-01", discharge_date="2023-01-05")
    flags, hosp = upcoding(df, hist, cc_codes=["J18.0", "I50.0", "P07.0"], policy=pol)
    ref, listed = naive.upcoding(_recs(df), None if hist is None else _recs(hist),
                                 cc_codes=["J18.0", "I50.0", "P07.0"], min_cases=2,
                                 flag_score=1.0, rare_share=0.3,
                                 list_cases="all" if all_cases else "flagged")
    _same(hosp, ref)
    assert list(flags.case_id) == listed


@PROP
@given(rows_st())
def test_low_standard_matches_reference(df):
    pol = policy(low_standard_admission={"min_peer_cases": 1, "min_stays": 1,
                                         "peer_short_share": 0.6, "cost_share": 0.8,
                                         "exempt_adrgs": ["YY1"]})
    flags, hosp = low_standard_admissions(df, pol)
    ref, listed = naive.low_standard(_recs(df), min_peer_cases=1, min_stays=1,
                                     peer_short_share=0.6, cost_share=0.8, exempt=("YY1",))
    _same(hosp, ref)
    assert list(flags.case_id) == listed


@PROP
@given(rows_st(), st.one_of(st.none(), rows_st("h")))
def test_patient_selection_matches_reference(df, hist):
    rw = {"FM11": 2.5, "FM13": 2.0, "FM15": 0.7, "YY11": 3.0}
    table = pd.DataFrame({"group": list(rw), "rw": list(rw.values())})
    pol = policy(patient_selection={"min_cases": 2, "flag_score": 1.0})
    flags, hosp = patient_selection(df, hist, weights=table, policy=pol)
    ref, listed = naive.patient_selection(_recs(df), rw, None if hist is None else _recs(hist),
                                          min_cases=2, flag_score=1.0)
    _same(hosp, ref)
    assert list(flags.case_id) == listed


@PROP
@given(rows_st())
def test_restricted_matches_reference(df):
    table = pd.DataFrame({"code": ["N40.1", "P07.0"], "kind": "dx", "field": ["sex", "age"],
                          "cmp": ["==", "<="], "value": [1, 0]})
    pol = policy(restricted_code={"female_prefixes": ["O"], "male_prefixes": ["N4"],
                                  "min_cases": 1, "flag_score": 1.0})
    flags, hosp = restricted_codes(df, table, pol)
    ref, hits = naive.restricted(_recs(df), exact=[("N40.1", "dx", "sex", "==", 1),
                                                   ("P07.0", "dx", "age", "<=", 0)],
                                 female_prefixes=["O"], male_prefixes=["N4"], min_cases=1,
                                 flag_score=1.0)
    _same(hosp, ref)
    assert sorted(zip(flags.case_id, flags.code)) == hits
    assert np.all(flags.case_id.isin(df.case_id))


def test_all_signals_skips_a_signal_without_its_columns():
    flags, hosp = all_signals(UP.drop(columns=["patient_id"]), cc_codes=CC)
    assert "split_admission" not in set(hosp.signal)
    assert "patient_id" in hosp.attrs["skipped"]["split_admission"]
    assert set(hosp.signal) == set(SIGNALS) - {"split_admission"}


def test_restricted_codes_without_diagnoses_or_sex_and_age_is_skipped_not_zero():
    # no code column: nothing can be judged, so the signal is skipped (not "0 contradictions")
    with pytest.raises(KeyError, match=r"lack column\(s\) \['diagnoses'\]"):
        restricted_codes(UP.drop(columns=["diagnoses"]))
    table = pd.DataFrame({"code": ["P07.000"], "kind": "dx", "field": ["age"], "cmp": "==",
                          "value": [0]})
    with pytest.raises(KeyError, match=r"lack column\(s\) \['age', 'sex'\]"):
        restricted_codes(UP.drop(columns=["sex", "age"]), table)
    flags, hosp = restricted_codes(UP.drop(columns=["age"]), table)  # sex rules still judged
    assert set(hosp["hospital_id"]) == {"H1", "H2", "H3"}
    _, hosp = all_signals(UP.drop(columns=["diagnoses"]), cc_codes=CC)
    assert "restricted_code" not in set(hosp.signal)
    assert "diagnoses" in hosp.attrs["skipped"]["restricted_code"]


def test_all_signals_unavailable_names_each_signal():
    priced_like = UP[["case_id", "hospital_id", "hospital_level", "total_cost", "los"]]
    with pytest.raises(SignalsUnavailable) as err:
        all_signals(priced_like)
    assert set(err.value.skipped) == set(SIGNALS)
    assert "status" in err.value.skipped["low_standard_admission"]
    assert "diagnoses" in err.value.skipped["restricted_code"]
    assert isinstance(err.value, KeyError)
