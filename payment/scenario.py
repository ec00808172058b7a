"""What-if scenarios for planners: a base policy + sparse overrides, grid sweeps, Monte Carlo.

Pricing is done once. Each scenario then recomputes only what its parameters touch:

* **settlement keys** (``settlement.*``, ``point_value.reimbursement_ratio`` …) re-run only the
  cents kernel on the per-hospital aggregates (:func:`payment.settlement.prepare`, done once);
  a grid is encoded as one base row plus the few slots each override changes;
* **what-if keys** (``whatif.volume_growth``, ``whatif.cost_growth``, ``whatif.upcoding_share``,
  ``whatif.level_shift_share``) recombine basis sums taken once per hospital × month ×
  alliance × quantity × what-if term (:class:`WhatIfCells`) and settle; no case is touched
  again, and a draw costs O(hospitals × months);
* any **other policy key** (weights, outliers, special review …) re-prices the cases with
  ``payment.price`` — correct, and as slow as pricing.

What-ifs are exact for volume growth and for the settlement keys; cost growth keeps each
case's class and points (points come from the weights, fixed before the year), upcoding moves
points by the ratio of the groups' mean base points, and the level shift re-prices moved cases
with the destination level's mean coefficient and cost per base point. Monte Carlo draws the
what-if parameters from seeded distributions (``numpy.random.default_rng(seed)``) and reports
percentiles; the same seed gives the same draws.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import tomllib
from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import _settle_kernels as K
from .policy import merge_overrides as _merge
from .settlement import (
    SettlementInputs,
    SettlementParams,
    _decision_month,
    encode,
    prepare,
    resolve_policy,
)
from .settlement_policy import SettlementPolicy

__all__ = [
    "Distribution",
    "MonteCarloResult",
    "MonteCarloSpec",
    "Scenario",
    "WhatIfCells",
    "build_cells",
    "demo_whatif",
    "load_scenario",
    "monte_carlo",
    "override_policy",
    "run_whatifs",
    "sweep",
    "sweep_settlement",
]

WHATIF_KEYS = {
    "whatif.volume_growth": K.W_VOLUME,
    "whatif.cost_growth": K.W_COST,
    "whatif.upcoding_share": K.W_UPCODE,
    "whatif.level_shift_share": K.W_SHIFT,
}
# [point_value] keys read only by settlement (their change needs no re-pricing).
SETTLEMENT_PV_KEYS = {
    "point_value.reimbursement_ratio",
    "point_value.reserve_withheld",
    "point_value.reserve_rate",
    "point_value.budget",
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


# ------------------------------------------------------------------------------ overrides


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"a.b": 1} → {"a": {"b": 1}} (already nested dicts are kept)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = _merge(node[parts[-1]], value)
        else:
            node[parts[-1]] = value
    return out




def override_policy(policy: Any, overrides: dict[str, Any]) -> Any:
    """A new policy with dotted or nested ``overrides`` merged in and re-validated.

    A full ``Policy`` uses its own ``with_overrides``; a bare :class:`SettlementPolicy` takes the
    keys under ``settlement.`` (or its own keys directly).
    """
    nested = _nest(overrides)
    if isinstance(policy, SettlementPolicy):
        nested = nested.get("settlement", nested)
        return SettlementPolicy.model_validate(_merge(policy.model_dump(), nested))
    if "settlement" in nested and getattr(policy, "settlement", None) is None:
        # Policy.with_overrides merges into the dump; give it a table to merge into.
        nested["settlement"] = _merge(SettlementPolicy().model_dump(), nested["settlement"])
    return policy.with_overrides(nested)


def _is_settlement_key(key: str) -> bool:
    return key.startswith("settlement.") or key in SETTLEMENT_PV_KEYS


# ------------------------------------------------------------------------------ settlement-only grid


def _encode_with(inputs: SettlementInputs, policy: Any, over: dict[str, Any],
                 encode_kw: dict[str, Any]) -> SettlementParams:
    """Encode ``policy`` + ``over``; a bare SettlementPolicy takes point-value keys as arguments."""
    kw = dict(encode_kw)
    if isinstance(policy, SettlementPolicy):
        for key in ("reimbursement_ratio", "reserve_withheld"):
            if f"point_value.{key}" in over:
                over = dict(over)
                kw[key] = over.pop(f"point_value.{key}")
        bad = [k for k in over if k.startswith("point_value.")]
        if bad:
            raise ValueError(f"{bad}: a bare settlement policy has no [point_value] table")
    pol = override_policy(policy, over) if over else policy
    return encode(inputs, pol, **kw)


_PARAM_FIELDS = ("p", "tiers", "rel", "al_budget", "al_tiers", "al_nt", "scores")


def _pad(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=a.dtype)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def _stack(params: list[SettlementParams]) -> dict[str, np.ndarray]:
    """Stack per-scenario kernel arrays into batch arrays (tier tables zero-padded)."""
    out: dict[str, np.ndarray] = {}
    for f in _PARAM_FIELDS:
        arrs = [np.asarray(getattr(x, f)) for x in params]
        shape = tuple(max(s) for s in zip(*(a.shape for a in arrs), strict=True))
        out[f] = np.stack([_pad(a, shape) for a in arrs])
    out["ntiers"] = np.array([x.ntiers for x in params], dtype=np.int64)
    out["nrel"] = np.array([x.nrel for x in params], dtype=np.int64)
    return out


def sweep_settlement(
    inputs: SettlementInputs,
    policy: Any,
    grid: dict[str, list[Any]],
    **encode_kw: Any,
) -> pd.DataFrame:
    """Every combination of settlement-only ``grid`` values, settled in one parallel batch.

    Each key's values are validated and encoded once (k keys × n values, not the product);
    a combination is the base row with each key's changed slots written in. When two keys
    change the same slot (or the encoding does not separate) the combination is encoded in full.
    Returns one row per combination: the grid values, then the summary columns.
    """
    keys = list(grid)
    base = encode(inputs, policy, **encode_kw)
    sizes = [len(grid[k]) for k in keys]
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in sizes], indexing="ij"), -1).reshape(
        -1, len(keys))  # itertools.product order
    ns = len(idx)
    try:
        per_key = [[_encode_with(inputs, policy, {k: v}, encode_kw) for v in grid[k]]
                   for k in keys]
    except ValueError:
        per_key = []  # a value valid only together with another key's: encode in full
    batch: dict[str, np.ndarray] | None = None
    if per_key:
        # Base row + every key's values, stacked to one padded shape.
        flat = [base] + [x for vals in per_key for x in vals]
        st = _stack(flat)
        offs = np.cumsum([1] + sizes[:-1])
        fields = list(_PARAM_FIELDS) + ["ntiers", "nrel"]
        masks = []
        for k, off in enumerate(offs):
            sl = slice(off, off + sizes[k])
            masks.append({f: (st[f][sl] != st[f][0]).any(axis=0) for f in fields})
        clash = any((masks[i][f] & masks[j][f]).any()
                    for i, j in itertools.combinations(range(len(keys)), 2) for f in fields)
        if not clash:
            batch = {f: np.repeat(st[f][:1], ns, axis=0) for f in fields}
            for k, off in enumerate(offs):
                st_rows = off + idx[:, k]
                for f in fields:
                    m = masks[k][f]
                    if m.any():
                        batch[f][:, m] = st[f][st_rows][:, m]
    if batch is None:
        batch = _stack([
            _encode_with(inputs, policy, {k: grid[k][i] for k, i in zip(keys, c, strict=True)},
                         encode_kw)
            for c in idx
        ])
    b = batch
    out = K.settle_batch(inputs.hd, inputs.md, inputs.ad, inputs.member_of, b["scores"], b["p"],
                         b["tiers"], b["ntiers"], b["rel"], b["nrel"], b["al_budget"],
                         b["al_tiers"], b["al_nt"])
    table = pd.DataFrame({k: np.asarray(grid[k], dtype=object)[idx[:, j]]
                          for j, k in enumerate(keys)})
    return pd.concat([table, _summary_frame(out, inputs)], axis=1)


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


def build_cells(priced: pd.DataFrame, policy: Any, *, simple_max_points: float = 100.0,
                group_column: str = "group") -> WhatIfCells:
    """Sum priced cases into what-if basis arrays (one pass; every draw reuses them).

    A *simple* case (for the level shift) is in a DRG without complication (code ending in 5
    or 9) whose mean base points are at most ``simple_max_points``. Upcoding moves a case to
    the next severity of its ADRG when the scheme has it, at the ratio of the two groups' mean
    base points.
    """
    spol, _ = resolve_policy(policy)
    inputs = prepare(priced, policy)
    df = priced
    if "case_class" in df.columns and spol.exclude_classes:
        keep = ~df["case_class"].astype("string").isin(list(spol.exclude_classes)).to_numpy(
            dtype=bool, na_value=False)
        df = df.loc[keep]
    n = len(df)
    nh = len(inputs.hospital_ids)
    h = pd.Index(inputs.hospital_ids).get_indexer(
        df["hospital_id"].astype("string").fillna("").to_numpy(dtype=object)).astype(np.int64)
    gtext = (df[group_column].astype("string").fillna("") if group_column in df.columns
             else pd.Series([""] * n))
    g, groups = pd.factorize(gtext.to_numpy(dtype=object))
    groups = np.asarray(groups, dtype=object)
    g = np.asarray(g, dtype=np.int64)

    def num(col: str) -> np.ndarray:
        if col not in df.columns:
            return np.zeros(n)
        return pd.to_numeric(df[col], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)

    month = num("month").astype(np.int64)
    month[(month < 1) | (month > 12)] = 0
    sr = (df["sr_approved"].fillna(False).to_numpy(dtype=bool) if "sr_approved" in df.columns
          else np.zeros(n, dtype=bool))
    srm = np.zeros(n, dtype=np.int64)
    if sr.any() and "sr_quarter" in df.columns:
        period = getattr(getattr(policy, "special_review", None), "quota_period", "quarter")
        srm = np.where(sr, _decision_month(df["sr_quarter"], str(period)), 0)
    na = len(inputs.alliance_ids)
    if na and "alliance_id" in df.columns:
        aidx = {a: i for i, a in enumerate(inputs.alliance_ids)}
        acol = df["alliance_id"].astype("string").fillna("").to_numpy(dtype=object)
        a = np.fromiter((aidx.get(x, -1) for x in acol), dtype=np.int64, count=n)
    elif na:
        a = inputs.member_of[h]
    else:
        a = np.full(n, -1, dtype=np.int64)
    slot = np.where(a >= 0, a, na)
    pp = num("patient_paid") if inputs.has_patient_paid else np.zeros(n)
    bp = num("base_points")
    pts, pay, tc = num("points"), num("payment"), num("total_cost")

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
    cell = ((h * 13 + month) * (na + 1) + slot)[nsr]
    size = nh * 13 * (na + 1)
    B = np.zeros((size, K.Q, K.T))
    for q, v in ((K.Q_PTS, pts), (K.Q_PAY, pay), (K.Q_TC, tc), (K.Q_PP, pp)):
        v = v[nsr]
        terms = [(K.T_ONE, v), (K.T_SHIFT, v * mover[nsr])]
        if q in (K.Q_PTS, K.Q_PAY):
            terms += [(K.T_UP, v * rm1[nsr]), (K.T_UPSHIFT, v * rm1[nsr] * mover[nsr])]
        for t, wv in terms:
            B[:, q, t] = np.bincount(cell, weights=wv, minlength=size)
    B = B.reshape(nh, 13, na + 1, K.Q, K.T)
    SR = np.zeros((size, K.Q))
    SRD = np.zeros((size, 2))
    if sr.any():
        c_sr = ((h * 13 + month) * (na + 1) + slot)[sr]
        for q, v in ((K.Q_PAY, pay), (K.Q_TC, tc), (K.Q_PP, pp)):
            SR[:, q] = np.bincount(c_sr, weights=v[sr], minlength=size)
        c_dec = ((h * 13 + srm) * (na + 1) + slot)[sr]
        SRD[:, 0] = np.bincount(c_dec, weights=num("sr_amount")[sr], minlength=size)
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


# ------------------------------------------------------------------------------ Monte Carlo


class Distribution(BaseModel):
    """An uncertain input: fixed value, normal(mean, sd), uniform(low, high) or triangular."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    dist: Literal["fixed", "normal", "uniform", "triangular"] = "fixed"
    value: float = 0.0
    mean: float = 0.0
    sd: float = Field(0.0, ge=0.0)
    low: float = 0.0
    mode: float | None = None
    high: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> Distribution:
        if self.dist in ("uniform", "triangular") and self.low > self.high:
            raise ValueError(f"{self.dist}: low ({self.low}) must not exceed high ({self.high})")
        if self.dist == "triangular":
            m = self.mode if self.mode is not None else (self.low + self.high) / 2
            if not self.low <= m <= self.high:
                raise ValueError("triangular: mode must lie in [low, high]")
        return self

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws (fractions)."""
        if self.dist == "normal":
            return rng.normal(self.mean, self.sd, n)
        if self.dist == "uniform":
            return rng.uniform(self.low, self.high, n)
        if self.dist == "triangular":
            if self.low == self.high:
                return np.full(n, self.low)
            m = self.mode if self.mode is not None else (self.low + self.high) / 2
            return rng.triangular(self.low, m, self.high, n)
        return np.full(n, self.value)


class MonteCarloSpec(BaseModel):
    """Uncertain inputs of a Monte Carlo run (issue 5 item 4); shares are clipped to [0, 1]."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    draws: int = Field(1000, ge=1)
    seed: int = 0
    volume_growth: Distribution = Distribution()
    cost_growth: Distribution = Distribution()
    upcoding_share: Distribution = Distribution()
    level_shift_share: Distribution = Distribution()
    simple_max_points: float = Field(100.0, gt=0.0)
    percentiles: tuple[float, ...] = (5.0, 25.0, 50.0, 75.0, 95.0)

    def sample(self) -> np.ndarray:
        """The draws as an array [draws, W] (seeded; the same spec gives the same array)."""
        rng = np.random.default_rng(self.seed)
        w = np.zeros((self.draws, K.W))
        w[:, K.W_VOLUME] = np.maximum(self.volume_growth.draw(rng, self.draws), -0.99)
        w[:, K.W_COST] = np.maximum(self.cost_growth.draw(rng, self.draws), -0.99)
        w[:, K.W_UPCODE] = np.clip(self.upcoding_share.draw(rng, self.draws), 0.0, 1.0)
        w[:, K.W_SHIFT] = np.clip(self.level_shift_share.draw(rng, self.draws), 0.0, 1.0)
        return w


