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

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from . import _kernels as K
from . import readmission
from .budget import total_points
from .columns import PRICED_CASE_COLUMNS
from .outliers import CLASSES, READMISSION_REASON, REASONS
from .policy import Policy
from .prepared import (  # noqa: F401  (re-exported: the lookup layout price() shares)
    PreparedPrices,
    _GroupTable,
    ffs_unit,
    kernel_params,
)
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
    return status_codes(_text(df, "status"))


def status_codes(status: pd.Series | np.ndarray) -> np.ndarray:
    """The pricer's status code of each grouper status text (Series or object array): 0 ok
    (SUCCESS or ""), 1 ambiguous (QY), 2 any other status (int64)."""
    if not isinstance(status, pd.Series) and len(status) == 1:  # one case: no factorising
        return np.array([_status_code(status[0])], dtype=np.int64)
    codes, uniq = pd.factorize(status)
    table = np.array([_status_code(u) for u in uniq] or [0], dtype=np.int64)
    return table[codes]


def _status_code(u: object) -> int:
    return 0 if u in ("SUCCESS", "") else 1 if u == "QY" else 2


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


#: The DIP grouper's auxiliary-catalogue coefficient per case (``grouper.dip.group``), read
#: under ``dip.aux_coefficients = "apply"`` (§7)
AUX_COLUMN = "aux_coefficient"

#: Case columns pricing cannot do without (yuan, days, the hospital's code).
PRICING_INPUTS = ("hospital_id", "total_cost", "los")


def price(
    cases: pd.DataFrame, weights: Weights, policy: Policy, *, special_review: bool = True,
    readmit_flags: np.ndarray | None = None, points_total: float | None = None,
    prepared: PreparedPrices | None = None,
) -> pd.DataFrame:
    """Price every case: one row per input row, input order ("Priced cases" contract).

    Points are base points (DRG) or score (DIP, × the case's ``aux_coefficient`` when the
    policy applies the auxiliary catalogue) × coefficient × outlier/incomplete factor ×
    incentive × readmission factor; ``payment`` = points × yuan per point (rate method:
    points ÷ scale × base rate), rounded half-up to 0.01 yuan; excluded stays are paid their
    total cost when ``exclusions.payment = "fee_for_service"``. Special case review columns are
    filled by :func:`payment.special_review.review` when the policy enables it.

    For callers that see the cases in parts (``drgsim.stream``, ``drgsim.dask_engine``):
    ``readmit_flags`` (bool per case) replaces the readmission rule's own decision when the
    policy enables it (all False: the classes before readmission); ``points_total`` replaces
    :func:`total_points` of these cases for a ``point_value.source = "budget"``.
    ``prepared``: :class:`payment.prepared.PreparedPrices` of the same weights and policy,
    to skip building the lookups again.
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
    prep = prepared if prepared is not None else PreparedPrices(weights, policy)
    table = prep.table
    gtext = _text(cases, gcol)
    cost = _num(cases, "total_cost")
    los = _num(cases, "los")
    mode = _int_column(cases, "discharge_mode", -1, -1)
    level = _int_column(cases, "hospital_level", 0, 0)
    status = _status_codes(cases)
    hosp_text = _text(cases, "hospital_id")

    # text → codes once per column (Arrow dictionary encoding); the per-case gathers, the
    # coefficient / comparison-mean lookups and the incentives are one kernel pass
    aux = _num(cases, AUX_COLUMN) if AUX_COLUMN in cases.columns else None
    lk = prep.lookups(gtext, hosp_text, level, aux)
    g, h_codes, coef, incentive = lk.group, lk.hospital, lk.coefficient, lk.incentive
    cls, reason, r, points = prep.classify(cost, los, mode, status, lk)
    priced_as = cls.copy()

    notes: list[str] = []
    if aux is None and policy.kind == "dip" and policy.dip.aux_coefficients == "apply":
        notes.append(f"auxiliary coefficients not applied: cases lack {AUX_COLUMN} (the "
                     "column `drgsim dip group` writes); every score counts at 1.0")
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
    pay, gain, base_points, small, review_flag = prep.money(points, cost, cls, reason, g, r,
                                                            float(yuan_per_point))

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
        group_mean=np.where(g >= 0, table.mean[np.maximum(g, 0)], np.nan) if len(table.names) else None,
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
        "aux_coefficient": lk.aux,
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
