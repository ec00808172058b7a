"""The pooled fund month by month: prepayment, advances, special review, clearing (domain.md §8a).

Settlement (:func:`payment.settlement.settle`) says what each hospital is owed for the year:
its monthly (gross) advances and its final amount. This module lays that money out in calendar
months, per insurance type, and adds the prepayment (预付金) and the fund's own income and other
spending. Everything is integer cents; each amount is rounded half-up once where it is made:

* **Ledger months** t = 1 … 12 + ``clearing_month``: January … December of the year, then the
  next year's months up to the clearing (default May). The advance for discharge month m is paid
  in month m; the clearing of every hospital is booked in the clearing month.
* **Prepayment** P = round(k × the unrounded average of the hospital's recorded monthly fund
  payments in years Y−h … Y−1), paid in January, when the fund is eligible (balance on 1 January ÷
  the previous year's mean monthly expenditure ≥ the type's cover, compared exactly; no deficit
  last year nor a projected one) and the hospital is (score ≥ ``min_score`` when set; a hospital
  with no recorded month gets none).
* **Recovery**: ``at_clearing`` (the clearing nets P); ``monthly`` (instalments ⌊P ÷ n⌋ cents from
  January, the n-th taking the remainder, each deducted from that month's advance but never
  below 0 — the rest is carried, and what is still carried after December is netted at the
  clearing); ``rollover`` (nothing recovered this year, P stays owed).
* **Special review** payments (the fund's part of the approved re-priced amounts) in the month
  the review is decided (the end of its period + ``special_review_lag_months``).
* **Clearing** = final amount − gross advances − special review − prepayment still owed
  (``at_clearing`` / ``monthly``); negative = money the hospital pays back.

Identities, exact in cents and checked: every month closing = opening + income − (prepayment +
net advances + special review + other spending + clearing); per hospital net advances + special
review + prepayment + clearing − outstanding prepayment = the settled final amount.

*Projected deficit* (January): Σ income < Σ (gross advances + special review + other spending)
over January–December, before any prepayment. A fund with no expenditure history (or none > 0)
cannot show its cover and does not prepay. *Months of reserve* = closing ÷ the mean
expenditure (every outflow line) of the last 12 months, the fund's history standing in for
months before January; undefined (NaN, no alert) when that mean is ≤ 0.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from ._settle_prepare import _decision_month  # the one home of the period → month rule
from .cashflow_policy import CashflowPolicy, FundSeries, PrepaymentPolicy
from .labels import DETAILS
from .settlement import resolve_policy, settle

__all__ = [
    "CashflowResult",
    "FundInputs",
    "FundLedger",
    "assign_funds",
    "cents",
    "eligibility_text",
    "fund_eligibility",
    "fund_inputs",
    "history_payments",
    "prepayment_amounts",
    "run_fund",
    "series_cents",
]


def cents(x: Any) -> np.ndarray:
    """Yuan → int64 cents, half-up (away from zero on .5), robust to binary noise (…0049999)."""
    v = np.asarray(x, dtype=np.float64) * 100.0
    a = np.abs(v)
    r = np.floor(a + 0.5 + 1e-7 + a * 1e-15)
    return (np.sign(v) * r).astype(np.int64)


def _half_up(q: Fraction) -> int:
    """A non-negative exact quotient rounded half-up to an integer."""
    return int((q + Fraction(1, 2)).__floor__())


def series_cents(value: float | list[float], n: int) -> np.ndarray:
    """A monthly input series (one value, 12 January–December repeated, or n) as n cents."""
    if isinstance(value, list):
        c = cents(np.array(value, dtype=np.float64))
        return c if len(c) == n else np.resize(c, n)
    return np.full(n, int(cents(value)), dtype=np.int64)


# ------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class FundInputs:
    """One fund's year in cents: per hospital [H] / hospital × month [H, 12 or T], fund series [T].

    ``gross_adv`` and ``final`` come from the settlement; ``sr`` is the special-review payment per
    decision month; ``ent`` the monthly entitlement at the provisional point value; ``hist_total``
    / ``hist_months`` the hospital's recorded monthly payments of the previous years.
    """

    fund: FundSeries
    hospital_ids: np.ndarray
    gross_adv: np.ndarray
    final: np.ndarray
    sr: np.ndarray
    ent: np.ndarray
    hist_total: np.ndarray
    hist_months: np.ndarray
    scores: np.ndarray
    opening: int
    income: np.ndarray
    other: np.ndarray
    history_exp: np.ndarray


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.zeros(len(df))
    return pd.to_numeric(df[col], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)


def _cell_cents(h: np.ndarray, m: np.ndarray, w: np.ndarray, nh: int, nm: int) -> np.ndarray:
    """Σ w per (hospital, month) cell, each cell rounded half-up to the cent once; m is 1-based."""
    ok = (m >= 1) & (m <= nm)
    s = np.bincount(h[ok] * nm + m[ok] - 1, weights=w[ok], minlength=nh * nm)
    return cents(s).reshape(nh, nm)


def assign_funds(cases: pd.DataFrame, cf: CashflowPolicy) -> np.ndarray:
    """The fund id paying each case (object array, input order).

    ``rule = "column"``: the ``assign.column`` values (one fund and no column: that fund).
    ``rule = "patient_hash"``: crc32 of ``patient_id`` (``case_id`` when missing) ÷ 2³² against
    the cumulative ``shares`` in fund order — stable across runs and years (synthetic data).
    """
    ids = [f.id for f in cf.funds]
    a = cf.assign
    if a.rule == "column":
        if a.column not in cases.columns:
            if len(ids) == 1:
                return np.full(len(cases), ids[0], dtype=object)
            raise ValueError(f"cashflow.assign: the cases have no {a.column!r} column to say "
                             f"which fund ({', '.join(ids)}) pays them")
        col = cases[a.column].astype("string").fillna("").to_numpy(dtype=object)
        bad = sorted(set(col) - set(ids))
        if bad:
            raise ValueError(f"cashflow.assign: {a.column} values {bad[:5]} are not fund ids "
                             f"(allowed: {', '.join(ids)})")
        return col
    key = cases["patient_id"] if "patient_id" in cases.columns else cases["case_id"]
    keys = key.astype("string").fillna("").to_numpy(dtype=object)
    u = np.fromiter((zlib.crc32(str(k).encode()) for k in keys), dtype=np.float64,
                    count=len(keys)) / 2.0**32
    edges = np.cumsum([a.shares[i] for i in ids])
    pos = np.minimum(np.searchsorted(edges, u, side="right"), len(ids) - 1)
    return np.array(ids, dtype=object)[pos]


def history_payments(cases: pd.DataFrame, year: int, years: int,
                     reimbursement_ratio: float = 1.0) -> pd.DataFrame:
    """Recorded monthly fund payments per hospital from raw cases of years Y−h … Y−1 (yuan).

    A hospital × year × month cell = round(Σ (total_cost − patient_paid)) when the cases have
    patient payments, else round(Σ total_cost × ratio). Columns: hospital_id, year, month, amount.
    """
    yr = pd.to_numeric(cases["year"], errors="coerce")
    d = cases[(yr >= year - years) & (yr <= year - 1)]
    if "month" in d.columns:
        month = pd.to_numeric(d["month"], errors="coerce")
    else:
        month = pd.to_datetime(d["discharge_date"], errors="coerce").dt.month
    tc = _num(d, "total_cost")
    if "patient_paid" in d.columns and not d["patient_paid"].isna().any():
        fund = tc - _num(d, "patient_paid")
    else:
        fund = tc * reimbursement_ratio
    t = pd.DataFrame({"hospital_id": d["hospital_id"].astype(str).to_numpy(),
                      "year": yr[d.index].to_numpy(), "month": month.to_numpy(), "amount": fund})
    t = t.dropna(subset=["year", "month"])
    g = t.groupby(["hospital_id", "year", "month"], as_index=False)["amount"].sum()
    g["amount"] = cents(g["amount"].to_numpy()) / 100.0
    g["year"] = g["year"].astype(int)
    g["month"] = g["month"].astype(int)
    return g


def fund_inputs(priced: pd.DataFrame, policy: Any, cf: CashflowPolicy, fund: FundSeries,
                settlement: Any = None, history: pd.DataFrame | None = None) -> FundInputs:
    """One fund's inputs from its priced cases, the policy and (optionally) its settlement.

    ``settlement`` is a :class:`~payment.settlement.SettlementResult` of these cases under
    ``policy`` (settled here when omitted); its ``advances`` (m01…m12) and ``final_amount`` are
    used as they are. ``history`` holds the recorded monthly payments (hospital_id, year, month,
    amount yuan) of the years before; without it no hospital gets a prepayment.

    Monthly entitlement = round(Σ payment − Σ patient_paid) of the discharge month's cases not
    approved in special review (× reimbursement ratio instead when patient payments are not in
    the data); an approved case is paid as special review: round(Σ (sr_amount − patient_paid))
    per hospital × decision month. Scores: ``prepayment.scores`` over the settlement's
    ``assessment.scores`` (its ``default_score`` is not a score of record).
    """
    res = settlement if settlement is not None else settle(priced, policy)
    st = res.statement
    ids = st["hospital_id"].astype(str).to_numpy(dtype=object)
    nh = len(ids)
    adv = res.advances.set_index(res.advances["hospital_id"].astype(str)).loc[ids]
    gross = cents(adv[[f"m{m:02d}" for m in range(1, 13)]].to_numpy(dtype=np.float64))
    final = cents(st["final_amount"].to_numpy(dtype=np.float64))
    T = cf.n_months

    spol, pvk = resolve_policy(policy)
    df = priced
    if "case_class" in df.columns and spol.exclude_classes:
        keep = ~df["case_class"].astype("string").isin(list(spol.exclude_classes)).to_numpy(
            dtype=bool, na_value=False)
        df = df.loc[keep]
    pos = {h: i for i, h in enumerate(ids)}
    h = np.fromiter((pos.get(x, -1) for x in df["hospital_id"].astype(str)), dtype=np.int64,
                    count=len(df))
    if (h < 0).any():
        raise ValueError("cashflow: priced cases name hospitals the settlement does not have")
    has_pp = "patient_paid" in df.columns and not df["patient_paid"].isna().any()
    ratio = pvk.reimbursement_ratio
    pay = _num(df, "payment")
    pp = _num(df, "patient_paid")
    sr_ok = (df["sr_approved"].fillna(False).to_numpy(dtype=bool)
             if "sr_approved" in df.columns else np.zeros(len(df), dtype=bool))
    fund_pay = np.where(sr_ok, 0.0, pay - pp if has_pp else pay * ratio)
    month = _num(df, "month").astype(np.int64)
    ent = _cell_cents(h, month, fund_pay, nh, 12)
    sr = np.zeros((nh, T), dtype=np.int64)
    if sr_ok.any() and "sr_quarter" in df.columns:
        period = str(getattr(getattr(policy, "special_review", None), "quota_period", "quarter"))
        dm = _decision_month(df["sr_quarter"], period)
        dm = np.where(dm > 0, np.minimum(dm + cf.special_review_lag_months, T), 0)
        amt = _num(df, "sr_amount")
        w = np.where(sr_ok, amt - pp if has_pp else amt * ratio, 0.0)
        sr = _cell_cents(h, np.where(sr_ok, dm, 0), w, nh, T)

    hist_total = np.zeros(nh, dtype=np.int64)
    hist_months = np.zeros(nh, dtype=np.int64)
    if history is not None and len(history):
        hh = history.copy()
        if "fund" in hh.columns:
            hh = hh[hh["fund"].astype(str) == fund.id]
        hh = hh[hh["hospital_id"].astype(str).isin(pos)]
        hc = cents(pd.to_numeric(hh["amount"], errors="coerce").fillna(0.0).to_numpy())
        hi = np.fromiter((pos[x] for x in hh["hospital_id"].astype(str)), dtype=np.int64,
                         count=len(hh))
        hist_total = np.bincount(hi, weights=hc, minlength=nh).astype(np.int64)
        cell = hh[["hospital_id", "year", "month"]].astype(str).agg("|".join, axis=1)
        first = ~cell.duplicated().to_numpy()
        hist_months = np.bincount(hi[first], minlength=nh).astype(np.int64)

    table = {str(k): float(v) for k, v in spol.assessment.scores.items()}
    table.update(cf.prepayment.scores)
    scores = np.array([table.get(x, np.nan) for x in ids], dtype=np.float64)
    return FundInputs(
        fund=fund, hospital_ids=ids, gross_adv=gross, final=final, sr=sr, ent=ent,
        hist_total=hist_total, hist_months=hist_months, scores=scores,
        opening=int(cents(fund.opening_balance)),
        income=series_cents(fund.income, T), other=series_cents(fund.other_spending, T),
        history_exp=cents(np.array(fund.history_expenditure, dtype=np.float64)),
    )


# ------------------------------------------------------------------------------ rules


def fund_eligibility(fi: FundInputs, pp: PrepaymentPolicy) -> tuple[bool, str, dict[str, str]]:
    """Whether the fund may prepay this year, and why: a reason key of
    :data:`payment.labels.DETAILS` and its values (exact comparisons in cents); the text in
    either language is :func:`eligibility_text`."""
    if not pp.enabled:
        return False, "cf_disabled", {}
    need = Fraction(Decimal(repr(getattr(pp.min_cover, fi.fund.type))))
    hist = fi.history_exp
    if len(hist) == 0 or int(hist.sum()) <= 0:
        return False, "cf_no_history", {}
    cover = Fraction(fi.opening * len(hist), int(hist.sum()))
    values = {"cover": f"{float(cover):.2f}", "need": f"{float(need):g}"}
    if cover < need:
        return False, "cf_cover_short", values
    if pp.require_no_deficit and fi.fund.deficit_last_year:
        return False, "cf_deficit_last", {}
    if pp.require_no_deficit and projected_deficit(fi):
        return False, "cf_deficit_projected", {}
    return True, "cf_cover_ok", values


def eligibility_text(key: str, values: dict[str, str], lang: str = "en") -> str:
    """The eligibility reason in ``lang`` (zh | en)."""
    zh, en = DETAILS[key]
    return (zh if lang == "zh" else en).format(**values)


def projected_deficit(fi: FundInputs) -> bool:
    """Σ income < Σ (gross advances + special review + other spending) over January–December."""
    out = int(fi.gross_adv.sum()) + int(fi.sr[:, :12].sum()) + int(fi.other[:12].sum())
    return int(fi.income[:12].sum()) < out


def prepayment_amounts(fi: FundInputs, pp: PrepaymentPolicy, months: float | None = None,
                       eligible: bool = True) -> np.ndarray:
    """Prepayment per hospital (cents): round(k × Σ recorded ÷ months recorded), 0 if ineligible."""
    k = Fraction(Decimal(repr(pp.months if months is None else months)))
    out = np.zeros(len(fi.hospital_ids), dtype=np.int64)
    if not eligible or k == 0:
        return out
    for i in range(len(out)):
        n = int(fi.hist_months[i])
        if n <= 0 or int(fi.hist_total[i]) <= 0:
            continue
        if pp.min_score is not None:
            s = fi.scores[i]
            if not np.isfinite(s) or Fraction(Decimal(repr(float(s)))) < Fraction(
                    Decimal(repr(pp.min_score))):
                continue
        out[i] = _half_up(k * int(fi.hist_total[i]) / n)
    return out


def recover(prepay: np.ndarray, gross_adv: np.ndarray, rule: str,
            instalments: int) -> tuple[np.ndarray, np.ndarray]:
    """Monthly deductions [H, 12] and the part owed at the clearing [H] (cents).

    ``monthly``: instalment ⌊P ÷ n⌋ in months 1 … n, the n-th P − (n − 1)⌊P ÷ n⌋; each month
    deducts min(due + carried, gross advance); what is carried after December goes to the
    clearing. ``at_clearing``: all of P at the clearing. ``rollover``: nothing.
    """
    nh = len(prepay)
    ded = np.zeros((nh, 12), dtype=np.int64)
    if rule == "rollover":
        return ded, np.zeros(nh, dtype=np.int64)
    if rule == "at_clearing":
        return ded, prepay.copy()
    inst = prepay // instalments
    carried = np.zeros(nh, dtype=np.int64)
    for m in range(12):
        due = np.zeros(nh, dtype=np.int64)
        if m < instalments - 1:
            due = inst
        elif m == instalments - 1:
            due = prepay - (instalments - 1) * inst
        owed = carried + due
        ded[:, m] = np.minimum(owed, gross_adv[:, m])
        carried = owed - ded[:, m]
    return ded, carried


# ------------------------------------------------------------------------------ ledger


@dataclass(frozen=True)
class FundLedger:
    """One fund's run: monthly ledger, hospital accounts and cash positions (yuan tables)."""

    fund: str
    eligible: bool
    eligibility: str
    projected_deficit: bool
    ledger: pd.DataFrame
    accounts: pd.DataFrame
    cash: pd.DataFrame
    alerts: pd.DataFrame
    lowest_mor: float
    lowest_month: int
    #: the eligibility reason in Chinese (``eligibility`` is English)
    eligibility_zh: str = ""