@dataclass(frozen=True)
class MonteCarloResult:
    """Draws (inputs and summary per draw), percentiles of the summary and per hospital."""

    draws: pd.DataFrame
    percentiles: pd.DataFrame
    hospitals: pd.DataFrame


def monte_carlo(cells: WhatIfCells, params: SettlementParams, spec: MonteCarloSpec,
                chunk: int | None = None,
                progress: Callable[[int], None] | None = None) -> MonteCarloResult:
    """Seeded Monte Carlo over the what-if inputs; ``progress(n)`` is called per finished chunk."""
    w = spec.sample()
    chunk = chunk or spec.draws
    frames, results = [], []
    for start in range(0, spec.draws, chunk):
        f, r = run_whatifs(cells, params, w[start:start + chunk])
        frames.append(f)
        results.append(r)
        if progress is not None:
            progress(len(f))
    summ = pd.concat(frames, ignore_index=True)
    res = np.vstack(results)
    inputs = pd.DataFrame(w, columns=["volume_growth", "cost_growth", "upcoding_share",
                                      "level_shift_share"])
    draws = pd.concat([inputs, summ], axis=1)
    draws.insert(0, "draw", np.arange(spec.draws))
    q = list(spec.percentiles)
    numeric = [c for c in draws.columns if c not in ("draw", "largest_loss_hospital")]
    pct = draws[numeric].quantile(np.array(q) / 100.0).T
    pct.columns = [f"p{p:g}" for p in q]
    pct.insert(0, "mean", draws[numeric].mean())
    pct.index.name = "metric"
    hosp = pd.DataFrame(np.percentile(res, q, axis=0).T, columns=[f"p{p:g}" for p in q])
    hosp.insert(0, "mean", res.mean(axis=0))
    hosp.insert(0, "p_loss", (res < 0).mean(axis=0))
    hosp.insert(0, "hospital_id", cells.inputs.hospital_ids)
    return MonteCarloResult(draws, pct.reset_index(), hosp)


