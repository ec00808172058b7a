"""What-if cells: priced cases summed once into basis arrays, then any what-if settles fast.

The what-if keys (``whatif.volume_growth``, ``whatif.cost_growth``, ``whatif.upcoding_share``,
``whatif.level_shift_share``) recombine basis sums taken once per hospital × month × alliance ×
quantity × what-if term (:class:`WhatIfCells`); no case is touched again, and a what-if costs
O(hospitals × months). Volume growth is exact; cost growth keeps each case's class and points
(points come from the weights, fixed before the year), upcoding moves points by the ratio of the
groups' mean base points, and the level shift re-prices moved cases with the destination
level's mean coefficient and cost per base point.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from . import _settle_kernels as K
from ._cells_kernels import basis_sums
from ._settle_prepare import _column, _convert_sr, provisional_values
from .case_codes import TextCodes, check_codes, text_codes
from .overrides import override_policy
from .settlement import (
    SettlementInputs,
    SettlementParams,
    SettlementResult,
    _decision_month,
    encode,
    prepare,
    resolve_policy,
    settle_inputs,
)
from .settlement_policy import SettlementPolicy

__all__ = ["SUMMARY_COLUMNS", "WHATIF_BOUNDS", "WHATIF_KEYS", "WhatIfCells", "build_cells",
           "TextCodes", "demo_whatif", "run_whatifs", "settle_whatif", "text_codes",
           "whatif_inputs", "whatif_statement"]

WHATIF_KEYS = {
    "whatif.volume_growth": K.W_VOLUME,
    "whatif.cost_growth": K.W_COST,
    "whatif.upcoding_share": K.W_UPCODE,
    "whatif.level_shift_share": K.W_SHIFT,
}
SUMMARY_COLUMNS = {
    "point_value": K.S_PV,
    "budget": K.S_BUDGET,
    "paid": K.S_PAID,
    "reserve_kept": K.S_KEPT,
    "returned": K.S_RETURNED,
    "sharing": K.S_SHARING,
    "recovered": K.S_RECOV,
    "hospitals_surplus": K.S_N_SURPLUS,
    "hospitals_overspend": K.S_N_OVER,
    "largest_loss": K.S_WORST,
}


def _summary_frame(out: np.ndarray, inputs: SettlementInputs) -> pd.DataFrame:
    df = pd.DataFrame({name: out[:, idx] for name, idx in SUMMARY_COLUMNS.items()})
    df["fund_balance"] = np.round(out[:, K.S_KEPT] + out[:, K.S_RETURNED], 2)
    worst = out[:, K.S_WORST_H].astype(np.int64)
    df["largest_loss_hospital"] = [str(inputs.hospital_ids[w]) if w >= 0 else "" for w in worst]
    for c in ("hospitals_surplus", "hospitals_overspend"):
        df[c] = df[c].astype(np.int64)
    return df


# ------------------------------------------------------------------------------ what-if cells


@dataclass(frozen=True)
class WhatIfCells:
    """Priced cases summed once into what-if basis arrays (see :mod:`payment._settle_kernels`).

    ``B[h, m, s, q, t]``: cases not approved in special review, per hospital × discharge month
    (0 unknown) × alliance slot (last = none) × quantity (points, payment, total cost, patient
    paid) × term (amount, amount × (r − 1), simple level-3 amount, and × (r − 1)); ``SR`` and
    ``SRD`` the approved cases. Every what-if is a linear combination of these sums, so a draw
    costs O(hospitals × months), not O(cases), and is exact up to float summation order.
    """

    inputs: SettlementInputs
    B: np.ndarray
    BH: np.ndarray
    SR: np.ndarray
    SRD: np.ndarray
    groups: np.ndarray
    g_ratio: np.ndarray
    g_simple: np.ndarray
    dest_w: np.ndarray
    h_pts_f: np.ndarray
    h_cost_f: np.ndarray

    @property
    def n_cells(self) -> int:
        """Number of basis sums."""
        return int(self.B.size + self.SR.size + self.SRD.size)


def _severity_target(groups: np.ndarray) -> np.ndarray:
    """Index of the next severity of each DRG in its ADRG (…5 → …3, …3 → …1), −1 if none."""
    pos = {g: i for i, g in enumerate(groups)}
    out = np.full(len(groups), -1, dtype=np.int64)
    for i, g in enumerate(groups):
        if len(g) >= 2 and g[-1] in "53":
            out[i] = pos.get(g[:-1] + ("3" if g[-1] == "5" else "1"), -1)
    return out


def _exclusion_keep(df: pd.DataFrame, classes: tuple[str, ...]) -> np.ndarray:
    col = df["case_class"]
    if isinstance(col.dtype, pd.CategoricalDtype):  # the categories, not every row, as text
        bad = col.cat.categories.astype(str).isin(list(classes))
        codes = col.cat.codes.to_numpy()
        return ~np.where(codes >= 0, bad[np.maximum(codes, 0)], False)
    return ~col.astype("string").isin(list(classes)).to_numpy(dtype=bool, na_value=False)


#: the priced columns build_cells reads itself (the case-constant ones come from the codes)
_CELL_READS = ("points", "payment", "base_points", "sr_amount", "sr_approved", "sr_quarter")


def build_cells(priced: pd.DataFrame, policy: Any, *, simple_max_points: float = 100.0,
                group_column: str = "group", codes: TextCodes | None = None) -> WhatIfCells:
    """Sum priced cases into what-if basis arrays (one pass; every draw reuses them).

    A *simple* case (for the level shift) is in a DRG without complication (code ending in 5
    or 9) whose mean base points are at most ``simple_max_points``. Upcoding moves a case to
    the next severity of its ADRG when the scheme has it, at the ratio of the two groups' mean
    base points. ``codes`` (:func:`text_codes` of a table with the same rows) skips the text
    conversions; the cells are the same.
    """
    spol, pvk = resolve_policy(policy)
    if codes is None:
        codes = text_codes(priced, group_column)
    check_codes(codes, priced, "build_cells")
    inputs = prepare(priced, policy, codes=codes)
    attrs = getattr(priced, "attrs", {}) or {}
    # only the columns pricing wrote are read from the table, narrowed to the kept rows
    df = priced[[c for c in _CELL_READS if c in priced.columns]]
    keep = np.ones(len(priced), dtype=bool)
    if "case_class" in priced.columns and spol.exclude_classes:
        keep = _exclusion_keep(priced, tuple(spol.exclude_classes))
        df = df.loc[keep]
    n = len(df)
    nh = len(inputs.hospital_ids)
    hc, hu = codes.hospital
    h = pd.Index(inputs.hospital_ids).get_indexer(hu).astype(np.int64)[hc[keep]]
    # groups in order of first appearance among the kept rows (as pd.factorize of the text)
    g, first = pd.factorize(codes.group[0][keep])
    g = np.asarray(g, dtype=np.int64)
    groups = np.asarray(codes.group[1][np.asarray(first, dtype=np.int64)], dtype=object)

    def num(col: str) -> np.ndarray:
        return _column(df, col, 0.0)

    month = codes.month[keep].astype(np.int64)
    month[(month < 1) | (month > 12)] = 0
    sr = (df["sr_approved"].fillna(False).to_numpy(dtype=bool) if "sr_approved" in df.columns
          else np.zeros(n, dtype=bool))
    na = len(inputs.alliance_ids)
    if na and codes.alliance is not None:
        ac, au = codes.alliance
        a = pd.Index(inputs.alliance_ids, dtype=object).get_indexer(au).astype(np.int64)[
            ac[keep]]
    elif na:
        a = inputs.member_of[h]
    else:
        a = np.full(n, -1, dtype=np.int64)
    slot = np.where(a >= 0, a, na)
    pp = codes.patient_paid[keep] if inputs.has_patient_paid else np.zeros(n)
    bp = num("base_points")
    pts, pay, tc = num("points"), num("payment"), codes.total_cost[keep]
    # The advance basis is settlement's own rule (§13: unrounded points before special review
    # × the pricing's yuan per point, one rounding per month), not the per-case cents; approved
    # amounts converted to points as settlement converts them (special_review.conversion).
    prov, ypp = provisional_values(pts, pay, attrs)
    scale = float(attrs.get("points_scale", pvk.points_scale))
    pts, pay, sr_amt = _convert_sr(pts, pay, num("sr_amount"), sr, pvk.conversion, ypp, attrs,
                                   scale)
    if pvk.conversion != "settlement_pv":
        sr = np.zeros(n, dtype=bool)  # converted to points: settled like other cases

    srm = np.zeros(n, dtype=np.int64)
    if sr.any() and "sr_quarter" in df.columns:
        period = getattr(getattr(policy, "special_review", None), "quota_period", "quarter")
        srm = np.where(sr, _decision_month(df["sr_quarter"], str(period)), 0)

    # Per group: mean base points → severity ratios and the "simple" flag.
    ng = len(groups)
    g_n = np.bincount(g, minlength=ng).astype(np.float64)
    g_bp = np.bincount(g, weights=bp, minlength=ng) / np.maximum(g_n, 1.0)
    target = _severity_target(groups)
    g_ratio = np.where((target >= 0) & (g_bp > 0), g_bp[np.maximum(target, 0)] / np.where(
        g_bp > 0, g_bp, 1.0), 0.0)
    g_simple = np.array([len(x) > 0 and x[-1] in "59" for x in groups], dtype=bool) & (
        g_bp <= simple_max_points)

    # Basis sums of the cases not approved in special review.
    level = inputs.hospital_level
    rm1 = np.where(g_ratio[g] > 0, g_ratio[g] - 1.0, 0.0)
    mover = (g_simple[g] & (level[h] == 3)).astype(np.float64)
    nsr = ~sr
    size = nh * 13 * (na + 1)
    B = np.zeros((size, K.Q, K.T))
    f64 = [np.ascontiguousarray(v, dtype=np.float64) for v in (pts, prov, tc, pp, mover, rm1)]
    basis_sums(np.ascontiguousarray((h * 13 + month) * (na + 1) + slot), nsr, *f64, B)
    B = B.reshape(nh, 13, na + 1, K.Q, K.T)
    SR = np.zeros((size, K.Q))
    SRD = np.zeros((size, 2))
    if sr.any():
        c_sr = ((h * 13 + month) * (na + 1) + slot)[sr]
        for q, v in ((K.Q_PAY, prov), (K.Q_TC, tc), (K.Q_PP, pp)):
            SR[:, q] = np.bincount(c_sr, weights=v[sr], minlength=size)
        c_dec = ((h * 13 + srm) * (na + 1) + slot)[sr]
        SRD[:, 0] = np.bincount(c_dec, weights=sr_amt[sr], minlength=size)
        SRD[:, 1] = np.bincount(c_dec, weights=pay[sr], minlength=size)

    # Per level: mean coefficient (points ÷ base points) and cost per base point.
    lv = level[h]
    ok = nsr & (bp > 0)

    def per_level(values: np.ndarray) -> np.ndarray:
        return np.bincount(lv[ok], weights=values[ok], minlength=4)

    bp_l, pts_l, tc_l = per_level(bp), per_level(pts), per_level(tc)
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.where(bp_l > 0, pts_l / bp_l, np.nan)
        kappa = np.where(bp_l > 0, tc_l / bp_l, np.nan)
    pts_f = np.ones(nh)
    cost_f = np.ones(nh)
    for i, lvl in enumerate(level):
        if 0 <= lvl <= 3 and np.isfinite(gamma[lvl]) and np.isfinite(gamma[3]) and gamma[3] > 0:
            pts_f[i] = gamma[lvl] / gamma[3]
        if 0 <= lvl <= 3 and np.isfinite(kappa[lvl]) and np.isfinite(kappa[3]) and kappa[3] > 0:
            cost_f[i] = kappa[lvl] / kappa[3]
    dest = (level == 1) | (level == 2)
    vol = inputs.n_cases.astype(np.float64) * dest
    dest_w = vol / vol.sum() if vol.sum() > 0 else np.zeros(nh)
    return WhatIfCells(
        inputs=inputs, B=B, BH=np.ascontiguousarray(B.sum(axis=0)),
        SR=SR.reshape(nh, 13, na + 1, K.Q), SRD=SRD.reshape(nh, 13, na + 1, 2),
        groups=groups, g_ratio=g_ratio, g_simple=g_simple, dest_w=dest_w,
        h_pts_f=pts_f, h_cost_f=cost_f,
    )


#: What-if bounds: growth factors beyond ×11 are not a planning question and would let a draw
#: overflow integer cents; shares are fractions.
WHATIF_BOUNDS = {
    "whatif.volume_growth": (K.W_VOLUME, -1.0, 10.0),
    "whatif.cost_growth": (K.W_COST, -1.0, 10.0),
    "whatif.upcoding_share": (K.W_UPCODE, 0.0, 1.0),
    "whatif.level_shift_share": (K.W_SHIFT, 0.0, 1.0),
}


def _check_whatifs(w: np.ndarray) -> None:
    for key, (col, lo, hi) in WHATIF_BOUNDS.items():
        v = w[:, col]
        bad = ~np.isfinite(v) | (v < lo) | (v > hi) | ((v == lo) & (lo == -1.0))
        if bad.any():
            x = v[np.flatnonzero(bad)[0]]
            interval = f"({lo}, {hi}]" if lo == -1.0 else f"[{lo}, {hi}]"
            raise ValueError(f"{key} = {x!r} is outside the allowed range {interval}")


def run_whatifs(cells: WhatIfCells, params: SettlementParams,
                whatifs: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Settle each what-if row (columns ``W_*`` of :mod:`payment._settle_kernels`).

    Returns the summary table (one row per what-if) and each hospital's result per what-if
    (final − fee-for-service fund amount, yuan) as an array [what-ifs, hospitals].
    """
    w = np.ascontiguousarray(np.atleast_2d(whatifs), dtype=np.float64)
    _check_whatifs(w)
    i = cells.inputs
    out, res = K.whatif_batch(
        cells.B, cells.BH, cells.SR, cells.SRD, cells.dest_w, cells.h_pts_f, cells.h_cost_f, w,
        i.member_of, params.scores, params.p, params.tiers, params.ntiers, params.rel,
        params.nrel, params.al_budget, params.al_tiers, params.al_nt)
    return _summary_frame(out, i), res


