"""price(): case class, points and yuan for every case (§4, §5, order and boundaries §13).

The public function encodes the text columns once (Arrow dictionary encoding) into int codes;
three numba passes do the rest: per-case lookups (:func:`payment._kernels.case_params`), the
per-case decision (:func:`payment._kernels.price_cases`) and the money columns
(:func:`payment._kernels.price_money`). The output DataFrame is built once, special-review
columns included. Rounding: each case's ``payment``
and ``gain`` are rounded half-up to 0.01 yuan (integer cents); the point value itself is not
rounded. Settlement should aggregate ``points`` (exact), not the rounded yuan.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import _kernels as K
from . import readmission
from .budget import total_points
from .columns import PRICED_CASE_COLUMNS
from .outliers import CLASSES, READMISSION_REASON, REASONS, high_thresholds, prefix_match
from .policy import Policy
from .tables import group_names
from .tables import text_column as _text
from .weights import Weights

CASE_COLUMNS = PRICED_CASE_COLUMNS  # declared in payment/columns.py
_CLASS_DTYPE = pd.CategoricalDtype(list(CLASSES))
_REASON_DTYPE = pd.CategoricalDtype(list(REASONS))

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


def _month(df: pd.DataFrame) -> np.ndarray:
    """Discharge month 1–12 (from ``month`` or ``discharge_date``), 0 when unknown."""
    if "month" in df.columns:
        s = df["month"]
        if pd.api.types.is_integer_dtype(s.dtype) and not isinstance(
                s.dtype, pd.CategoricalDtype) and not s.hasnans:
            mi = s.to_numpy(np.int64)
            return np.where((mi >= 1) & (mi <= 12), mi, 0)
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
        self.names = group_names(weights, policy)
        n_extra = len(self.names) - len(gt)
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


def _int_column(df: pd.DataFrame, col: str, default: int, nan_as: int) -> np.ndarray:
    """An integer column as int64 (missing → ``nan_as``; absent → ``default``), the values
    ``np.nan_to_num``/``np.where`` + ``astype(int64)`` give for a float column."""
    if col in df.columns:
        s = df[col]
        if pd.api.types.is_integer_dtype(s.dtype) and not isinstance(
                s.dtype, pd.CategoricalDtype) and not s.hasnans:
            return s.to_numpy(np.int64)
    f = _num(df, col, float(default))
    if nan_as == 0:
        return np.nan_to_num(f, nan=0.0).astype(np.int64)
    return np.where(np.isfinite(f), f, nan_as).astype(np.int64)


def _encode(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Raw int64 codes (-1 missing; order of the text dictionary) and their uniques (object).

    Arrow-backed text is dictionary-encoded once by pyarrow; no sort, no remap pass over the
    cases (callers map the few uniques and gather inside a kernel).
    """
    arr = values.array
    pa_arr = getattr(arr, "_pa_array", None)
    if pa_arr is not None and (pa.types.is_string(pa_arr.type)
                               or pa.types.is_large_string(pa_arr.type)):
        enc = pa_arr.combine_chunks().dictionary_encode()
        idx = enc.indices
        if idx.null_count:
            idx = pc.fill_null(idx, -1)
        return (idx.to_numpy(zero_copy_only=False).astype(np.int64),
                np.asarray(enc.dictionary.to_pylist(), dtype=object))
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniq, dtype=object).astype(str).astype(object)