# ------------------------------------------------------------------------------ mixed sweeps


def sweep(
    grid: dict[str, list[Any]],
    policy: Any,
    *,
    cells: WhatIfCells,
    reprice: Callable[[Any], pd.DataFrame] | None = None,
    progress: Callable[[int], None] | None = None,
    **encode_kw: Any,
) -> pd.DataFrame:
    """Every combination of ``grid`` (dotted keys), each through the cheapest exact path.

    Settlement keys only → :func:`sweep_settlement`; with what-if keys → cell re-aggregation;
    with other policy keys → ``reprice(policy)`` (a function returning priced cases) and a full
    settlement. Returns one row per combination.
    """
    keys = list(grid)
    if not keys:
        return pd.DataFrame()
    wkeys = [k for k in keys if k in WHATIF_KEYS]
    pkeys = [k for k in keys if k not in WHATIF_KEYS and not _is_settlement_key(k)]
    if not wkeys and not pkeys:
        out = sweep_settlement(cells.inputs, policy, grid, **encode_kw)
        if progress is not None:
            progress(len(out))
        return out
    if pkeys and reprice is None:
        raise ValueError(f"grid keys {pkeys} need re-pricing: pass reprice=")
    rows = []
    combos = list(itertools.product(*[grid[k] for k in keys]))
    for combo in combos:
        over = dict(zip(keys, combo, strict=True))
        pol_over = {k: v for k, v in over.items() if k not in WHATIF_KEYS}
        pol = policy
        if pkeys:
            pol = override_policy(policy, {k: over[k] for k in pkeys})
        w = np.zeros((1, K.W))
        for k in wkeys:
            w[0, WHATIF_KEYS[k]] = float(over[k])
        if pkeys:
            assert reprice is not None
            c = build_cells(reprice(pol), pol)
        elif any(k.startswith("settlement.alliances") or k == "settlement.exclude_classes"
                 for k in pol_over):
            raise ValueError("settlement.alliances / exclude_classes change the aggregation of "
                             "the cases: set them in the base policy, not in the grid")
        else:
            c = cells
        set_over = {k: v for k, v in pol_over.items() if k not in pkeys}
        summ, _ = run_whatifs(c, _encode_with(c.inputs, pol, set_over, encode_kw), w)
        rows.append(summ.assign(**{k: [v] for k, v in over.items()}))
        if progress is not None:
            progress(1)
    out = pd.concat(rows, ignore_index=True)
    return out[keys + [c for c in out.columns if c not in keys]]