def whatif_inputs(cells: WhatIfCells, whatif: np.ndarray | None = None) -> SettlementInputs:
    """The settlement aggregates after one what-if row (``W_*`` columns; None = no change):
    :func:`payment.settlement.prepare`'s inputs with ``hd``, ``md``, ``ad`` recombined from the
    basis. With no change they equal ``prepare``'s own up to float summation order."""
    w = np.zeros(K.W) if whatif is None else np.asarray(whatif, dtype=np.float64).reshape(K.W)
    _check_whatifs(w[None, :])
    i = cells.inputs
    hd = np.zeros_like(i.hd)
    md = np.zeros_like(i.md)
    ad = np.zeros_like(i.ad)
    K.whatif_aggregates(cells.B, cells.BH, cells.SR, cells.SRD, cells.dest_w, cells.h_pts_f,
                        cells.h_cost_f, w, hd, md, ad)
    return replace(i, hd=hd, md=md, ad=ad)


def settle_whatif(cells: WhatIfCells, policy: Any, whatif: np.ndarray | None = None,
                  **encode_kw: Any) -> SettlementResult:
    """The full settlement (statement, monthly advances, ledger; yuan) of one what-if row on the
    basis; with no change it equals ``payment.settle`` of the same priced cases to the cent."""
    inputs = whatif_inputs(cells, whatif)
    return settle_inputs(inputs, encode(cells.inputs, policy, **encode_kw))