def _sorted_codes(uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For raw uniques: the code :func:`payment.weights.factorize` gives each (sorted, empty
    text → -1) and the sorted non-empty uniques."""
    if len(uniques) == 0:
        return np.zeros(0, np.int64), uniques
    text = uniques.astype(str)
    order = np.argsort(text, kind="stable")
    sorted_u = uniques[order]
    keep = sorted_u != ""
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.where(keep, np.cumsum(keep) - 1, -1)
    return rank, sorted_u[keep]


def _positions(index: pd.Index, values: pd.Series) -> np.ndarray:
    """``index.get_indexer(values)`` through the uniques of ``values`` (one hash per distinct
    value instead of per row)."""
    codes, uniq = pd.factorize(values, use_na_sentinel=False)
    if len(uniq) == 0:
        return np.zeros(0, np.int64)
    return index.get_indexer(pd.Index(uniq))[codes].astype(np.int64)


def _dense_table(
    table_keys: np.ndarray, table_values: np.ndarray, default: float
) -> np.ndarray | None:
    """(key → value) as a dense array (absent → ``default``) when that is what
    :func:`_pair_lookup` computes: keys unique and the table small; else None."""
    ok = table_keys >= 0
    tk = table_keys[ok]
    top = int(tk.max(initial=-1)) + 1
    if top > 20_000_000 or (len(tk) and np.bincount(tk, minlength=top).max() > 1):
        return None
    dense = np.full(top, default, dtype=np.float64)
    dense[tk] = table_values[ok]
    return dense


# ---- price -------------------------------------------------------------------------------------


def ffs_unit(policy: Policy, weights: Weights | None) -> float:
    """Yuan per fee-for-service point of an ungroupable case: all-case mean cost ÷ points
    scale (§13); nan (0 points) under ``ungroupable.points = "zero"`` or without weights."""
    if weights is None or policy.ungroupable.points == "zero":
        return float("nan")
    unit = float(weights.region_mean_cost) / float(weights.points_scale)
    return unit if math.isfinite(unit) and unit > 0 else float("nan")


def kernel_params(policy: Policy, weights: Weights | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pricing kernel's float parameters, flags and incomplete-stay discharge modes of a
    policy (one layout, one place). ``weights`` gives the ungroupable cases' fee-for-service
    point (§13); without it they get 0 points."""
    ex, ic, ol, dv = policy.exclusions, policy.incomplete, policy.outliers, policy.deviation
    fp = np.array([
        policy.input_checks.max_cost, policy.input_checks.max_los,
        ex.los_min if ex.los_min is not None else -np.inf,
        ex.los_max if ex.los_max is not None else np.inf,
        ol.low_multiple, dv.low, dv.high,
        ic.max_los if ic.max_los is not None else -np.inf,
        ffs_unit(policy, weights),
    ], dtype=np.float64)
    ip = np.array([
        policy.kind == "dip", ol.enabled, ol.low_rule == "full", ol.high_over_incomplete,
        ic.enabled, ic.with_coefficient, ic.cap_at_base_points, policy.bed_day.with_coefficient,
        ol.low_with_coefficient,
    ], dtype=np.int64)
    inc_modes = np.zeros(10, dtype=np.bool_)
    inc_modes[list(ic.discharge_modes)] = True
    return fp, ip, inc_modes


#: Case columns pricing cannot do without (yuan, days, the hospital's code).
PRICING_INPUTS = ("hospital_id", "total_cost", "los")


def price(
    cases: pd.DataFrame, weights: Weights, policy: Policy, *, special_review: bool = True,
    readmit_flags: np.ndarray | None = None, points_total: float | None = None,
) -> pd.DataFrame:
    """Price every case: one row per input row, input order ("Priced cases" contract).

    Points are base points (DRG) or score (DIP) × coefficient × outlier/incomplete factor ×
    incentive × readmission factor; ``payment`` = points × yuan per point (rate method:
    points ÷ scale × base rate), rounded half-up to 0.01 yuan; excluded stays are paid their
    total cost when ``exclusions.payment = "fee_for_service"``. Special case review columns are
    filled by :func:`payment.special_review.review` when the policy enables it.

    For callers that see the cases in parts (``drgsim.stream``, ``drgsim.dask_engine``):
    ``readmit_flags`` (bool per case) replaces the readmission rule's own decision when the
    policy enables it (all False: the classes before readmission); ``points_total`` replaces
    :func:`total_points` of these cases for a ``point_value.source = "budget"``.
    """
    n = len(cases)
    gcol = policy.group_col
    if gcol not in cases.columns:
        raise KeyError(
            f"cases have no group column {gcol!r} (policy kind {policy.kind!r}); group them first"
        )
    missing = [c for c in PRICING_INPUTS if c not in cases.columns]
    if missing:
        # Without them every case would be paid 0: say so instead of pricing silently.
        raise KeyError(f"cases have no {', '.join(map(repr, missing))} column, which pricing "
                       "reads (group with the input columns kept: `drgsim group` does by "
                       "default, grouper.group(..., keep_columns=True))")
    table = _GroupTable(weights, policy)
    gtext = _text(cases, gcol)
    cost = _num(cases, "total_cost")
    los = _num(cases, "los")
    mode = _int_column(cases, "discharge_mode", -1, -1)
    level = _int_column(cases, "hospital_level", 0, 0)
    status = _status_codes(cases)
    hosp_text = _text(cases, "hospital_id")

    # text → codes once per column (Arrow dictionary encoding); the per-case gathers, the
    # coefficient / comparison-mean lookups and the incentives are one kernel pass
    n_g = len(table.names)
    g_raw, g_uniq = _encode(gtext)
    gmap = table.index.get_indexer(pd.Index(g_uniq)) if len(g_uniq) else np.zeros(0, np.int64)
    gmap = np.where(g_uniq == "", -1, np.where(gmap >= 0, gmap, -2)).astype(np.int64)
    h_raw, h_raw_uniq = _encode(hosp_text)
    hmap, h_uniq = _sorted_codes(h_raw_uniq)

    cp = policy.coefficients
    coef_mode, coef_table, coef_in = K.C_ONE, np.zeros(0), np.zeros(0)
    hcoef = np.zeros(0, np.int64)
    cmp_level = (policy.deviation.comparison_base if policy.kind == "dip"
                 else policy.outliers.comparison_base) == "same_level"
    lvl_tk = None
    if cp.mode == "hospital":
        hg = weights.hospital_groups
        w_codes, w_uniq = pd.factorize(hg["hospital_id"].astype(str), use_na_sentinel=False)
        w_h = pd.Index(w_uniq)
        tk = w_codes.astype(np.int64) * n_g + _positions(table.index, hg["group"].astype(str))
        tv = hg["coefficient"].to_numpy(np.float64)
        hcoef = (w_h.get_indexer(pd.Index(h_uniq)) if len(h_uniq) else np.zeros(0)).astype(
            np.int64)
        coef_mode = K.C_HOSPITAL
    elif cp.mode != "none":
        lg = weights.level_groups
        lvl_tk = tk = lg["hospital_level"].to_numpy(np.int64) * n_g + _positions(
            table.index, lg["group"].astype(str))
        tv = lg["coefficient"].to_numpy(np.float64)
        coef_mode = K.C_LEVEL
    fallback = False
    if coef_mode != K.C_ONE:
        dense = _dense_table(tk, tv, cp.new_group)
        if dense is not None:
            coef_table = dense
        else:  # duplicate keys or a huge table: the general lookup after the kernel
            fallback, kind = True, coef_mode
            coef_mode = K.C_ONE
    lvl_table = np.zeros(0)
    lvl_fallback = False
    if cmp_level:
        lg = weights.level_groups
        if lvl_tk is None:
            lvl_tk = lg["hospital_level"].to_numpy(np.int64) * n_g + _positions(
                table.index, lg["group"].astype(str))
        lvl_mean = lg["mean_cost"].to_numpy(np.float64)
        dense = _dense_table(lvl_tk, lvl_mean, np.nan)
        lvl_fallback = dense is None
        lvl_table = dense if dense is not None else lvl_table

    inc = policy.incentives
    g_inc = (np.array([inc.group.get(k, 1.0) for k in table.names], np.float64)
             if inc.group else np.zeros(0))
    h_inc = (np.array([inc.hospital.get(str(k), 1.0) for k in h_uniq], np.float64)
             if inc.hospital and len(h_uniq) else np.zeros(0))

    g = np.empty(n, np.int64)
    h_codes = np.empty(n, np.int64)
    coef = np.empty(n, np.float64)
    cmp_mean = np.empty(n, np.float64)
    incentive = np.empty(n, np.float64)
    K.case_params(g_raw, gmap, h_raw, hmap, hcoef, level, n_g, coef_mode, coef_table,
                  float(cp.new_group), coef_in, lvl_table, table.mean, g_inc, h_inc,
                  g, h_codes, coef, cmp_mean, incentive)
    if fallback or lvl_fallback:
        known = g >= 0
        gi = np.maximum(g, 0)
    if fallback:
        if kind == K.C_HOSPITAL:
            hw = np.where(h_codes >= 0, hcoef[np.maximum(h_codes, 0)] if len(hcoef) else -1, -1)
            keys = np.where(known & (hw >= 0), hw * n_g + gi, -1)
        else:
            keys = np.where(known, level * n_g + gi, -1)
        coef = _pair_lookup(tk, tv, keys, cp.new_group)
    if lvl_fallback:
        keys = np.where(known, level * n_g + gi, -1)
        lvl = _pair_lookup(lvl_tk, lvl_mean, keys, np.nan)
        cmp_mean = np.where(np.isfinite(lvl), lvl, cmp_mean)

    fp, ip, inc_modes = kernel_params(policy, weights)
    ex, dv = policy.exclusions, policy.deviation

    cls = np.empty(n, np.int8)
    reason = np.empty(n, np.int8)
    r = np.empty(n, np.float64)
    points = np.empty(n, np.float64)
    K.price_cases(cost, los, mode, status, g, cmp_mean, coef, incentive, table.base, table.thr,
                  table.bed, table.daily, inc_modes, fp, ip, cls, reason, r, points)
    priced_as = cls.copy()

    notes: list[str] = []
    rd = policy.readmission
    pen = None
    if rd.enabled and readmit_flags is not None:
        pen = np.asarray(readmit_flags, dtype=bool)
        if pen.shape != (n,):
            raise ValueError(f"readmit_flags: {pen.shape} for {n} cases")
    elif rd.enabled:
        needed = [c for c in readmission.COLUMNS if c not in cases.columns]
        if needed:
            notes.append(f"readmission rule skipped: cases lack {', '.join(needed)}")
        else:  # the whole table is one part: collect, decide, apply here
            stays = readmission.case_stays(cases, cls, g, h_codes)
            pen = readmission.penalised(stays, readmission.exempt_groups(table.names, rd), rd)
    if pen is not None:
        points = np.where(pen, points * rd.factor, points)
        cls = np.where(pen, K.READMISSION, cls).astype(np.int8)
        reason = np.where(pen, READMISSION_REASON, reason).astype(np.int8)

    if policy.point_value.source != "budget":
        points_total = float("nan")  # not used
    elif points_total is None:
        points_total = total_points(points)
    yuan_per_point = resolve_yuan_per_point(policy, weights, float(points_total))
    pay = np.empty(n, np.float64)
    gain = np.empty(n, np.float64)
    base_points = np.empty(n, np.float64)
    small = np.empty(n, np.bool_)
    review_flag = np.empty(n, np.bool_)
    K.price_money(points, cost, cls, reason, g, r, float(yuan_per_point),
                  ex.payment == "fee_for_service", table.base, table.small,
                  policy.kind == "dip", float(dv.review),
                  pay, gain, base_points, small, review_flag)

    case_id = (_text(cases, "case_id").array if "case_id" in cases.columns
               else pd.array(np.arange(n).astype(str), dtype="str"))
    month = _month(cases)
    attrs = {
        "yuan_per_point": yuan_per_point,
        "point_value_source": policy.point_value.source,
        "method": policy.method,
        "policy": policy.name,
        "notes": notes,
        # §13 conversions of approved special-review amounts read these in settlement
        "region_mean_cost": float(weights.region_mean_cost),
        "points_scale": float(weights.points_scale),
    }
    from .special_review import review_columns  # local: special_review imports pricing

    sr_cols, sr_attrs = review_columns(
        cases, weights, policy, enabled=special_review, cls=cls, cost=cost, los=los,
        base_points=base_points, small=small, review_flag=review_flag, points=points,
        payment=pay, month=month, case_id=case_id, hospital_codes=h_codes,
        yuan_per_point=float(yuan_per_point),
        group_mean=np.where(g >= 0, table.mean[np.maximum(g, 0)], np.nan) if n_g else None,
        groups=gtext,
    )
    out = pd.DataFrame(copy=False, index=cases.index, data={
        "case_id": case_id,
        "hospital_id": hosp_text.array,
        "hospital_level": level,
        "total_cost": cost,
        "los": los,
        "discharge_mode": mode,
        "month": month,
        "group": gtext.array,
        "case_class": pd.Categorical.from_codes(cls, dtype=_CLASS_DTYPE),
        "class_reason": pd.Categorical.from_codes(reason, dtype=_REASON_DTYPE),
        "priced_as": pd.Categorical.from_codes(priced_as, dtype=_CLASS_DTYPE),
        "r": r,
        "base_points": base_points,
        "coefficient": coef,
        "incentive": incentive,
        "points": points,
        "payment": pay,
        "ffs_amount": cost,
        "gain": gain,
        "review_flag": review_flag,
        "small_group": small,
        **sr_cols,
    })
    out.attrs.update(attrs)
    out.attrs.update(sr_attrs)
    return out
