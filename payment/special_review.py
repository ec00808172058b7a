"""特例单议 special case review: eligibility, quota, selection, approval, re-pricing (§6, §13).

Rules, all from ``[special_review]``:

* eligibility (any of): LOS > ``los_limit``; cost ≥ ``cost_multiple`` × the group's region mean
  cost (§13: the group's mean, not RW × all-case mean); newborn (``age_days`` ≤
  ``newborn_max_age_days``, default 28) with birth weight < ``newborn_max_weight_g`` and cost ≥
  ``newborn_region_multiple`` × region average and ≥ ``newborn_group_multiple`` × group average; new drug/technology (``new_tech``
  flag or ``new_tech_cost`` > 0); ungroupable/ambiguous; small group; DIP r > review; ICU flag.
  LOS-excluded (and invalid) stays are paid outside the scheme and are never candidates.
* quota per hospital per period = ``quota_rounding`` (floor) of ``quota_rate`` × base in exact
  decimals, base = the
  hospital's cases in the period that are not excluded.
* selection: only candidates with a positive gain apply, largest gain first, ties by case id;
  gain = re-priced amount − payment at the budget point value, after the deduction.
* approval: the first floor(``approval_rate`` × applied) applied cases (in selection order).
* re-pricing: total cost × (1 − ``deduction_share``) (fee-for-service), or points ×
  ``review_coefficient`` × yuan per point; not rounded (the exact amount enters the
  point-value solve, §13; settlement rounds each hospital's amounts).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _kernels as K
from .outliers import CLASSES
from .policy import Policy, exact_fraction
from .review_selection import STATUSES, quota, select
from .weights import Weights, factorize

#: names used in ``sr_reasons`` (``|``-separated), in this order
RULES: tuple[str, ...] = (
    "los", "cost_multiple", "newborn", "new_tech", "ungroupable", "small_group", "dip_review",
    "icu",
)
_REASON_LABELS = [
    "|".join(rule for bit, rule in enumerate(RULES) if m >> bit & 1) for m in range(2 ** len(RULES))
]
_REASON_DTYPE = pd.CategoricalDtype(_REASON_LABELS)
_STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))


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


def _bool_or_empty(cases: pd.DataFrame, col: str) -> np.ndarray:
    return _truthy(cases, col) if col in cases.columns else np.zeros(0, dtype=bool)


def _num_or_empty(cases: pd.DataFrame, col: str) -> np.ndarray:
    return _num(cases, col) if col in cases.columns else np.zeros(0)


def group_means(weights: Weights, groups: Any) -> np.ndarray:
    """Each case's group region mean cost (yuan) from ``weights.groups``; nan when unknown."""
    gt = weights.groups
    index = pd.Index(gt["group"].astype(str))
    codes, uniq = pd.factorize(pd.Series(groups).astype("str").fillna(""),
                               use_na_sentinel=False)
    if len(uniq) == 0:
        return np.zeros(0)
    pos = index.get_indexer(pd.Index(uniq))
    means = np.append(gt["mean_cost"].to_numpy(np.float64), np.nan)
    return means[np.where(pos >= 0, pos, len(means) - 1)][codes]


def _mask(
    cases: pd.DataFrame, weights: Weights, policy: Policy, cls: np.ndarray, cost: np.ndarray,
    los: np.ndarray, group_mean: np.ndarray, small: np.ndarray, review_flag: np.ndarray,
) -> np.ndarray:
    """Eligibility bit mask per case (bit k = ``RULES[k]``) from the case table's columns."""
    sp = policy.special_review
    newborn = sp.newborn_max_weight_g is not None
    return eligibility_mask(
        weights, policy, cls, cost, los, group_mean, small, review_flag,
        birth_weight=_num_or_empty(cases, "birth_weight") if newborn else None,
        age_days=_num_or_empty(cases, "age_days") if newborn else None,
        new_tech=_bool_or_empty(cases, "new_tech") if sp.new_tech else None,
        new_tech_cost=_num_or_empty(cases, "new_tech_cost") if sp.new_tech else None,
        icu=_bool_or_empty(cases, "icu") if sp.icu else None)