def whatif_statement(cells: WhatIfCells, params: SettlementParams,
                     whatif: np.ndarray) -> SettlementResult:
    """One what-if row settled in full with already encoded ``params`` (the dashboard's call):
    :func:`whatif_inputs` then :func:`payment.settlement.settle_inputs`, so its summary and each
    hospital's final − fee-for-service amount equal ``run_whatifs``'s row to the cent."""
    w = np.atleast_2d(np.asarray(whatif, dtype=np.float64))
    if w.shape[0] != 1:
        raise ValueError("whatif_statement settles one what-if row")
    return settle_inputs(whatif_inputs(cells, w[0]), params)


# ------------------------------------------------------------------------------ demo


DEMO_SETTLEMENT = {
    "reserve_rate": 0.05,
    "advance_ratio": 0.85,
    "budget": {"growth": 0.03},
    "tiers": [
        {"lower": -np.inf, "upper": -0.15, "fund_share": 1.0},
        {"lower": -0.15, "upper": 0.0, "fund_share": 0.5},
        {"lower": 0.0, "upper": 0.1, "fund_share": 0.7},
        {"lower": 0.1, "upper": 0.2, "fund_share": 0.3},
    ],
    "assessment": {"deposit_rate": 0.02, "mapping": "linear"},
}


def demo_whatif(priced_cases: pd.DataFrame, policy: Any = None) -> pd.DataFrame:
    """A small what-if on priced cases: baseline against five planner questions.

    ``policy`` defaults to a settlement policy with 3 % budget growth, 5 % reserve, the demo
    tiers and a 2 % quality deposit. Returns one row per scenario with the summary columns.
    """
    if policy is None:
        policy = SettlementPolicy.model_validate(DEMO_SETTLEMENT)
    elif getattr(policy, "settlement", True) is None:
        policy = override_policy(policy, {"settlement": DEMO_SETTLEMENT})
    cells = build_cells(priced_cases, policy)
    params = encode(cells.inputs, policy)
    labels = ["baseline", "volume +5 %", "cost +5 %", "upcoding 10 %",
              "10 % simple cases to level 1/2", "all of the above"]
    w = np.zeros((len(labels), K.W))
    w[1, K.W_VOLUME] = w[5, K.W_VOLUME] = 0.05
    w[2, K.W_COST] = w[5, K.W_COST] = 0.05
    w[3, K.W_UPCODE] = w[5, K.W_UPCODE] = 0.10
    w[4, K.W_SHIFT] = w[5, K.W_SHIFT] = 0.10
    summ, _ = run_whatifs(cells, params, w)
    summ.insert(0, "scenario", labels)
    return summ