# ------------------------------------------------------------------------------ scenario file


class Scenario(BaseModel):
    """A scenario TOML: base policy + overrides, optional grid sweep and Monte Carlo.

    Paths are relative to the scenario file. ``cases`` are raw cases (grouped with ``scheme``,
    weights from the years before ``year``, priced) or ``priced_cases`` already priced.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "scenario"
    description: str = ""
    policy: str = "national_drg"
    cases: str | None = None
    priced_cases: str | None = None
    scheme: str | None = None
    year: int | None = None
    prior_year_actual: float | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    sweep: dict[str, list[Any]] = Field(default_factory=dict)
    monte_carlo: MonteCarloSpec | None = None
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _source(self) -> Scenario:
        if self.cases is None and self.priced_cases is None:
            raise ValueError("scenario needs `cases` (raw cases file) or `priced_cases`")
        for k, v in self.sweep.items():
            if not isinstance(v, list) or not v:
                raise ValueError(f"sweep.{k}: give a non-empty list of values")
        return self

    def path(self, rel: str) -> Path:
        """A path of the scenario resolved against the scenario file's folder."""
        p = Path(rel)
        return p if p.is_absolute() else self.base_dir / p


def load_scenario(path: str | Path) -> Scenario:
    """Parse and validate a scenario TOML (errors name the file)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    data = dict(data)
    data["base_dir"] = path.parent
    try:
        return Scenario.model_validate(data)
    except Exception as exc:
        raise ValueError(f"{path}: {exc}") from exc


def load_base_policy(scn: Scenario) -> Any:
    """The scenario's policy (preset name or path) with its overrides applied."""
    from . import load_policy

    src = scn.policy
    cand = scn.path(src)
    pol = load_policy(cand if cand.suffix == ".toml" and cand.exists() else src)
    return override_policy(pol, scn.overrides) if scn.overrides else pol


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