def _month_labels(year: int | None, T: int) -> list[str]:
    y = year if year is not None else 0
    out = []
    for t in range(T):
        yy, mm = (y, t + 1) if t < 12 else (y + 1, t - 11)
        out.append(f"{yy:04d}-{mm:02d}" if year is not None else f"Y{'+1' if t >= 12 else ''}"
                   f"-{mm:02d}")
    return out


def months_of_reserve(closing: np.ndarray, exp: np.ndarray,
                      history: np.ndarray) -> tuple[np.ndarray, list[Fraction | None]]:
    """Closing ÷ mean expenditure of the last 12 months (history first); NaN when mean ≤ 0."""
    full = np.concatenate([history.astype(np.int64), exp.astype(np.int64)])
    off = len(history)
    mor = np.full(len(closing), np.nan)
    exact: list[Fraction | None] = []
    for t in range(len(closing)):
        win = full[max(0, off + t - 11): off + t + 1]
        s = int(win.sum())
        if s <= 0:
            exact.append(None)
            continue
        q = Fraction(int(closing[t]) * len(win), s)
        exact.append(q)
        mor[t] = float(q)
    return mor, exact


def run_fund(fi: FundInputs, cf: CashflowPolicy, *, year: int | None = None,
             prepayment_months: float | None = None, recovery: str | None = None) -> FundLedger:
    """The monthly ledger of one fund (cents inside, yuan tables out); see the module docstring."""
    pp = cf.prepayment
    rule = recovery or pp.recovery
    T = cf.n_months
    ok, why_key, why_values = fund_eligibility(fi, pp)
    why, why_zh = eligibility_text(why_key, why_values), eligibility_text(why_key, why_values, "zh")
    P = prepayment_amounts(fi, pp, prepayment_months, ok)
    ded, owed_at_clearing = recover(P, fi.gross_adv, rule, pp.instalments)
    net = fi.gross_adv - ded
    sr_total = fi.sr.sum(axis=1)
    clearing = fi.final - fi.gross_adv.sum(axis=1) - sr_total - owed_at_clearing
    outstanding = P - ded.sum(axis=1) - owed_at_clearing

    prep_t = np.zeros(T, dtype=np.int64)
    prep_t[0] = int(P.sum())
    adv_t = np.zeros(T, dtype=np.int64)
    adv_t[:12] = net.sum(axis=0)
    if cf.after_year_advances == "repeat":
        adv_t[12:] = fi.gross_adv.sum(axis=0)[: T - 12]
    sr_t = fi.sr.sum(axis=0)
    clr_t = np.zeros(T, dtype=np.int64)
    clr_t[T - 1] = int(clearing.sum())
    exp = prep_t + adv_t + sr_t + fi.other + clr_t
    closing = fi.opening + np.cumsum(fi.income - exp)
    opening = np.concatenate([[fi.opening], closing[:-1]])
    if not np.array_equal(closing, opening + fi.income - exp):
        raise AssertionError("cashflow: monthly identity broken")  # cannot happen in int64
    mor, exact = months_of_reserve(closing, exp, fi.history_exp)
    thr = Fraction(Decimal(repr(cf.reserve_alert_months)))
    alert = np.array([q is not None and q < thr for q in exact])
    labels = _month_labels(year, T)
    y = lambda a: np.asarray(a, dtype=np.int64) / 100.0  # noqa: E731
    ledger = pd.DataFrame({
        "fund": fi.fund.id, "month": labels, "t": np.arange(1, T + 1),
        "opening": y(opening), "income": y(fi.income), "prepayment": y(prep_t),
        "advances": y(adv_t), "deductions": y(np.pad(ded.sum(axis=0), (0, T - 12))),
        "special_review": y(sr_t), "other_spending": y(fi.other), "clearing": y(clr_t),
        "expenditure": y(exp), "closing": y(closing), "months_of_reserve": mor,
        "low_reserve_alert": alert,
    })
    pdef = projected_deficit(fi)
    rows = [{"fund": fi.fund.id, "month": labels[t], "alert": "low_reserve",
             "detail": f"months of reserve {mor[t]:.2f} < {cf.reserve_alert_months:g}"}
            for t in range(T) if alert[t]]
    if pdef:
        rows.insert(0, {"fund": fi.fund.id, "month": labels[0], "alert": "projected_deficit",
                        "detail": "income below advances + special review + other spending "
                                  "over the year"})
    alerts = pd.DataFrame(rows, columns=["fund", "month", "alert", "detail"])
    hosp_ok = P > 0
    accounts = pd.DataFrame({
        "fund": fi.fund.id, "hospital_id": fi.hospital_ids, "score": fi.scores,
        "history_months": fi.hist_months, "prepaid": hosp_ok,
        "prepayment": y(P), "deducted": y(ded.sum(axis=1)),
        "recovered_at_clearing": y(owed_at_clearing), "outstanding": y(outstanding),
        "gross_advances": y(fi.gross_adv.sum(axis=1)), "net_advances": y(net.sum(axis=1)),
        "special_review": y(sr_total), "clearing": y(clearing),
        "received_total": y(P + net.sum(axis=1) + sr_total + clearing),
        "final_amount": y(fi.final),
    })
    # Cash position: received (prepayment + net advances + special review, no clearing) against
    # entitlement (monthly entitlement at the provisional point value + special review).
    nh = len(P)
    recv = np.zeros((nh, T), dtype=np.int64)
    recv[:, 0] += P
    recv[:, :12] += net
    recv += fi.sr
    entm = np.zeros((nh, T), dtype=np.int64)
    entm[:, :12] = fi.ent
    entm += fi.sr
    cr, ce = np.cumsum(recv, axis=1), np.cumsum(entm, axis=1)
    cash = pd.DataFrame({
        "fund": fi.fund.id, "hospital_id": np.repeat(fi.hospital_ids, T),
        "month": np.tile(labels, nh), "t": np.tile(np.arange(1, T + 1), nh),
        "received": y(recv.ravel()), "entitlement": y(entm.ravel()),
        "cum_received": y(cr.ravel()), "cum_entitlement": y(ce.ravel()),
        "position": y((cr - ce).ravel()),
    })
    if np.isfinite(mor).any():
        i = int(np.nanargmin(mor))
        low, low_t = float(mor[i]), i + 1
    else:
        low, low_t = float("nan"), 0
    return FundLedger(fi.fund.id, ok, why, pdef, ledger, accounts, cash, alerts, low, low_t,
                      why_zh)


