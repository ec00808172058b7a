"""price(): case class, points and yuan for every case (§4, §5, order and boundaries §13).

The public function encodes the tables into int labels and float arrays; the per-case decision
is one numba kernel (:func:`payment._kernels.price_cases`). Rounding: each case's ``payment``
and ``gain`` are rounded half-up to 0.01 yuan (integer cents); the point value itself is not
rounded. Settlement should aggregate ``points`` (exact), not the rounded yuan.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from . import _kernels as K
from .outliers import (
    CLASSES,
    READMISSION_REASON,
    REASONS,
    high_thresholds,
    prefix_match,
    readmission_flags,
)
from .policy import Policy
from .weights import Weights, factorize

CASE_COLUMNS = (
    "case_id", "hospital_id", "hospital_level", "total_cost", "los", "discharge_mode", "month",
)
_DAY_UNKNOWN = np.iinfo(np.int64).min

# ---- money -------------------------------------------------------------------------------------


def _dec(x: float) -> Decimal:
    """The decimal a planner wrote, not the binary float nearest to it."""
    return Decimal(repr(float(x)))


def reserve_amount(budget: float, reserve_rate: float) -> Decimal:
    """Reserve withheld = budget × rate, rounded half-up to the cent (§13), yuan."""
    return (_dec(budget) * _dec(reserve_rate)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def point_value_from_budget(
    budget: float,
    total_points: float,
    reserve_rate: float = 0.0,
    reserve_withheld: bool = True,
    reimbursement_ratio: float = 1.0,
) -> float:
    """Yuan per point = (budget − reserve if withheld) ÷ reimbursement ratio ÷ Σ points (§4).

    ``budget`` is fund money (yuan); dividing by the reimbursement ratio puts it on the
    total-cost basis. Example §4: 1,000,000,000 with 5 % withheld over 9,500,000 points → 100.00.
    """
    if total_points <= 0:
        return float("nan")
    fund = _dec(budget)
    if reserve_withheld:
        fund -= reserve_amount(budget, reserve_rate)
    return float(fund / _dec(reimbursement_ratio) / _dec(total_points))


def round_half_up_cents(yuan: np.ndarray) -> np.ndarray:
    """Integer cents, half-up (away from zero), of yuan amounts.

    The float is first rounded to 1e-6 cent so that 2.675 (stored as 2.67499999…) is read as the
    decimal the arithmetic meant; nan stays nan (as float).
    """
    x = np.ascontiguousarray(yuan, dtype=np.float64)
    out = np.empty_like(x)
    K.cents_half_up(x.reshape(-1), out.reshape(-1))
    return out


def resolve_yuan_per_point(policy: Policy, weights: Weights, total_points: float) -> float:
    """Yuan per point used for ``payment``: fixed, the history budget point value, or the
    budget over this population's points (§4, §13). Rate method: base rate ÷ points scale."""
    pv = policy.point_value
    scale = weights.points_scale
    if pv.source == "fixed":
        if policy.method == "rate":
            return float(pv.base_rate) / scale  # type: ignore[arg-type]
        return float(pv.value)  # type: ignore[arg-type]
    if pv.source == "history":
        return float(weights.budget_point_value)
    return point_value_from_budget(
        float(pv.budget), total_points, pv.reserve_rate, pv.reserve_withheld,  # type: ignore[arg-type]
        pv.reimbursement_ratio,
    )


# ---- encoding helpers --------------------------------------------------------------------------


def _num(df: pd.DataFrame, col: str, default: float = np.nan) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), default, dtype=np.float64)
    s = df[col]
    if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        s = pd.to_numeric(s, errors="coerce")
    return s.to_numpy(np.float64, na_value=np.nan)


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    """The column as text (``str`` dtype, missing → ""); no copy when it already is text."""
    if col not in df.columns:
        return pd.Series([""] * len(df), index=df.index, dtype="str")
    s = df[col]
    if s.dtype != "str":
        s = s.astype("str")
    return s.fillna("") if s.hasnans else s


