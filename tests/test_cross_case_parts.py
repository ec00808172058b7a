"""The cross-case rules in parts (payment.readmission, review_selection, budget) give the
whole-table answer however the cases are cut, and however the parts are numbered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grouper import group
from payment import compute_weights, load_policy, price
from payment.budget import PointsSum, total_points
from payment.readmission import CrossCaseLedger
from payment.review_selection import quota, select


@pytest.fixture(scope="module")
def grouped(demo_scheme, sample_cases):
    return group(sample_cases, demo_scheme, keep_columns=True)


def _unpenalised(part, w, pol):
    return price(part, w, pol, special_review=False, readmit_flags=np.zeros(len(part), bool),
                 points_total=np.nan)


def test_two_hospitals_in_two_parts_are_not_one(grouped):
    """Patient P leaves hospital H1 on day 10 and enters H2 on day 12 in the same group. With
    same_hospital the stay is not a readmission, also when each part is collected by a fresh
    ledger (as on a Dask worker), where both hospitals are the part's hospital number 0."""
    pol = load_policy("zhejiang_drg").with_overrides(
        {"readmission": {"enabled": True, "same_hospital": True, "window_days": 15}})
    w = compute_weights(grouped, pol)
    ok = grouped[(grouped["status"] == "SUCCESS")]
    drg = ok["drg"].value_counts().index[0]
    two = ok[ok["drg"] == drg].head(2).copy().reset_index(drop=True)
    two["patient_id"] = "P"
    two["admission_date"] = ["2024-01-05", "2024-01-12"]
    two["discharge_date"] = ["2024-01-10", "2024-01-20"]
    for hospitals, want in ((["H1", "H2"], [False, False]), (["H1", "H1"], [True, False])):
        two["hospital_id"] = hospitals
        whole = price(two, w, pol)
        assert (whole["case_class"] == "readmission").tolist() == want
        led = CrossCaseLedger(w, pol)
        for off in (0, 1):
            part = two.iloc[off:off + 1]
            led.merge(CrossCaseLedger(w, pol).collect(_unpenalised(part, w, pol), part, off))
        led.decide()
        assert led.flags(0, 2).tolist() == want


@pytest.mark.parametrize("step", [997, 4000])
def test_fresh_ledgers_per_part_equal_the_whole_table(grouped, step):
    pol = load_policy("zhejiang_drg").with_overrides(
        {"readmission": {"enabled": True, "same_hospital": True, "window_days": 60},
         "point_value": {"source": "budget", "budget": 5e8}})
    w = compute_weights(grouped, pol)
    g = grouped.copy()
    n = len(g)
    # few patients, many hospitals: stays of one patient fall in several parts and hospitals
    g["patient_id"] = pd.Series(np.random.default_rng(1).integers(0, n // 6, n).astype(str),
                                dtype="str")
    want = price(g, w, pol)
    led = CrossCaseLedger(w, pol)
    for off in range(0, n, step):
        part = g.iloc[off:off + step]
        led.merge(CrossCaseLedger(w, pol).collect(_unpenalised(part, w, pol), part, off))
    led.decide()
    np.testing.assert_array_equal(
        led.flag_rows, np.flatnonzero((want["case_class"] == "readmission").to_numpy()))
    assert led.flag_rows.size > 0
    assert led.points_total == total_points(want["points"].to_numpy())


def test_points_sum_in_parts_is_the_whole_sum():
    x = np.array([0.1] * 10 + [1e16, 1.0, -1e16])
    s = PointsSum()
    for part in (x[:3], x[3:11], x[11:]):
        s.add(part)
    assert s.total() == total_points(x) == 2.0  # 10 × 0.1 = 1 exactly after fsum, + 1
    s.add(np.array([np.inf]))
    assert s.total() == np.inf


def test_select_orders_by_gain_then_case_id():
    """One cell with quota 3 and approval rate 0.5: gains 500, 300, 300, 100 cents; the tie
    at 300 goes to case id 'a' before 'b'; floor(0.5 × 3) = 1 approved."""
    ids = np.array(["d", "b", "a", "c"], dtype=object)
    applied, approved = select(np.zeros(4, np.int64), np.array([500.0, 300, 300, 100]),
                               lambda pos: ids[pos], np.array([3]), 0.5)
    assert applied.tolist() == [True, True, True, False]
    assert approved.tolist() == [True, False, False, False]
    applied, _ = select(np.zeros(4, np.int64), np.array([500.0, 300, 300, 100]),
                        lambda pos: ids[pos], np.array([2]), 0.5)
    assert applied.tolist() == [True, False, True, False]
    assert quota(1400, 0.005) == 7