def eligibility_mask(
    weights: Weights, policy: Policy, cls: np.ndarray, cost: np.ndarray, los: np.ndarray,
    group_mean: np.ndarray, small: np.ndarray, review_flag: np.ndarray, *,
    birth_weight: np.ndarray | None = None, age_days: np.ndarray | None = None,
    new_tech: np.ndarray | None = None, new_tech_cost: np.ndarray | None = None,
    icu: np.ndarray | None = None, params: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Eligibility bit mask per priced case (bit k = ``RULES[k]``; 0 = not a candidate).

    ``cls`` class codes, ``cost`` yuan, ``los`` days, ``group_mean`` each case's group region
    mean cost (yuan, nan without a group; §13: the cost multiple is against it), ``small`` and
    ``review_flag`` as :func:`payment.price` computes them; the optional per-case inputs
    (``birth_weight`` grams, ``age_days`` days, ``new_tech`` bool, ``new_tech_cost`` yuan,
    ``icu`` bool) are None when the cases have no such column; ``params``: :func:`sr_params`
    of the same weights and policy (built here when None).
    """
    sf, si = sr_params(weights, policy) if params is None else params

    def opt(x: np.ndarray | None, dtype: type) -> np.ndarray:
        return np.zeros(0, dtype) if x is None else np.ascontiguousarray(x, dtype)

    out = np.empty(len(cls), dtype=np.int64)
    K.sr_mask(np.ascontiguousarray(cls, dtype=np.int8), np.ascontiguousarray(cost, np.float64),
              np.ascontiguousarray(los, np.float64),
              np.ascontiguousarray(group_mean, np.float64),
              np.ascontiguousarray(small, np.bool_), np.ascontiguousarray(review_flag, np.bool_),
              opt(birth_weight, np.float64), opt(age_days, np.float64), opt(new_tech, np.bool_),
              opt(new_tech_cost, np.float64), opt(icu, np.bool_), sf, si, out)
    return out


def sr_params(weights: Weights, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """The ``sr_mask`` kernel's float and flag parameters of a policy (thresholds in days,
    multiples, grams, yuan): what :func:`eligibility_mask` reads from the weights and the
    policy, built once by a caller that checks cases many times."""
    sp = policy.special_review
    sf = np.array([
        sp.los_limit if sp.los_limit is not None else np.nan,
        sp.cost_multiple if sp.cost_multiple is not None else np.nan,
        sp.newborn_max_weight_g if sp.newborn_max_weight_g is not None else np.nan,
        sp.newborn_region_multiple * weights.region_mean_cost
        if sp.newborn_max_weight_g is not None else np.nan,
        sp.newborn_group_multiple if sp.newborn_max_weight_g is not None else np.nan,
        float(sp.newborn_max_age_days),
    ], dtype=np.float64)
    si = np.array([
        sp.los_limit is not None, sp.cost_multiple is not None,
        sp.newborn_max_weight_g is not None, bool(sp.new_tech), bool(sp.ungroupable),
        bool(sp.small_groups), bool(sp.dip_review), bool(sp.icu),
    ], dtype=np.int64)
    return sf, si


def reason_text(mask: np.ndarray) -> list[str]:
    """The ``sr_reasons`` text (``|``-separated :data:`RULES`) of each eligibility mask."""
    return [_REASON_LABELS[int(m)] for m in mask]


def eligibility(
    priced: pd.DataFrame, cases: pd.DataFrame, weights: Weights, policy: Policy
) -> dict[str, np.ndarray]:
    """One boolean array per rule in :data:`RULES` (rules the policy leaves off are all False)."""
    mask = _mask(
        cases, weights, policy, priced["case_class"].cat.codes.to_numpy(),
        priced["total_cost"].to_numpy(np.float64), priced["los"].to_numpy(np.float64),
        group_means(weights, priced["group"]), priced["small_group"].to_numpy(bool),
        priced["review_flag"].to_numpy(bool),
    )
    return {rule: (mask >> bit & 1).astype(bool) for bit, rule in enumerate(RULES)}


def period_of(month: np.ndarray, period: str) -> np.ndarray:
    """Quota period number: quarter 1–4, month 1–12 or 1 for a year; 0 when month unknown."""
    m = np.asarray(month, dtype=np.int64)
    if period == "quarter":
        return np.where(m > 0, (m - 1) // 3 + 1, 0)
    if period == "month":
        return m
    return np.ones_like(m)


def review_columns(
    cases: pd.DataFrame, weights: Weights, policy: Policy, *, enabled: bool,
    cls: np.ndarray, cost: np.ndarray, los: np.ndarray, base_points: np.ndarray,
    small: np.ndarray, review_flag: np.ndarray, points: np.ndarray, payment: np.ndarray,
    month: np.ndarray, case_id: Any, hospital_codes: np.ndarray | None,
    yuan_per_point: float, hospital_id: Any = None, group_mean: np.ndarray | None = None,
    groups: Any = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``sr_*`` columns (in contract order) and attrs for priced cases given as arrays:
    ``cls`` class codes, ``payment`` yuan, ``month`` 0–12, ``case_id`` text (array-like),
    ``hospital_codes`` int codes (-1 none) or None to factorise ``hospital_id``;
    ``group_mean`` each case's group region mean cost (yuan) or None to look up ``groups``."""
    sp = policy.special_review
    n = len(cls)
    month = np.asarray(month)
    if not (enabled and sp.enabled) or n == 0:
        return {
            "sr_candidate": np.zeros(n, dtype=bool),
            "sr_reasons": pd.Categorical.from_codes(np.zeros(n, np.int8), dtype=_REASON_DTYPE),
            "sr_applied": np.zeros(n, dtype=bool),
            "sr_approved": np.zeros(n, dtype=bool),
            "sr_status": pd.Categorical.from_codes(np.zeros(n, np.int8), dtype=_STATUS_DTYPE),
            "sr_quarter": period_of(month, sp.quota_period),
            "sr_amount": np.zeros(n),
            "sr_gain": np.zeros(n),
        }, {}

    if group_mean is None:
        group_mean = (group_means(weights, groups) if groups is not None
                      else np.full(n, np.nan))
    mask = _mask(cases, weights, policy, cls, cost, los, group_mean, small, review_flag)
    cand = mask != 0

    # re-priced amount (yuan, total-cost basis) and the gain that drives the application
    ffs = sp.repricing == "fee_for_service"
    factor = float(exact_fraction(1.0) - exact_fraction(sp.deduction_share)) if ffs else 0.0
    amount = np.empty(n)
    gain_c = np.empty(n)
    gain = np.empty(n)
    K.sr_gain(np.ascontiguousarray(cost, np.float64), np.ascontiguousarray(points, np.float64),
              np.ascontiguousarray(payment, np.float64), mask, ffs, factor,
              float(sp.review_coefficient) if not ffs else 0.0, float(yuan_per_point),
              amount, gain_c, gain)

    # quota per hospital × (year) × period over the cases not excluded
    h = hospital_codes if hospital_codes is not None else factorize(hospital_id)[0]
    h = np.asarray(h, dtype=np.int64)
    if "year" in cases.columns:
        ys = cases["year"]
        if pd.api.types.is_integer_dtype(ys.dtype) and not isinstance(
                ys.dtype, pd.CategoricalDtype) and not ys.hasnans:
            year = ys.to_numpy(np.int64)
        else:
            year = pd.to_numeric(ys, errors="coerce").fillna(0).to_numpy(np.int64)
    else:
        year = np.zeros(n, np.int64)
    y_min, y_max = int(year.min()), int(year.max())
    n_h = int(h.max()) + 2
    n_y = y_max - y_min + 1
    mode = {"quarter": 0, "month": 1}.get(sp.quota_period, 2)
    m64 = np.ascontiguousarray(month, dtype=np.int64)
    dense_ok = (int(h.min()) >= -1 and n_y <= 100_000 and n_h * n_y * 13 <= 50_000_000
                and (mode == 2 or (int(m64.min()) >= 0 and int(m64.max()) <= 12)))
    cls8 = np.ascontiguousarray(cls, dtype=np.int8)
    if dense_ok:
        hp = np.empty(n, np.int64)
        period = np.empty(n, np.int64)
        base = np.zeros(n_h * n_y * 13, np.int64)
        K.sr_periods(h, year, y_min, n_y, m64, mode, cls8, hp, period, base)
    else:  # any key space: factorise the cells
        period = period_of(month, sp.quota_period)
        y_codes, _ = pd.factorize(year)
        hp, _ = pd.factorize((h * (y_codes.max() + 1) + y_codes) * 13 + period)
        hp = hp.astype(np.int64)
        in_scheme = cls8 != CLASSES.index("excluded")
        base = np.bincount(hp[in_scheme], minlength=hp.max() + 1)
    q = quota(base, sp.quota_rate, sp.quota_rounding)

    # selection: per cell, positive gains largest first, ties by case id; the first quota
    # cases apply, the first floor(approval rate × applied) of those are approved
    applied = np.zeros(n, dtype=bool)
    approved = np.zeros(n, dtype=bool)
    positive = cand & (gain_c > 0)
    pidx = np.flatnonzero(positive)
    if len(pidx):
        def ids(pos: np.ndarray) -> np.ndarray:
            return np.asarray(pd.Series(case_id[pidx[pos]]).astype(str).to_numpy(), dtype=object)

        is_applied, is_ok = select(hp[pidx], gain_c[pidx], ids, q, sp.approval_rate)
        applied[pidx[is_applied]] = True
        approved[pidx[is_ok]] = True

    status = np.zeros(n, dtype=np.int8)
    status[cand] = STATUSES.index("no_gain")
    status[pidx] = STATUSES.index("over_quota")
    status[applied] = STATUSES.index("not_approved")
    status[approved] = STATUSES.index("approved")
    sr_amount = np.zeros(n)
    ok_rows = np.flatnonzero(approved)
    sr_amount[ok_rows] = amount[ok_rows]

    return {
        "sr_candidate": cand,
        "sr_reasons": pd.Categorical.from_codes(mask, dtype=_REASON_DTYPE),
        "sr_applied": applied,
        "sr_approved": approved,
        "sr_status": pd.Categorical.from_codes(status, dtype=_STATUS_DTYPE),
        "sr_quarter": period,
        "sr_amount": sr_amount,
        "sr_gain": gain,
    }, {"sr_quota": {"rate": sp.quota_rate, "period": sp.quota_period}}