def _pair_lookup(
    table_keys: np.ndarray, table_values: np.ndarray, keys: np.ndarray, default: float
) -> np.ndarray:
    """Value for each int64 key from a (key → value) table; ``default`` when absent or key<0."""
    if len(table_keys) == 0:
        return np.full(len(keys), default)
    ok_t = table_keys >= 0
    top = int(max(table_keys.max(initial=0), keys.max(initial=0))) + 1
    if top <= 20_000_000:  # dense table: one gather instead of a binary search per case
        dense = np.full(top, default, dtype=np.float64)
        dense[table_keys[ok_t]] = table_values[ok_t]
        return np.where(keys >= 0, dense[np.maximum(keys, 0)], default)
    order = np.argsort(table_keys, kind="stable")
    tk, tv = table_keys[order], table_values[order]
    pos = np.minimum(np.searchsorted(tk, keys), len(tk) - 1)
    hit = (keys >= 0) & (tk[pos] == keys)
    return np.where(hit, tv[pos], default)


def _days(df: pd.DataFrame, col: str) -> np.ndarray:
    """ISO dates → int64 day numbers; unknown → INT64_MIN."""
    if col not in df.columns:
        return np.full(len(df), _DAY_UNKNOWN, dtype=np.int64)
    dt = pd.to_datetime(df[col], errors="coerce", format="mixed")
    days = dt.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    return np.where(dt.isna().to_numpy(), _DAY_UNKNOWN, days)


def _month(df: pd.DataFrame) -> np.ndarray:
    """Discharge month 1–12 (from ``month`` or ``discharge_date``), 0 when unknown."""
    if "month" in df.columns:
        m = _num(df, "month", 0.0)
    elif "discharge_date" in df.columns:
        s = df["discharge_date"]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            m = s.dt.month.to_numpy(np.float64, na_value=0.0)
        else:  # ISO text: the month is characters 5–6; cheaper than parsing every date
            m = pd.to_numeric(s.astype("str").str.slice(5, 7), errors="coerce").to_numpy(
                np.float64, na_value=0.0)
    else:
        return np.zeros(len(df), dtype=np.int64)
    m = np.nan_to_num(m, nan=0.0)
    return np.where((m >= 1) & (m <= 12), m, 0).astype(np.int64)


def _status_codes(df: pd.DataFrame) -> np.ndarray:
    """0 ok (SUCCESS or no status column), 1 ambiguous (QY), 2 any other grouper status."""
    if "status" not in df.columns:
        return np.zeros(len(df), dtype=np.int64)
    codes, uniq = pd.factorize(_text(df, "status"))
    table = np.array([0 if u in ("SUCCESS", "") else 1 if u == "QY" else 2 for u in uniq] or [0],
                     dtype=np.int64)
    return table[codes]


class _GroupTable:
    """Per-group arrays indexed by a case's group index (weights groups + policy-only groups)."""

    def __init__(self, weights: Weights, policy: Policy) -> None:
        gt = weights.groups
        names = list(gt["group"].astype(str))
        extra = [k for k in policy.bed_day.daily_points if k not in set(names)]
        self.names = np.asarray(names + extra, dtype=object)
        n_extra = len(extra)
        pad = np.full(n_extra, np.nan)
        self.base = np.concatenate([gt["base_points"].to_numpy(np.float64), pad])
        self.mean = np.concatenate([gt["mean_cost"].to_numpy(np.float64), pad])
        self.small = np.concatenate([gt["small"].to_numpy(bool), np.zeros(n_extra, bool)])
        self.thr = high_thresholds(self.base, policy.outliers)
        bd = policy.bed_day
        self.bed = prefix_match(self.names, bd.groups + list(bd.daily_points), bd.prefixes)
        daily = np.concatenate([gt["daily_points"].to_numpy(np.float64), pad])
        explicit = np.array([bd.daily_points.get(k, np.nan) for k in self.names], np.float64)
        self.daily = np.where(np.isfinite(explicit), explicit, daily)
        self.daily = np.where(self.bed & np.isfinite(self.daily), self.daily, -1.0)
        self.index = pd.Index(self.names)


def _group_index(groups_text: pd.Series, table: _GroupTable) -> tuple[np.ndarray, np.ndarray]:
    """Case group index: ≥0 known, -1 no group text, -2 group without weights."""
    codes, uniq = factorize(groups_text)
    mapped = table.index.get_indexer(pd.Index(uniq)) if len(uniq) else np.zeros(0, np.int64)
    mapped = np.where(mapped >= 0, mapped, -2).astype(np.int64)
    g = np.where(codes >= 0, mapped[np.maximum(codes, 0)] if len(mapped) else -2, -1)
    return g.astype(np.int64), codes


