"""特例单议 special case review: eligibility, quota, selection, approval, re-pricing (§6, §13).

Rules, all from ``[special_review]``:

* eligibility (any of): LOS > ``los_limit``; cost ≥ ``cost_multiple`` × group average; newborn
  with birth weight < ``newborn_max_weight_g`` and cost ≥ ``newborn_region_multiple`` × region
  average and ≥ ``newborn_group_multiple`` × group average; new drug/technology (``new_tech``
  flag or ``new_tech_cost`` > 0); ungroupable/ambiguous; small group; DIP r > review; ICU flag.
  LOS-excluded (and invalid) stays are paid outside the scheme and are never candidates.
* quota per hospital per period = floor(``quota_rate`` × base) in exact decimals, base = the
  hospital's cases in the period that are not excluded.
* selection: only candidates with a positive gain apply, largest gain first, ties by case id;
  gain = re-priced amount − payment at the budget point value, after the deduction.
* approval: the first floor(``approval_rate`` × applied) applied cases (in selection order).
* re-pricing: total cost × (1 − ``deduction_share``) (fee-for-service), or points ×
  ``review_coefficient`` × yuan per point; rounded half-up to 0.01 yuan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .outliers import CLASSES
from .policy import Policy, exact_fraction
from .pricing import round_half_up_cents
from .weights import Weights, factorize

#: names used in ``sr_reasons`` (``|``-separated), in this order
RULES: tuple[str, ...] = (
    "los", "cost_multiple", "newborn", "new_tech", "ungroupable", "small_group", "dip_review",
    "icu",
)
STATUSES = ("", "approved", "not_approved", "no_gain", "over_quota")
_REASON_LABELS = [
    "|".join(rule for bit, rule in enumerate(RULES) if m >> bit & 1) for m in range(2 ** len(RULES))
]


def quota(base: int | np.ndarray, rate: float) -> int | np.ndarray:
    """floor(rate × base) in exact decimal arithmetic (5‰ of 1,400 = 7, not 6.999…).

    ``rate`` is read as the decimal it prints as (0.005 = 1/200); integer floor division.
    """
    frac = exact_fraction(rate)
    if isinstance(base, np.ndarray):
        return (base.astype(np.int64) * frac.numerator) // frac.denominator
    return (int(base) * frac.numerator) // frac.denominator


def _truthy(cases: pd.DataFrame, col: str) -> np.ndarray:
    if col not in cases.columns:
        return np.zeros(len(cases), dtype=bool)
    s = cases[col]
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).to_numpy(bool)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return (s.fillna(0).to_numpy(np.float64) != 0)
    t = s.astype("str").fillna("").str.strip().str.lower()
    return t.isin(["1", "true", "yes", "y", "t", "是"]).to_numpy(bool)


def _num(cases: pd.DataFrame, col: str) -> np.ndarray:
    if col not in cases.columns:
        return np.full(len(cases), np.nan)
    return pd.to_numeric(cases[col], errors="coerce").to_numpy(np.float64, na_value=np.nan)


def eligibility(
    priced: pd.DataFrame, cases: pd.DataFrame, weights: Weights, policy: Policy
) -> dict[str, np.ndarray]:
    """One boolean array per rule in :data:`RULES` (rules the policy leaves off are all False)."""
    sp = policy.special_review
    n = len(priced)
    cls = priced["case_class"].cat.codes.to_numpy()
    in_scheme = cls != CLASSES.index("excluded")
    cost = priced["total_cost"].to_numpy(np.float64)
    los = priced["los"].to_numpy(np.float64)
    group_mean = np.where(
        priced["base_points"].notna().to_numpy(),
        priced["base_points"].to_numpy(np.float64) / weights.points_scale
        * weights.region_mean_cost, np.nan,
    )  # = the group's region mean cost (base points = mean ÷ region mean × scale)
    no = np.zeros(n, dtype=bool)
    out: dict[str, np.ndarray] = {}
    out["los"] = (los > sp.los_limit) if sp.los_limit is not None else no
    out["cost_multiple"] = (
        cost >= sp.cost_multiple * group_mean if sp.cost_multiple is not None else no
    )
    if sp.newborn_max_weight_g is not None:
        bw = _num(cases, "birth_weight")
        out["newborn"] = (
            (bw > 0) & (bw < sp.newborn_max_weight_g)
            & (cost >= sp.newborn_region_multiple * weights.region_mean_cost)
            & (cost >= sp.newborn_group_multiple * group_mean)
        )
    else:
        out["newborn"] = no
    out["new_tech"] = (
        (_truthy(cases, "new_tech") | (np.nan_to_num(_num(cases, "new_tech_cost")) > 0))
        if sp.new_tech else no
    )
    out["ungroupable"] = (cls == CLASSES.index("ungroupable")) if sp.ungroupable else no
    out["small_group"] = priced["small_group"].to_numpy(bool) if sp.small_groups else no
    out["dip_review"] = priced["review_flag"].to_numpy(bool) if sp.dip_review else no
    out["icu"] = _truthy(cases, "icu") if sp.icu else no
    return {k: np.asarray(v, dtype=bool) & in_scheme for k, v in out.items()}


def period_of(month: np.ndarray, period: str) -> np.ndarray:
    """Quota period number: quarter 1–4, month 1–12 or 1 for a year; 0 when month unknown."""
    m = np.asarray(month, dtype=np.int64)
    if period == "quarter":
        return np.where(m > 0, (m - 1) // 3 + 1, 0)
    if period == "month":
        return m
    return np.ones_like(m)


def review(
    priced: pd.DataFrame, cases: pd.DataFrame, weights: Weights, policy: Policy,
    *, enabled: bool = True, copy: bool = True, hospital_codes: np.ndarray | None = None,
) -> pd.DataFrame:
    """Add ``sr_*`` columns to ``priced`` (a copy): candidate, reasons, applied, approved,
    status, period (``sr_quarter``), re-priced amount (yuan, 0 unless approved) and gain."""
    sp = policy.special_review
    out = priced.copy() if copy else priced
    n = len(out)
    period = period_of(out["month"].to_numpy(), sp.quota_period)
    empty_status = pd.Categorical.from_codes(np.zeros(n, np.int8), categories=list(STATUSES))
    if not (enabled and sp.enabled) or n == 0:
        out["sr_candidate"] = False
        out["sr_reasons"] = pd.Categorical.from_codes(np.zeros(n, np.int64),
                                                      categories=_REASON_LABELS)
        out["sr_applied"] = False
        out["sr_approved"] = False
        out["sr_status"] = empty_status
        out["sr_quarter"] = period
        out["sr_amount"] = 0.0
        out["sr_gain"] = 0.0
        return out

    flags = eligibility(out, cases, weights, policy)
    cand = np.zeros(n, dtype=bool)
    for v in flags.values():
        cand |= v
    # reasons as a bit mask per case, shown through a categorical of all 2^k combinations
    mask = np.zeros(n, dtype=np.int64)
    for bit, rule in enumerate(RULES):
        mask |= flags[rule].astype(np.int64) << bit

    # re-priced amount (yuan, total-cost basis) and the gain that drives the application
    ypp = float(out.attrs.get("yuan_per_point", np.nan))
    cost = out["total_cost"].to_numpy(np.float64)
    if sp.repricing == "fee_for_service":
        amount = cost * float(exact_fraction(1.0) - exact_fraction(sp.deduction_share))
    else:
        amount = out["points"].to_numpy(np.float64) * sp.review_coefficient * ypp
    amount_c = round_half_up_cents(amount)
    gain_c = amount_c - round_half_up_cents(out["payment"].to_numpy(np.float64))
    gain = np.where(cand, gain_c / 100.0, 0.0)

    # quota per hospital × (year) × period over the cases not excluded
    h = hospital_codes if hospital_codes is not None else factorize(out["hospital_id"])[0]
    year = (pd.to_numeric(cases["year"], errors="coerce").fillna(0).to_numpy(np.int64)
            if "year" in cases.columns else np.zeros(n, np.int64))
    y_codes, _ = pd.factorize(year)
    # one int key per hospital × year × period (periods 0–12)
    hp, _ = pd.factorize((h * (y_codes.max() + 1) + y_codes) * 13 + period)
    hp = hp.astype(np.int64)
    in_scheme = out["case_class"].cat.codes.to_numpy() != CLASSES.index("excluded")
    base = np.bincount(hp[in_scheme], minlength=hp.max() + 1 if n else 0)
    q = quota(base, sp.quota_rate)

    applied = np.zeros(n, dtype=bool)
    approved = np.zeros(n, dtype=bool)
    positive = cand & (gain_c > 0)
    pidx = np.flatnonzero(positive)
    if len(pidx):
        sel = pd.DataFrame({
            "row": pidx, "hp": hp[pidx], "gain": gain_c[pidx],
            "case_id": out["case_id"].iloc[pidx].astype(str).to_numpy(),
        }).sort_values(["hp", "gain", "case_id"], ascending=[True, False, True], kind="stable")
        rank = sel.groupby("hp", sort=False).cumcount().to_numpy()
        rows = sel["row"].to_numpy()
        is_applied = rank < q[sel["hp"].to_numpy()]
        applied[rows[is_applied]] = True
        n_applied = np.bincount(sel["hp"].to_numpy()[is_applied], minlength=len(q))
        n_ok = quota(n_applied, sp.approval_rate)
        is_ok = is_applied & (rank < n_ok[sel["hp"].to_numpy()])
        approved[rows[is_ok]] = True

    status = np.zeros(n, dtype=np.int8)
    status[cand & ~positive] = STATUSES.index("no_gain")
    status[positive & ~applied] = STATUSES.index("over_quota")
    status[applied & ~approved] = STATUSES.index("not_approved")
    status[approved] = STATUSES.index("approved")

    out["sr_candidate"] = cand
    out["sr_reasons"] = pd.Categorical.from_codes(mask, categories=_REASON_LABELS)
    out["sr_applied"] = applied
    out["sr_approved"] = approved
    out["sr_status"] = pd.Categorical.from_codes(status, categories=list(STATUSES))
    out["sr_quarter"] = period
    out["sr_amount"] = np.where(approved, amount_c / 100.0, 0.0)
    out["sr_gain"] = gain
    out.attrs["sr_quota"] = {"rate": sp.quota_rate, "period": sp.quota_period}
    return out