def review(
    priced: pd.DataFrame, cases: pd.DataFrame, weights: Weights, policy: Policy,
    *, enabled: bool = True, copy: bool = True, hospital_codes: np.ndarray | None = None,
) -> pd.DataFrame:
    """Add ``sr_*`` columns to ``priced`` (a copy): candidate, reasons, applied, approved,
    status, period (``sr_quarter``), re-priced amount (yuan, 0 unless approved) and gain."""
    out = priced.copy() if copy else priced
    cols, attrs = review_columns(
        cases, weights, policy, enabled=enabled,
        cls=out["case_class"].cat.codes.to_numpy(), cost=out["total_cost"].to_numpy(np.float64),
        los=out["los"].to_numpy(np.float64), base_points=out["base_points"].to_numpy(np.float64),
        small=out["small_group"].to_numpy(bool), review_flag=out["review_flag"].to_numpy(bool),
        points=out["points"].to_numpy(np.float64), payment=out["payment"].to_numpy(np.float64),
        month=out["month"].to_numpy(), case_id=out["case_id"].array,
        hospital_codes=hospital_codes, yuan_per_point=float(out.attrs.get("yuan_per_point",
                                                                         np.nan)),
        hospital_id=out["hospital_id"], groups=out["group"],
    )
    for name, col in cols.items():
        out[name] = col
    out.attrs.update(attrs)
    return out