# ---- price -------------------------------------------------------------------------------------


def price(
    cases: pd.DataFrame, weights: Weights, policy: Policy, *, special_review: bool = True
) -> pd.DataFrame:
    """Price every case: one row per input row, input order ("Priced cases" contract).

    Points are base points (DRG) or score (DIP) × coefficient × outlier/incomplete factor ×
    incentive × readmission factor; ``payment`` = points × yuan per point (rate method:
    points ÷ scale × base rate), rounded half-up to 0.01 yuan; excluded stays are paid their
    total cost when ``exclusions.payment = "fee_for_service"``. Special case review columns are
    filled by :func:`payment.special_review.review` when the policy enables it.
    """
    n = len(cases)
    gcol = policy.group_col
    if gcol not in cases.columns:
        raise KeyError(
            f"cases have no group column {gcol!r} (policy kind {policy.kind!r}); group them first"
        )
    table = _GroupTable(weights, policy)
    gtext = _text(cases, gcol)
    g, _ = _group_index(gtext, table)
    cost = _num(cases, "total_cost")
    los = _num(cases, "los")
    mode_f = _num(cases, "discharge_mode", -1.0)
    mode = np.where(np.isfinite(mode_f), mode_f, -1).astype(np.int64)
    level = np.nan_to_num(_num(cases, "hospital_level", 0.0), nan=0.0).astype(np.int64)
    status = _status_codes(cases)
    hosp_text = _text(cases, "hospital_id")
    h_codes, h_uniq = factorize(hosp_text)

    n_g = len(table.names)
    gi = np.maximum(g, 0)
    known = g >= 0
    cp = policy.coefficients
    if cp.mode == "none":
        coef = np.ones(n)
    elif cp.mode == "hospital":
        hg = weights.hospital_groups
        w_h = pd.Index(pd.unique(hg["hospital_id"].astype(str)))
        tk = w_h.get_indexer(hg["hospital_id"].astype(str)).astype(np.int64) * n_g + \
            table.index.get_indexer(hg["group"].astype(str))
        hmap = w_h.get_indexer(pd.Index(h_uniq)) if len(h_uniq) else np.zeros(0, np.int64)
        hw = np.where(h_codes >= 0, hmap[np.maximum(h_codes, 0)] if len(hmap) else -1, -1)
        keys = np.where(known & (hw >= 0), hw * n_g + gi, -1)
        coef = _pair_lookup(tk, hg["coefficient"].to_numpy(np.float64), keys, cp.new_group)
    else:
        lg = weights.level_groups
        tk = lg["hospital_level"].to_numpy(np.int64) * n_g + table.index.get_indexer(
            lg["group"].astype(str))
        keys = np.where(known, level * n_g + gi, -1)
        coef = _pair_lookup(tk, lg["coefficient"].to_numpy(np.float64), keys, cp.new_group)

    region_mean_g = np.where(known, table.mean[gi], np.nan)
    if policy.kind == "dip" and policy.deviation.comparison_base == "same_level":
        lg = weights.level_groups
        tk = lg["hospital_level"].to_numpy(np.int64) * n_g + table.index.get_indexer(
            lg["group"].astype(str))
        keys = np.where(known, level * n_g + gi, -1)
        lvl_mean = _pair_lookup(tk, lg["mean_cost"].to_numpy(np.float64), keys, np.nan)
        # a level without history in the group compares with the region average
        cmp_mean = np.where(np.isfinite(lvl_mean), lvl_mean, region_mean_g)
    else:
        cmp_mean = region_mean_g

    incentive = np.ones(n)
    inc = policy.incentives
    if inc.group:
        per_g = np.array([inc.group.get(k, 1.0) for k in table.names], np.float64)
        incentive *= np.where(known, per_g[gi], 1.0)
    if inc.hospital and len(h_uniq):
        per_h = np.array([inc.hospital.get(str(k), 1.0) for k in h_uniq], np.float64)
        incentive *= np.where(h_codes >= 0, per_h[np.maximum(h_codes, 0)], 1.0)

    ex, ic, ol, dv = policy.exclusions, policy.incomplete, policy.outliers, policy.deviation
    fp = np.array([
        policy.input_checks.max_cost, policy.input_checks.max_los,
        ex.los_min if ex.los_min is not None else -np.inf,
        ex.los_max if ex.los_max is not None else np.inf,
        ol.low_multiple, dv.low, dv.high,
        ic.max_los if ic.max_los is not None else -np.inf,
    ], dtype=np.float64)
    ip = np.array([
        policy.kind == "dip", ol.enabled, ol.low_rule == "full", ol.high_over_incomplete,
        ic.enabled, ic.with_coefficient, ic.cap_at_base_points, policy.bed_day.with_coefficient,
    ], dtype=np.int64)
    inc_modes = np.zeros(10, dtype=np.bool_)
    inc_modes[list(ic.discharge_modes)] = True

    cls = np.empty(n, np.int8)
    reason = np.empty(n, np.int8)
    r = np.empty(n, np.float64)
    points = np.empty(n, np.float64)
    K.price_cases(cost, los, mode, status, g, cmp_mean, coef, incentive, table.base, table.thr,
                  table.bed, table.daily, inc_modes, fp, ip, cls, reason, r, points)
    priced_as = cls.copy()

    notes: list[str] = []
    rd = policy.readmission
    if rd.enabled:
        needed = [c for c in ("patient_id", "admission_date", "discharge_date")
                  if c not in cases.columns]
        if needed:
            notes.append(f"readmission rule skipped: cases lack {', '.join(needed)}")
        else:
            p_codes, _ = factorize(_text(cases, "patient_id"))
            exempt = prefix_match(table.names, rd.exempt_groups, rd.exempt_prefixes)
            eligible = (cls != K.EXCLUDED) & (cls != K.UNGROUPABLE)
            pen = readmission_flags(
                p_codes, h_codes, _days(cases, "admission_date"), _days(cases, "discharge_date"),
                np.where(known, g, -1), eligible, exempt, rd,
            )
            points = np.where(pen, points * rd.factor, points)
            cls = np.where(pen, K.READMISSION, cls).astype(np.int8)
            reason = np.where(pen, READMISSION_REASON, reason).astype(np.int8)

    yuan_per_point = resolve_yuan_per_point(policy, weights, float(points.sum()))
    pay = points * yuan_per_point
    ffs_excluded = (cls == K.EXCLUDED) & (reason >= K.R_LOS_SHORT) & (reason <= K.R_LOS_LONG)
    if ex.payment == "fee_for_service":
        pay = np.where(ffs_excluded, cost, pay)
    pay_c = round_half_up_cents(pay)
    cost_c = round_half_up_cents(cost)
    cost_ok = cost >= 0
    pay_c = np.where(cost_ok | (points > 0), pay_c, 0.0)
    gain = np.where(cost_ok, (pay_c - cost_c) / 100.0, 0.0)

    base_points = np.where(known, table.base[gi], np.nan)
    out = pd.DataFrame(copy=False, index=cases.index, data={
        "case_id": _text(cases, "case_id").array if "case_id" in cases.columns
        else pd.array(np.arange(n).astype(str), dtype="str"),
        "hospital_id": hosp_text.array,
        "hospital_level": level,
        "total_cost": cost,
        "los": los,
        "discharge_mode": mode,
        "month": _month(cases),
        "group": gtext.array,
        "case_class": pd.Categorical.from_codes(cls, categories=list(CLASSES)),
        "class_reason": pd.Categorical.from_codes(reason, categories=list(REASONS)),
        "priced_as": pd.Categorical.from_codes(priced_as, categories=list(CLASSES)),
        "r": r,
        "base_points": base_points,
        "coefficient": coef,
        "incentive": incentive,
        "points": points,
        "payment": pay_c / 100.0,
        "ffs_amount": cost,
        "gain": gain,
        "review_flag": (policy.kind == "dip") & (r > dv.review),
        "small_group": known & table.small[gi],
    })
    out.attrs.update({
        "yuan_per_point": yuan_per_point,
        "point_value_source": policy.point_value.source,
        "method": policy.method,
        "policy": policy.name,
        "notes": notes,
    })
    from .special_review import review  # local: special_review imports pricing's money helpers

    return review(out, cases, weights, policy, enabled=special_review, copy=False,
                  hospital_codes=h_codes)