# ------------------------------------------------------------------------------ a whole run


def price_scenario_cases(scn: Scenario, policy: Any) -> pd.DataFrame:
    """The scenario's priced cases: read ``priced_cases``, or group, weigh and price ``cases``.

    Weights come from the years before ``year`` (the latest year in the file when unset);
    ``patient_paid`` and ``alliance_id`` are carried over from the cases when pricing drops them.
    """
    if scn.priced_cases is not None:
        p = scn.path(scn.priced_cases)
        return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    import grouper

    from . import compute_weights, price

    assert scn.cases is not None
    cases = grouper.read_cases(scn.path(scn.cases))
    scheme = grouper.load_scheme(scn.path(scn.scheme) if scn.scheme else grouper.demo_scheme_path())
    grouped = grouper.group(cases, scheme, keep_columns=True)
    years = pd.to_numeric(grouped["year"], errors="coerce")
    year = scn.year if scn.year is not None else int(years.max())
    history = grouped[years < year]
    if history.empty:
        raise ValueError(f"{scn.name}: no cases before {year} to compute weights from")
    current = grouped[years == year].reset_index(drop=True)
    priced = price(current, compute_weights(history, policy), policy)
    for col in ("patient_paid", "alliance_id"):
        if col not in priced.columns and col in current.columns:
            priced[col] = current[col].to_numpy()
    return priced


