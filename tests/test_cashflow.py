"""The fund month by month (domain.md §8a): hand-computed months, the decimal reference, identities.

``tests/naive_cashflow.py`` is the independent reference (plain Python, ``decimal``); the engine
is :mod:`payment.cashflow` (integer cents over the settlement's outputs).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import hypothesis.strategies as st
import naive_cashflow as N
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from payment.cashflow import FundInputs, fund_inputs, recover, run_fund
from payment.cashflow_policy import CashflowPolicy, validate_cashflow_policy
from payment.policy import PolicyError
from payment.settlement import settle
from payment.settlement_policy import SettlementPolicy

D = Decimal


def policy(**kw) -> CashflowPolicy:
    fund = {"id": "f", "type": kw.pop("type", "employee"), "opening_balance": 0.0, "income": 0.0}
    data = {"funds": [fund], **kw}
    return validate_cashflow_policy(data)


def c(x) -> int:
    """Yuan (str / Decimal / number) → int cents."""
    return int(D(str(x)) * 100)


def fund(cf: CashflowPolicy, *, opening, income, other, hist_exp, gross, final, sr=None,
         ent=None, hist=None, scores=None, ftype="employee", deficit=False) -> FundInputs:
    """FundInputs from yuan figures (lists per hospital)."""
    T = cf.n_months
    nh = len(gross)
    f = cf.funds[0].model_copy(update={"type": ftype, "deficit_last_year": deficit})
    series = lambda v: np.array([c(v)] * T if not isinstance(v, list) else [c(x) for x in v],  # noqa: E731
                                dtype=np.int64)
    hist = hist or [(0, 0)] * nh
    return FundInputs(
        fund=f, hospital_ids=np.array([f"H{i + 1}" for i in range(nh)], dtype=object),
        gross_adv=np.array([[c(x) for x in g] for g in gross], dtype=np.int64).reshape(nh, 12),
        final=np.array([c(x) for x in final], dtype=np.int64),
        sr=(np.array([[c(x) for x in s] for s in sr], dtype=np.int64) if sr
            else np.zeros((nh, T), dtype=np.int64)),
        ent=(np.array([[c(x) for x in e] for e in ent], dtype=np.int64) if ent
             else np.zeros((nh, 12), dtype=np.int64)),
        hist_total=np.array([c(t) for t, _ in hist], dtype=np.int64),
        hist_months=np.array([m for _, m in hist], dtype=np.int64),
        scores=np.array(scores if scores else [np.nan] * nh, dtype=np.float64),
        opening=c(opening), income=series(income), other=series(other),
        history_exp=np.array([c(x) for x in hist_exp], dtype=np.int64))


def acct(fl, i=0) -> dict:
    return fl.accounts.iloc[i].to_dict()


# A fund covering 20 months; one hospital with 12 recorded months of 100.00 on average; gross
# advances of 50.00 a month; settled final amount 700.00.
BASE = dict(opening="10000", income="600", other="400", hist_exp=["500"] * 12,
            gross=[["50"] * 12], final=["700"], hist=[("1200", 12)])


# ---------------------------------------------------------------------------- hand-computed


def test_at_clearing_hand_computed():
    cf = policy()
    fl = run_fund(fund(cf, **BASE), cf, year=2025)
    a = acct(fl)
    assert fl.eligible and a["prepayment"] == 100.00
    assert a["recovered_at_clearing"] == 100.00 and a["outstanding"] == 0.0
    assert a["clearing"] == 0.00  # 700 − 600 − 0 − 100
    led = fl.ledger
    jan = led.iloc[0]
    assert (jan["prepayment"], jan["advances"], jan["expenditure"], jan["closing"]) == (
        100.00, 50.00, 550.00, 10050.00)
    # months of reserve in January: 10 050 ÷ ((11 × 500 + 550) ÷ 12)
    assert jan["months_of_reserve"] == pytest.approx(float(Fraction(10050 * 12, 6050)))
    assert led["month"].iloc[16] == "2026-05" and len(led) == 17
    assert led["clearing"].iloc[16] == 0.0 and led["advances"].iloc[12:].sum() == 0.0
    # February: 10 050 + 600 − 450
    assert led["closing"].iloc[1] == 10200.00


def test_monthly_recovery_hand_computed():
    cf = policy(prepayment={"recovery": "monthly"})
    fl = run_fund(fund(cf, **BASE), cf)
    a = acct(fl)
    # instalments of ⌊100.00 ÷ 12⌋ = 8.33, the 12th takes 100 − 11 × 8.33 = 8.37
    assert fl.ledger["deductions"].iloc[:12].tolist() == [8.33] * 11 + [8.37]
    assert fl.ledger["advances"].iloc[0] == 41.67
    assert a["deducted"] == 100.00 and a["recovered_at_clearing"] == 0.0
    assert a["clearing"] == 100.00  # 700 − 600 − 0 − 0 owed
    assert a["received_total"] == 700.00 == a["final_amount"]


def test_rollover_hand_computed():
    cf = policy(prepayment={"recovery": "rollover"})
    fl = run_fund(fund(cf, **BASE), cf)
    a = acct(fl)
    assert a["deducted"] == 0.0 and a["recovered_at_clearing"] == 0.0
    assert a["outstanding"] == 100.00 and a["clearing"] == 100.00
    assert a["received_total"] == 800.00  # the final amount + the prepayment still owed


def test_deduction_larger_than_advance_is_carried():
    cf = policy(prepayment={"recovery": "monthly", "instalments": 1})
    gross = [["30", "50", "50"] + ["50"] * 9]
    fl = run_fund(fund(cf, **{**BASE, "gross": gross, "final": ["680"]}), cf)
    assert fl.ledger["deductions"].iloc[:4].tolist() == [30.0, 50.0, 20.0, 0.0]
    assert fl.ledger["advances"].iloc[:3].tolist() == [0.0, 0.0, 30.0]
    a = acct(fl)
    assert a["clearing"] == 100.0  # 680 − 580 gross − 0 − 0 owed (all recovered in the year)
    assert a["net_advances"] == 480.0 and a["received_total"] == 680.0


def test_deduction_still_carried_after_december_goes_to_clearing():
    cf = policy(prepayment={"recovery": "monthly", "months": 2.0})
    # P = 2 × 100 = 200; advances of 10 a month can give back only 120 in the year
    fl = run_fund(fund(cf, **{**BASE, "gross": [["10"] * 12], "final": ["400"]}), cf)
    a = acct(fl)
    assert a["prepayment"] == 200.0 and a["deducted"] == 120.0
    assert a["recovered_at_clearing"] == 80.0 and a["outstanding"] == 0.0
    assert a["net_advances"] == 0.0
    assert a["clearing"] == 400 - 120 - 80
    assert (fl.ledger["advances"].iloc[:12] >= 0).all()


def test_ineligible_fund_cover_compared_exactly():
    cf = policy()
    under = fund(cf, **{**BASE, "opening": "5999.99"})  # cover 11.99998 < 12
    fl = run_fund(under, cf)
    assert not fl.eligible and fl.accounts["prepayment"].sum() == 0.0
    assert acct(fl)["clearing"] == 100.00  # nothing to net
    assert run_fund(fund(cf, **{**BASE, "opening": "6000"}), cf).eligible  # exactly 12
    # the same balance covers a resident fund (≥ 6 months)
    assert run_fund(fund(cf, **{**BASE, "opening": "5999.99"}, ftype="resident"), cf).eligible


def test_deficits_make_the_fund_ineligible():
    cf = policy()
    assert not run_fund(fund(cf, **BASE, deficit=True), cf).eligible
    # projected: income 40 a month < advances 50 + other 0
    fl = run_fund(fund(cf, **{**BASE, "income": "40", "other": "0"}), cf)
    assert not fl.eligible and fl.projected_deficit
    assert fl.alerts["alert"].tolist()[0] == "projected_deficit"
    relaxed = policy(prepayment={"require_no_deficit": False})
    assert run_fund(fund(relaxed, **{**BASE, "income": "40", "other": "0"}), relaxed).eligible


def test_hospital_with_no_history_gets_no_prepayment():
    cf = policy()
    fi = fund(cf, **{**BASE, "gross": [["50"] * 12, ["20"] * 12], "final": ["700", "300"],
                     "hist": [("1200", 12), ("0", 0)]})
    fl = run_fund(fi, cf)
    assert fl.accounts["prepayment"].tolist() == [100.0, 0.0]
    assert fl.accounts["clearing"].tolist() == [0.0, 60.0]


def test_prepayment_rounded_half_up_once_from_the_unrounded_average():
    cf = policy(prepayment={"months": 1.5})
    # average 100.01 ÷ 3 = 33.33666…; × 1.5 = 50.005 → 50.01 (rounding the average first: 50.00)
    fl = run_fund(fund(cf, **{**BASE, "hist": [("100.01", 3)]}), cf)
    assert acct(fl)["prepayment"] == 50.01


def test_min_score_equal_qualifies_missing_does_not():
    cf = policy(prepayment={"min_score": 80.0})
    fi = fund(cf, **{**BASE, "gross": [["50"] * 12] * 3, "final": ["700"] * 3,
                     "hist": [("1200", 12)] * 3}, scores=[80.0, 79.99, np.nan])
    assert run_fund(fi, cf).accounts["prepayment"].tolist() == [100.0, 0.0, 0.0]


def test_special_review_paid_in_decision_month_and_netted_at_clearing():
    cf = policy()
    sr = [["0"] * 5 + ["40"] + ["0"] * 10 + ["15"]]  # June, and in the clearing month
    ent = [["55"] * 12]
    fl = run_fund(fund(cf, **BASE, sr=sr, ent=ent), cf)
    assert fl.ledger["special_review"].iloc[5] == 40.0
    assert fl.ledger["special_review"].iloc[16] == 15.0
    assert acct(fl)["clearing"] == 700 - 600 - 55 - 100
    cash = fl.cash
    jun = cash.iloc[5]
    # received: 100 prepayment + 6 × 50 + 40; entitlement: 6 × 55 + 40
    assert (jun["cum_received"], jun["cum_entitlement"], jun["position"]) == (440.0, 370.0, 70.0)


def test_low_reserve_alert_strictly_below():
    cf = policy(reserve_alert_months=6.0, prepayment={"enabled": False})
    # no spending at all before, 1 000 a month now: opening 5 000 → 6 months cover at month 1
    fi = fund(cf, opening="6000", income="1000", other="1000", hist_exp=[], gross=[["0"] * 12],
              final=["0"])
    led = run_fund(fi, cf).ledger
    assert led["months_of_reserve"].iloc[0] == 6.0 and not led["low_reserve_alert"].iloc[0]
    fi2 = fund(cf, opening="5999.99", income="1000", other="1000", hist_exp=[],
               gross=[["0"] * 12], final=["0"])
    assert run_fund(fi2, cf).ledger["low_reserve_alert"].all()
    # no expenditure at all: months of reserve undefined, no alert
    fi3 = fund(cf, opening="1", income="0", other="0", hist_exp=[], gross=[["0"] * 12],
               final=["0"])
    led3 = run_fund(fi3, cf).ledger
    assert led3["months_of_reserve"].isna().all() and not led3["low_reserve_alert"].any()


def test_recover_edge_instalments():
    ded, left = recover(np.array([5], dtype=np.int64), np.full((1, 12), 100, dtype=np.int64),
                        "monthly", 12)
    assert ded[0].tolist() == [0] * 11 + [5] and left.tolist() == [0]


# ---------------------------------------------------------------------------- vs the reference


def _naive(fi: FundInputs, cf: CashflowPolicy, months=None, rule=None) -> dict:
    y = lambda v: D(int(v)) / 100  # noqa: E731
    pp = cf.prepayment
    hosp = [{"gross": [y(v) for v in fi.gross_adv[i]], "final": y(fi.final[i]),
             "sr": [y(v) for v in fi.sr[i]], "ent": [y(v) for v in fi.ent[i]],
             "hist_total": y(fi.hist_total[i]), "hist_months": int(fi.hist_months[i]),
             "score": None if np.isnan(fi.scores[i]) else float(fi.scores[i])}
            for i in range(len(fi.final))]
    fund_ = {"opening": y(fi.opening), "income": [y(v) for v in fi.income],
             "other": [y(v) for v in fi.other], "history_exp": [y(v) for v in fi.history_exp],
             "deficit_last_year": fi.fund.deficit_last_year}
    pol = {"k": pp.months if months is None else months,
           "need": getattr(pp.min_cover, fi.fund.type), "rule": rule or pp.recovery,
           "n": pp.instalments, "alert": cf.reserve_alert_months, "min_score": pp.min_score,
           "clearing_month": cf.clearing_month, "enabled": pp.enabled,
           "require_no_deficit": pp.require_no_deficit,
           "repeat_after_year": cf.after_year_advances == "repeat"}
    return N.run(fund_, hosp, pol)


money = st.integers(min_value=0, max_value=5_000_000)  # cents


@st.composite
def cases(draw):
    cm = draw(st.integers(1, 12))
    pre = {"months": draw(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0])),
           "recovery": draw(st.sampled_from(["at_clearing", "monthly", "rollover"])),
           "instalments": draw(st.integers(1, 12)),
           "min_cover": {"employee": draw(st.sampled_from([0.0, 6.0, 12.0])),
                         "resident": 6.0},
           "require_no_deficit": draw(st.booleans())}
    if draw(st.booleans()):
        pre["min_score"] = draw(st.sampled_from([60.0, 80.0]))
    cf = policy(clearing_month=cm, prepayment=pre,
                reserve_alert_months=draw(st.sampled_from([0.0, 3.0, 6.0])),
                after_year_advances=draw(st.sampled_from(["none", "repeat"])))
    T = cf.n_months
    nh = draw(st.integers(1, 4))
    arr = lambda shape, hi=500_000: np.array(  # noqa: E731
        draw(st.lists(st.integers(0, hi), min_size=int(np.prod(shape)),
                      max_size=int(np.prod(shape)))), dtype=np.int64).reshape(shape)
    gross = arr((nh, 12))
    sr = arr((nh, T), 50_000) * np.array(draw(st.lists(st.booleans(), min_size=T, max_size=T)))
    final = np.array(draw(st.lists(st.integers(-1_000_000, 9_000_000), min_size=nh,
                                   max_size=nh)), dtype=np.int64)
    hm = np.array(draw(st.lists(st.integers(0, 36), min_size=nh, max_size=nh)), dtype=np.int64)
    scores = np.array(draw(st.lists(st.sampled_from([np.nan, 59.0, 60.0, 80.0, 95.0]),
                                    min_size=nh, max_size=nh)))
    nhist = draw(st.integers(0, 12))
    fi = FundInputs(
        fund=cf.funds[0].model_copy(update={"type": draw(st.sampled_from(["employee",
                                                                          "resident"])),
                                            "deficit_last_year": draw(st.booleans())}),
        hospital_ids=np.array([f"H{i}" for i in range(nh)], dtype=object), gross_adv=gross,
        final=final, sr=sr, ent=arr((nh, 12)), hist_total=arr((nh,), 9_000_000) * (hm > 0),
        hist_months=hm, scores=scores, opening=draw(st.integers(-2_000_000, 90_000_000)),
        income=arr((T,), 3_000_000), other=arr((T,), 2_000_000),
        history_exp=arr((nhist,), 3_000_000))
    return cf, fi


def _cents(s: pd.Series) -> list[int]:
    return [int(round(v * 100)) for v in s]


def _c(d: Decimal) -> int:
    return int(d * 100)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_engine_matches_reference(case):
    cf, fi = case
    fl = run_fund(fi, cf)
    ref = _naive(fi, cf)
    assert fl.eligible == ref["eligible"] and fl.projected_deficit == ref["projected_deficit"]
    led = fl.ledger
    for col, key in (("opening", "opening"), ("income", "income"), ("prepayment", "prepayment"),
                     ("advances", "advances"), ("special_review", "special_review"),
                     ("other_spending", "other"), ("clearing", "clearing"),
                     ("expenditure", "expenditure"), ("closing", "closing")):
        assert _cents(led[col]) == [_c(r[key]) for r in ref["rows"]], col
    for t, r in enumerate(ref["rows"]):
        m = led["months_of_reserve"].iloc[t]
        assert (np.isnan(m) if r["mor"] is None else m == pytest.approx(float(r["mor"])))
        assert bool(led["low_reserve_alert"].iloc[t]) == r["alert"]
    acc = fl.accounts
    for col, key in (("prepayment", "P"), ("recovered_at_clearing", "owed"),
                     ("outstanding", "outstanding"), ("clearing", "clearing")):
        assert _cents(acc[col]) == [_c(a[key]) for a in ref["accounts"]], col
    assert _cents(acc["deducted"]) == [_c(sum(a["ded"])) for a in ref["accounts"]]
    pos = fl.cash
    want = [_c(cr - ce) for h in ref["cash"] for cr, ce in h]
    assert _cents(pos["position"]) == want


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_identities_hold_to_the_cent(case):
    cf, fi = case
    fl = run_fund(fi, cf)
    led = fl.ledger
    opening, closing = _cents(led["opening"]), _cents(led["closing"])
    inc, exp = _cents(led["income"]), _cents(led["expenditure"])
    lines = [_cents(led[k]) for k in ("prepayment", "advances", "special_review",
                                      "other_spending", "clearing")]
    for t in range(len(led)):
        assert exp[t] == sum(x[t] for x in lines)
        assert closing[t] == opening[t] + inc[t] - exp[t]
        if t:
            assert opening[t] == closing[t - 1]
    acc = fl.accounts
    assert (acc["outstanding"] >= 0).all() and (acc["net_advances"] >= 0).all()
    assert (led["advances"].iloc[:12] >= 0).all()
    for _, a in acc.iterrows():
        # net advances + special review + prepayment + clearing − still owed = final amount
        got = (_c(D(repr(a["net_advances"]))) + _c(D(repr(a["special_review"])))
               + _c(D(repr(a["prepayment"]))) + _c(D(repr(a["clearing"])))
               - _c(D(repr(a["outstanding"]))))
        assert got == _c(D(repr(a["final_amount"])))
        # gross advances + prepayment − recovered + clearing before recovery + special review
        # − still owed = final amount
        rec = _c(D(repr(a["deducted"]))) + _c(D(repr(a["recovered_at_clearing"])))
        gross_clearing = _c(D(repr(a["clearing"]))) + _c(D(repr(a["recovered_at_clearing"])))
        assert (_c(D(repr(a["gross_advances"]))) + _c(D(repr(a["prepayment"]))) - rec
                + gross_clearing + _c(D(repr(a["special_review"])))
                - _c(D(repr(a["outstanding"])))) == _c(D(repr(a["final_amount"])))
        assert a["prepayment"] - a["deducted"] - a["recovered_at_clearing"] == pytest.approx(
            a["outstanding"], abs=1e-9)


# ---------------------------------------------------------------------------- with settle()


def _priced(rng, nh=3, n=60):
    rows = []
    for i in range(n):
        pts = float(rng.uniform(5, 200))
        sr = bool(rng.random() < 0.1)
        rows.append({"case_id": f"C{i}", "hospital_id": f"H{i % nh}", "hospital_level": 3,
                     "month": int(rng.integers(1, 13)), "case_class": "normal",
                     "points": pts, "payment": pts * 100.0,
                     "total_cost": float(rng.uniform(500, 30000)), "sr_approved": sr,
                     "sr_amount": float(rng.uniform(1000, 40000)) if sr else 0.0,
                     "sr_quarter": int(rng.integers(1, 5)) if sr else 0,
                     "patient_paid": float(rng.uniform(0, 400))})
    return pd.DataFrame(rows)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.sampled_from(["at_clearing", "monthly", "rollover"]),
       st.sampled_from([0.5, 1.0, 2.0]), st.integers(0, 3))
def test_settled_final_amount_identity(seed, rule, k, lag):
    rng = np.random.default_rng(seed)
    priced = _priced(rng)
    spol = SettlementPolicy.model_validate({"advance_ratio": 0.85, "budget": {"growth": 0.02},
                                            "tiers": [{"lower": 0.0, "upper": 0.2,
                                                       "fund_share": 0.5}]})
    cf = validate_cashflow_policy({
        "special_review_lag_months": lag,
        "prepayment": {"recovery": rule, "months": k, "instalments": 6},
        "funds": [{"id": "e", "type": "employee", "opening_balance": 9e7, "income": 2e6,
                   "other_spending": 1e6, "history_expenditure": [2e6] * 12}]})
    hist = pd.DataFrame({"hospital_id": ["H0", "H0", "H1"], "year": [2024, 2024, 2023],
                         "month": [1, 2, 5], "amount": [30000.0, 40000.01, 5000.0]})
    res = settle(priced, spol)
    fi = fund_inputs(priced, spol, cf, cf.funds[0], res, hist)
    fl = run_fund(fi, cf)
    st_ = res.statement.set_index("hospital_id")
    acc = fl.accounts.set_index("hospital_id")
    assert _cents(acc["gross_advances"]) == _cents(st_["advances"])
    assert list(fi.hist_months) == [2, 1, 0]
    assert acc["prepayment"].iloc[2] == 0.0  # H2 has no history
    for h, a in acc.iterrows():
        recovered = cents_of(a["deducted"]) + cents_of(a["recovered_at_clearing"])
        clearing_before_recovery = cents_of(a["clearing"]) + cents_of(a["recovered_at_clearing"])
        lhs = (cents_of(a["gross_advances"]) + cents_of(a["prepayment"]) - recovered
               + clearing_before_recovery + cents_of(a["special_review"]))
        # the year's advances + prepayment − recovered + clearing (+ special review paid
        # separately) = the settled final amount, plus what is still owed under rollover
        assert lhs - cents_of(a["outstanding"]) == cents_of(st_.loc[h, "final_amount"])
        # what the hospital actually received over the year and the clearing
        assert (cents_of(a["net_advances"]) + cents_of(a["prepayment"]) + cents_of(a["clearing"])
                + cents_of(a["special_review"])) == cents_of(a["received_total"])
        assert a["outstanding"] == (a["prepayment"] if rule == "rollover" else 0.0)
    # special review: the fund's part (re-priced amount − the case's patient payment)
    sr = priced[priced["sr_approved"]]
    assert fl.ledger["special_review"].sum() == pytest.approx(
        float((sr["sr_amount"] - sr["patient_paid"]).sum()), abs=0.01 * 12)
    if len(sr):
        first = int(3 * sr["sr_quarter"].min()) + lag
        assert fl.ledger["special_review"].iloc[: first - 1].sum() == 0.0


def cents_of(x: float) -> int:
    return _c(D(repr(float(x))))


# ---------------------------------------------------------------------------- validation


def test_validation_errors_name_file_key_allowed():
    with pytest.raises(PolicyError) as e:
        validate_cashflow_policy({"prepayment": {"recovery": "yearly"},
                                  "funds": [{"id": "e", "type": "employee",
                                             "opening_balance": 1.0, "income": 1.0}]},
                                 "cf.toml")
    msg = str(e.value)
    assert msg.startswith("cf.toml: cashflow.prepayment.recovery")
    assert "at_clearing" in msg and "rollover" in msg
    with pytest.raises(PolicyError, match=r"cf.toml: cashflow.funds.0.income: 3 monthly values"
                                          r".*allowed: one number, 12 values or 17"):
        validate_cashflow_policy({"funds": [{"id": "e", "type": "employee",
                                             "opening_balance": 1.0, "income": [1.0] * 3}]},
                                 "cf.toml")
    with pytest.raises(PolicyError, match=r"cashflow.bogus: unknown key \(allowed: .*"
                                          r"clearing_month"):
        validate_cashflow_policy({"bogus": 1, "funds": [{"id": "e", "type": "employee",
                                                         "opening_balance": 1.0,
                                                         "income": 1.0}]}, "cf.toml")
    with pytest.raises(PolicyError, match="cashflow.clearing_month"):
        validate_cashflow_policy({"clearing_month": 13, "funds": [
            {"id": "e", "type": "employee", "opening_balance": 1.0, "income": 1.0}]})
    with pytest.raises(PolicyError, match="cashflow.funds.0.type"):
        validate_cashflow_policy({"funds": [{"id": "e", "type": "civil",
                                             "opening_balance": 1.0, "income": 1.0}]})
    with pytest.raises(PolicyError, match="cashflow.funds.0.opening_balance"):  # strict
        validate_cashflow_policy({"funds": [{"id": "e", "type": "employee",
                                             "opening_balance": "1.0", "income": 1.0}]})
    with pytest.raises(PolicyError, match="cashflow.assign.shares: shares must add up to 1"):
        validate_cashflow_policy({"assign": {"rule": "patient_hash",
                                             "shares": {"e": 0.5}},
                                  "funds": [{"id": "e", "type": "employee",
                                             "opening_balance": 1.0, "income": 1.0}]})


# ---------------------------------------------------------------------------- inputs


def test_history_payments_cells_rounded_once():
    from payment.cashflow import history_payments

    cases = pd.DataFrame({
        "hospital_id": ["H1", "H1", "H1", "H2", "H1"], "year": [2024, 2024, 2024, 2024, 2023],
        "discharge_date": ["2024-01-03", "2024-01-20", "2024-02-01", "2024-01-05",
                           "2023-06-01"],
        "total_cost": [100.004, 50.001, 10.0, 30.0, 99.0],
        "patient_paid": [0.0, 0.0, 2.5, 0.0, 9.0]})
    got = history_payments(cases, 2025, 1)
    assert got.to_dict("records") == [
        {"hospital_id": "H1", "year": 2024, "month": 1, "amount": 150.01},  # 150.005 → .01
        {"hospital_id": "H1", "year": 2024, "month": 2, "amount": 7.5},
        {"hospital_id": "H2", "year": 2024, "month": 1, "amount": 30.0}]
    assert len(history_payments(cases, 2025, 2)) == 4
    no_pp = history_payments(cases.drop(columns="patient_paid"), 2025, 1, 0.7)
    assert no_pp["amount"].tolist() == [105.0, 7.0, 21.0]  # 150.005 × 0.7 = 105.0035


def test_assign_funds_by_patient_hash_is_stable():
    from payment.cashflow import assign_funds

    cf = validate_cashflow_policy({
        "assign": {"rule": "patient_hash", "shares": {"e": 0.6, "r": 0.4}},
        "funds": [{"id": f, "type": t, "opening_balance": 0.0, "income": 0.0}
                  for f, t in (("e", "employee"), ("r", "resident"))]})
    df = pd.DataFrame({"case_id": [f"C{i}" for i in range(4000)],
                       "patient_id": [f"P{i % 2000}" for i in range(4000)]})
    f = assign_funds(df, cf)
    assert (f[:2000] == f[2000:]).all()  # same patient, same fund
    assert 0.55 < (f == "e").mean() < 0.65
    col = validate_cashflow_policy({"funds": [
        {"id": f, "type": t, "opening_balance": 0.0, "income": 0.0}
        for f, t in (("e", "employee"), ("r", "resident"))]})
    with pytest.raises(ValueError, match="no 'insurance_type' column"):
        assign_funds(df, col)
    with pytest.raises(ValueError, match=r"not fund ids \(allowed: e, r\)"):
        assign_funds(df.assign(insurance_type="x"), col)


def test_scores_from_settlement_assessment_and_prepayment_table():
    priced = pd.DataFrame({"case_id": ["a", "b", "c"], "hospital_id": ["H0", "H1", "H2"],
                           "hospital_level": 3, "month": 1, "case_class": "normal",
                           "points": 10.0, "payment": 1000.0, "total_cost": 1000.0})
    spol = SettlementPolicy.model_validate({"assessment": {"scores": {"H0": 90.0, "H1": 70.0},
                                                           "default_score": 99.0}})
    cf = validate_cashflow_policy({
        "prepayment": {"min_score": 80.0, "scores": {"H1": 85.0}},
        "funds": [{"id": "e", "type": "employee", "opening_balance": 1e6, "income": 1e5,
                   "history_expenditure": [1e4]}]})
    hist = pd.DataFrame({"hospital_id": ["H0", "H1", "H2"], "year": 2024, "month": 1,
                         "amount": 300.0})
    fi = fund_inputs(priced, spol, cf, cf.funds[0], history=hist)
    assert fi.scores[:2].tolist() == [90.0, 85.0] and np.isnan(fi.scores[2])
    assert run_fund(fi, cf).accounts["prepayment"].tolist() == [300.0, 300.0, 0.0]


def test_monte_carlo_seeded_and_prepayment_lowers_the_reserve():
    from payment.cashflow_run import monte_carlo, run_whatifs

    cf = policy()
    fi = fund(cf, **{**BASE, "opening": "7000"})
    spec = {"draws": 30, "seed": 7, "income_growth": {"dist": "normal", "sd": 0.05},
            "volume_sd": 0.1}
    with_p = validate_cashflow_policy({**cf.model_dump(), "monte_carlo": spec}).monte_carlo
    no_p = with_p.model_copy(update={"prepayment_months": 0.0})
    d1, p1 = monte_carlo({"f": fi}, cf, with_p)
    d1b, _ = monte_carlo({"f": fi}, cf, with_p)
    d0, p0 = monte_carlo({"f": fi}, cf, no_p)
    pd.testing.assert_frame_equal(d1, d1b)
    assert (d1["income_growth"] == d0["income_growth"]).all()
    # the same draws: the prepayment (100.00 in January) can only lower every month's reserve
    assert (d1["lowest_months_of_reserve"] < d0["lowest_months_of_reserve"]).all()
    assert p1["p50"].iloc[0] < p0["p50"].iloc[0]
    w = run_whatifs({"f": fi}, cf, [], None)
    assert w["scenario"].tolist() == ["baseline"]


def test_every_eligibility_reason_reads_in_both_languages():
    from payment.cashflow import eligibility_text
    from payment.labels import DETAILS

    keys = [k for k in DETAILS if k.startswith("cf_")]
    assert len(keys) == 6
    for k in keys:
        v = {"cover": "11.99", "need": "12"}
        zh, en = eligibility_text(k, v, "zh"), eligibility_text(k, v)
        assert zh != en and zh and en
    assert eligibility_text("cf_cover_short", {"cover": "11.99", "need": "12"}, "zh") == "可支付 11.99 个月 < 12"
    assert eligibility_text("cf_cover_short", {"cover": "11.99", "need": "12"}) == "cover 11.99 months < 12"
