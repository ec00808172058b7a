"""The hospital side of a tiered-care shift (分级诊疗, domain.md §9 last paragraph, §8, §13).

After :func:`payment.tiered_care.shift_cases` moves cases between levels, the DRG side is
re-priced (the moved cases take the destination hospital's coefficient, their new cost decides
their class) and re-settled: points, point value and each hospital's final amount, baseline
against variant. With a benefit policy, settlement's patient payments are the §9 ones
(total_cost − basic, :func:`with_patient_paid`) on both sides, so one run shows both sides.
:func:`shift_monte_carlo` draws the shifted share and cost growth (seeded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from . import _settle_kernels as K
from .benefit_policy import BenefitPolicy
from .benefit_summary import patient_paid
from .cost_sharing import cost_sharing
from .monte_carlo import Distribution
from .pricing import price
from .settlement import SettlementResult, encode, prepare, settle
from .tiered_care import LevelShift, shift_cases
from .whatif import build_cells, run_whatifs

__all__ = ["ShiftMonteCarlo", "ShiftSettlement", "shift_monte_carlo", "shift_settlement",
           "with_patient_paid"]

#: statement columns compared per hospital (yuan, except cases and points)
HOSPITAL_COLUMNS = ("cases", "points", "total_cost", "entitlement", "final_amount", "result")
SUMMARY_KEYS = ("point_value", "budget", "paid", "reserve_kept", "returned", "sharing",
                "recovered")


def with_patient_paid(cases: pd.DataFrame, benefits: BenefitPolicy) -> pd.DataFrame:
    """A copy of ``cases`` whose ``patient_paid`` is the §9 engine's (total_cost − basic, yuan to
    the cent) under ``benefits``; the cases need the columns :func:`payment.cost_sharing` reads."""
    out = cases.copy()
    out["patient_paid"] = patient_paid(cases, cost_sharing(cases, benefits))
    return out


def _carry(priced: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    for col in ("patient_paid", "alliance_id"):
        if col in cases.columns and col not in priced.columns:
            priced[col] = cases[col].to_numpy()
    return priced


@dataclass(frozen=True)
class ShiftSettlement:
    """Baseline and variant settlement of a shift: ``hospitals`` (per hospital, the
    :data:`HOSPITAL_COLUMNS` as ``_baseline`` / ``_variant`` / ``_diff``), ``summary`` (one row
    per metric), the number of ``moved`` cases, both priced tables and both settlements."""

    hospitals: pd.DataFrame
    summary: pd.DataFrame
    moved: int
    baseline_priced: pd.DataFrame
    variant_priced: pd.DataFrame
    baseline: SettlementResult
    variant: SettlementResult


def _price(cases: pd.DataFrame, weights: Any, policy: Any,
           benefits: BenefitPolicy | None) -> pd.DataFrame:
    if benefits is not None:
        cases = with_patient_paid(cases, benefits)
    return _carry(price(cases, weights, policy), cases)


def shift_settlement(cases: pd.DataFrame, weights: Any, policy: Any, shift: LevelShift, *,
                     benefits: BenefitPolicy | None = None,
                     **settle_kw: Any) -> ShiftSettlement:
    """Price and settle ``cases`` (the grouped cases ``payment.price`` reads) as they are and
    after ``shift``; compare each hospital's points, entitlement and final amount (yuan).

    The budget is the policy's; a growth budget takes the baseline's prior-year actual (unless
    ``prior_year_actual`` is given), so both sides share one budget. Draws of
    :func:`shift_monte_carlo` do the same. ``benefits``: the
    patient payments settlement subtracts come from the §9 engine on each side.
    """
    base_p = _price(cases, weights, policy, benefits)
    shifted, moved = shift_cases(cases, shift)
    var_p = _price(shifted, weights, policy, benefits)
    base = settle(base_p, policy, **settle_kw)
    if "prior_year_actual" not in settle_kw:
        settle_kw = {**settle_kw, "prior_year_actual": _prior(base_p, policy, **settle_kw)}
    var = settle(var_p, policy, **settle_kw)
    cols = list(HOSPITAL_COLUMNS)
    a = base.statement[["hospital_id", *cols]]
    b = var.statement[["hospital_id", *cols]]
    m = a.merge(b, on="hospital_id", how="outer", suffixes=("_baseline", "_variant"))
    for c in cols:
        m[[f"{c}_baseline", f"{c}_variant"]] = m[[f"{c}_baseline", f"{c}_variant"]].fillna(0)
        m[f"{c}_diff"] = m[f"{c}_variant"] - m[f"{c}_baseline"]
        if c not in ("points",):
            m[f"{c}_diff"] = np.round(m[f"{c}_diff"], 2)
    for c in ("cases_baseline", "cases_variant", "cases_diff"):
        m[c] = m[c].astype(np.int64)
    summ = pd.DataFrame({"metric": list(SUMMARY_KEYS),
                         "baseline": [base.summary[k] for k in SUMMARY_KEYS],
                         "variant": [var.summary[k] for k in SUMMARY_KEYS]})
    summ["diff"] = np.round(summ["variant"] - summ["baseline"], 10)
    return ShiftSettlement(m.sort_values("hospital_id", ignore_index=True), summ,
                           int(moved.sum()), base_p, var_p, base, var)


def _prior(priced: pd.DataFrame, policy: Any, **settle_kw: Any) -> float:
    """The prior-year actual settlement derives for ``priced`` (yuan; used by growth budgets)."""
    return float(encode(prepare(priced, policy), policy, **settle_kw).p[K.P_PRIOR])


def shift_monte_carlo(cases: pd.DataFrame, weights: Any, policy: Any, shift: LevelShift,
                      share: Distribution, *, cost_growth: Distribution | None = None,
                      draws: int = 100, seed: int = 0,
                      benefits: BenefitPolicy | None = None,
                      percentiles: tuple[float, ...] = (5.0, 50.0, 95.0),
                      prior_year_actual: float | None = None,
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded Monte Carlo over a shift: per draw the moved share (``share``, clipped to [0, 1])
    and cost growth (fraction, ``cost_growth``; what-if rule: points kept, costs scaled) are
    drawn from ``numpy.random.default_rng(seed)``; the shifted cases are re-priced and settled.

    Returns (draws: one row per draw with its inputs and summary, hospitals: each hospital's
    result — final − fee-for-service fund amount, yuan — mean and percentiles over the draws).
    ``prior_year_actual`` (yuan): a growth budget's basis; the baseline's when not given.
    """
    rng = np.random.default_rng(seed)
    s = np.clip(share.draw(rng, draws), 0.0, 1.0)
    g = (np.maximum(cost_growth.draw(rng, draws), -0.99) if cost_growth is not None
         else np.zeros(draws))
    rows, results = [], []
    # every hospital of the year is listed, also one that a draw leaves without cases (0)
    ids: list[str] = sorted(set(cases["hospital_id"].astype(str)))
    base_cases = with_patient_paid(cases, benefits) if benefits is not None else cases
    prior = (_prior(_carry(price(base_cases, weights, policy), base_cases), policy)
             if prior_year_actual is None else float(prior_year_actual))
    for d in range(draws):
        shifted, moved = shift_cases(cases, shift.model_copy(update={"share": float(s[d])}))
        if benefits is not None:  # §9 patient payments of the shifted year
            shifted = with_patient_paid(shifted, benefits)
        pr = _carry(price(shifted, weights, policy), shifted)
        cells = build_cells(pr, policy)
        w = np.zeros((1, K.W))
        w[0, K.W_COST] = g[d]
        summ, res = run_whatifs(cells, encode(cells.inputs, policy, prior_year_actual=prior), w)
        summ.insert(0, "moved", int(moved.sum()))
        summ.insert(0, "cost_growth", g[d])
        summ.insert(0, "share", s[d])
        summ.insert(0, "draw", d)
        rows.append(summ)
        hid = list(cells.inputs.hospital_ids)
        results.append(pd.Series(res[0], index=hid))
        ids = sorted(set(ids) | set(hid))
    table = pd.concat(rows, ignore_index=True)
    res = pd.concat(results, axis=1).reindex(ids).fillna(0.0).to_numpy()
    q = list(percentiles)
    hosp = pd.DataFrame(np.percentile(res, q, axis=1).T, columns=[f"p{p:g}" for p in q])
    hosp.insert(0, "mean", res.mean(axis=1))
    hosp.insert(0, "p_loss", (res < 0).mean(axis=1))
    hosp.insert(0, "hospital_id", ids)
    return table, hosp


class ShiftMonteCarlo(BaseModel):
    """A scenario's ``[tiered_shift_monte_carlo]``: seeded draws of the shifted share (fraction,
    clipped to [0, 1]) and of cost growth (fraction), each draw re-priced and re-settled."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    draws: int = Field(100, ge=1, le=10_000, strict=True)
    seed: int = Field(0, ge=0, le=2**63 - 1, strict=True)
    share: Distribution
    cost_growth: Distribution | None = None
    percentiles: tuple[Annotated[float, Field(ge=0.0, le=100.0, strict=True)], ...] = (
        5.0, 50.0, 95.0)