@dataclass(frozen=True)
class SimulationResult:
    """Everything one scenario file produces: baseline tables, sweep, Monte Carlo, inputs."""

    scenario: Scenario
    priced: pd.DataFrame
    baseline: Any  # payment.settlement.SettlementResult
    scenarios: pd.DataFrame  # one summary row per scenario (baseline first, then the grid)
    sweep: pd.DataFrame
    monte_carlo: MonteCarloResult | None


def simulate(scn: Scenario, *, priced: pd.DataFrame | None = None, policy: Any = None,
             progress: Callable[[str, int, int], None] | None = None) -> SimulationResult:
    """Run a scenario file: price once, settle the baseline, sweep the grid, run the Monte Carlo.

    ``progress(stage, done, total)`` reports work as it finishes (for a progress bar).
    """
    from .settlement import settle_inputs

    def tick(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    policy = load_base_policy(scn) if policy is None else policy
    tick("pricing", 0, 1)
    if priced is None:
        priced = price_scenario_cases(scn, policy)
    tick("pricing", 1, 1)
    mc = scn.monte_carlo
    cells = build_cells(priced, policy,
                        simple_max_points=mc.simple_max_points if mc else 100.0)
    kw = {"prior_year_actual": scn.prior_year_actual}
    params = encode(cells.inputs, policy, **kw)
    baseline = settle_inputs(cells.inputs, params)
    tick("baseline", 1, 1)

    def reprice(pol: Any) -> pd.DataFrame:
        return price_scenario_cases(scn, pol)

    n_grid = int(np.prod([len(v) for v in scn.sweep.values()])) if scn.sweep else 0
    done = [0]

    def grid_tick(n: int) -> None:
        done[0] += n
        tick("sweep", done[0], n_grid)

    grid = sweep(scn.sweep, policy, cells=cells, reprice=reprice, progress=grid_tick,
                 **kw) if scn.sweep else pd.DataFrame()
    base_row = pd.DataFrame([{k: baseline.summary[k] for k in
                              list(SUMMARY_COLUMNS) + ["fund_balance", "largest_loss_hospital"]}])
    base_row.insert(0, "scenario", "baseline")
    rows = [base_row]
    if not grid.empty:
        keys = list(scn.sweep)
        labels = [", ".join(f"{k.rsplit('.', 1)[-1]}={r[k]}" for k in keys)
                  for _, r in grid.iterrows()]
        g = grid.drop(columns=keys)
        g.insert(0, "scenario", labels)
        rows.append(g)
    scenarios = pd.concat(rows, ignore_index=True)
    result_mc = None
    if mc is not None:
        step = max(1, min(100, mc.draws // 10 or 1))
        mdone = [0]

        def mc_tick(n: int) -> None:
            mdone[0] += n
            tick("monte carlo", mdone[0], mc.draws)

        result_mc = monte_carlo(cells, params, mc, chunk=step, progress=mc_tick)
    return SimulationResult(scn, priced, baseline, scenarios, grid, result_mc)