# ------------------------------------------------------------------------------ what-ifs


def perturb(fi: FundInputs, *, income_growth: float = 0.0, spending_growth: float = 0.0,
            volume_noise: np.ndarray | None = None) -> FundInputs:
    """Inputs scaled by (1 + growth) per month, and each hospital-month's advance and entitlement
    by (1 + noise[h, m]) (at least 0); each scaled amount rounded half-up once.

    Final amounts are kept: under a global budget with a floating point value the year pays the
    budget whatever the volume, so noise moves money between the advances and the clearing.
    """
    out = replace(fi, income=cents(fi.income / 100.0 * (1.0 + income_growth)),
                  other=cents(fi.other / 100.0 * (1.0 + spending_growth)))
    if volume_noise is not None:
        f = np.maximum(1.0 + volume_noise, 0.0)
        out = replace(out, gross_adv=cents(fi.gross_adv / 100.0 * f),
                      ent=cents(fi.ent / 100.0 * f))
    return out


@dataclass(frozen=True)
class CashflowResult:
    """A region's cash-flow run: one :class:`FundLedger` per fund, what-ifs, Monte Carlo."""

    funds: dict[str, FundLedger]
    inputs: dict[str, FundInputs]
    whatifs: pd.DataFrame
    mc_draws: pd.DataFrame
    mc_percentiles: pd.DataFrame

    def table(self, name: str) -> pd.DataFrame:
        """``ledger``, ``accounts``, ``cash`` or ``alerts`` of every fund, stacked."""
        return pd.concat([getattr(f, name) for f in self.funds.values()], ignore_index=True)

    def summary(self, lang: str = "en") -> pd.DataFrame:
        """One row per fund: eligibility (its reason in ``lang``), prepayment total, lowest
        months of reserve."""
        rows = []
        for f in self.funds.values():
            rows.append({"fund": f.fund, "prepayment_eligible": f.eligible,
                         "eligibility": f.eligibility_zh if lang == "zh" else f.eligibility,
                         "projected_deficit": f.projected_deficit,
                         "prepayment": round(float(f.accounts["prepayment"].sum()), 2),
                         "lowest_months_of_reserve": f.lowest_mor,
                         "lowest_month": f.ledger["month"].iloc[f.lowest_month - 1]
                         if f.lowest_month else "",
                         "closing": float(f.ledger["closing"].iloc[-1]),
                         "alerts": len(f.alerts)})
        return pd.DataFrame(rows)
