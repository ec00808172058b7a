"""Year-end settlement of a pooling region: budget, reserve, advances, clearing, tiers (§8, §13).

``settle(priced_cases, policy)`` aggregates the priced cases **once** into per-hospital and
per-hospital × month arrays (:func:`prepare`), encodes the policy into a flat parameter row
(:func:`encode`) and runs the cents kernel (:mod:`payment._settle_kernels`). Settlement-only
what-ifs re-run :func:`encode` + the kernel on the same :class:`SettlementInputs`.

Money rule (domain.md §13): every per-hospital amount — entitlement, fee-for-service fund amount,
overspend sharing, surplus taken back, deposit, release, alliance allocation, each monthly
advance — is computed in float64 from unrounded inputs and rounded **once** to integer cents
(half-up, i.e. away from zero on .5, unless ``rounding = "half_even"``). Everything after that is
integer-cent arithmetic, so sums are exact and

* budget = paid to hospitals + reserve kept + returned to the fund, and
* each hospital's Σ monthly advances + clearing = its final amount,

hold to the cent, in every mode. Where the rule fixes a total, the per-hospital amounts are
allocated by **largest remainder** (floor in cents, the cents left to the largest fractional
parts, ties by hospital id) so the parts add up to it and the fund never pays a cent more: the
reserve shared pro rata when it cannot cover all sharing (§13 default; ``sharing_beyond_reserve
= "pay_in_full"`` pays each share and draws the excess from the fund line), the entitlements
under an unrounded or undefined point value, an alliance's result over its members. With the
published point value (§13: 4 decimals half-up) each entitlement is rounded on its own and
"returned" absorbs the difference. No reserve exists when it is not withheld. Forfeited
deposits return to the fund (§13; ``assessment.forfeited = "reserve"`` keeps them). Monthly
advances: one rounding per month from unrounded points × the pricing's yuan per point, no
special-review money (§13). The rules per step and their keys: ``docs/payment.md``.

Undefined divisions (domain.md §13 leaves them open; drgsim's rules):

* **Zero points, not finite, negative.** The floating point value is (pool − Σ special-review
  re-priced amounts) ÷ Σ points of the other settled cases. When that divisor is 0 (no settled
  case, every case excluded, 0 points or approved in special review), the quotient is not
  finite, or it is negative (re-priced amounts above the pool), the point value is set to
  **0** and ``summary["point_value_status"]`` says why (``zero_points``, ``not_finite``,
  ``negative``; else ``ok``): nothing is paid on points, the re-priced amounts are paid scaled
  down to at most the pool (``summary["special_review_scale"]``), less patient payments where
  known — never billed to hospitals — and the fund not paid out is **returned to the fund**.
  Example: budget 2.00 yuan, one case of 0 points → point value 0, paid 0, returned 2.00. In
  fixed mode the reported point value (Σ payment ÷ Σ points) is NaN when there are no points.
* **Tier ratio base ≤ 0** (fee-for-service amount or entitlement): no tier applies to that
  hospital (nothing shared, nothing taken back). An **alliance** whose tier base (charged, or
  its budget, e.g. population 0) is ≤ 0 has no fund part: it keeps its budget or bears all that
  is charged. An alliance's result goes to its members pro rata to positive entitlement, in equal
  parts when none has one. Sharing is scaled down only when there is sharing to scale.
* **Unknown discharge month** (``month`` missing, 0 or outside 1–12): the case gets no monthly
  advance — it is paid in full at the year-end clearing (advances + clearing = final still
  holds). Its points and amounts count in the year's settlement as usual.

Magnitudes: no amount can overflow int64 cents. Inputs are rejected with a ``ValueError`` (or
the policy's ``ValidationError``) instead: non-finite or negative points, non-finite money, a
money column whose total over the settled cases exceeds
:data:`~payment.settlement_policy.MAX_YUAN` (1e12 yuan), a budget or alliance budget above it,
a budget on the total-cost basis (budget ÷ reimbursement ratio) above it, a reimbursement ratio
outside (0, 1], non-finite scores. Within these bounds every per-hospital amount is below a few
times 1e14 cents, and every sum far below the int64 limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import _settle_kernels as K
from ._cells_kernels import settlement_sums
from ._settle_prepare import (
    _check_cases,
    _class_in,
    _column,
    _convert_sr,
    _decision_month,
    _hospital_codes,
    _rw_by_hospital,
    provisional_values,
)
from .case_codes import check_codes
from .settlement_policy import MAX_YUAN, SettlementPolicy

__all__ = [
    "PointValueKeys",
    "SettlementInputs",
    "SettlementParams",
    "SettlementResult",
    "encode",
    "prepare",
    "resolve_policy",
    "settle",
    "settle_inputs",
]


#: ``summary["point_value_status"]`` values (module docstring, "Undefined divisions")
PV_STATUSES = ("ok", "zero_points", "negative", "not_finite")


@dataclass(frozen=True)
class PointValueKeys:
    """The ``[point_value]`` keys settlement reads from the full policy (§4, §13)."""

    reimbursement_ratio: float = 1.0
    reserve_withheld: bool = True
    reserve_rate: float = 0.05
    budget: float | None = None
    decimals: int = 4
    rounding: str = "half_up"
    pool: str = "fund_over_ratio"
    method: str = "points"
    points_scale: float = 100.0
    conversion: str = "settlement_pv"


def resolve_policy(policy: Any) -> tuple[SettlementPolicy, PointValueKeys]:
    """Split a full ``Policy`` (or a bare :class:`SettlementPolicy`) into the two parts used here."""
    if isinstance(policy, SettlementPolicy):
        return policy, PointValueKeys()
    spol = getattr(policy, "settlement", None)
    if spol is None:
        spol = SettlementPolicy()
    elif isinstance(spol, dict):
        spol = SettlementPolicy.model_validate(spol)
    pv = getattr(policy, "point_value", None)
    if pv is None:
        return spol, PointValueKeys()
    return spol, PointValueKeys(
        reimbursement_ratio=float(getattr(pv, "reimbursement_ratio", 1.0)),
        reserve_withheld=bool(getattr(pv, "reserve_withheld", True)),
        reserve_rate=float(getattr(pv, "reserve_rate", 0.05)),
        budget=getattr(pv, "budget", None),
        decimals=int(getattr(pv, "decimals", 4)),
        rounding=str(getattr(pv, "rounding", "half_up")),
        pool=str(getattr(pv, "pool", "fund_over_ratio")),
        method=str(getattr(policy, "method", "points")),
        points_scale=float(getattr(getattr(policy, "weights", None), "points_scale", 100.0)),
        conversion=str(getattr(getattr(policy, "special_review", None), "conversion",
                               "settlement_pv")),
    )


@dataclass(frozen=True)
class SettlementInputs:
    """Priced cases aggregated once per hospital, hospital × month and hospital × alliance.

    ``hd``, ``md``, ``ad`` follow the layout constants of :mod:`payment._settle_kernels`
    (yuan and points, unrounded). Hospitals are sorted by id.
    """

    hospital_ids: np.ndarray
    hospital_level: np.ndarray
    hd: np.ndarray
    md: np.ndarray
    ad: np.ndarray
    member_of: np.ndarray
    alliance_ids: tuple[str, ...]
    has_patient_paid: bool
    n_cases: np.ndarray
    n_sr: np.ndarray
    base_points: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: Σ RW and count of the cases with a weight, per hospital, for the CMI (§13)
    rw_sum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rw_n: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: the yuan per point the cases were priced at (provisional PV of the advances, §13)
    provisional_pv: float = float("nan")
    points_scale: float = 100.0

    @property
    def policy_point_value(self) -> float:
        """The point value the cases were priced at (yuan/point): the pricing's yuan per point
        when known, else Σ payment ÷ Σ points."""
        if np.isfinite(self.provisional_pv):
            return float(self.provisional_pv)
        pts = self.hd[:, K.HD_PTS].sum()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            pv = float(self.hd[:, K.HD_PAY].sum() / pts) if pts > 0 else float("nan")
        return pv if np.isfinite(pv) else float("nan")


#: the columns prepare() reads after the exclusions (narrowed to the kept rows)
_PREPARE_READS = ("hospital_level", "points", "payment", "total_cost", "sr_amount",
                  "sr_approved", "patient_paid", "month", "sr_quarter", "alliance_id",
                  "base_points")


def prepare(priced: pd.DataFrame, policy: Any, *, codes: Any = None) -> SettlementInputs:
    """Aggregate priced cases (the "Priced cases" contract) for settlement; the only pass over cases.

    Cases whose ``case_class`` is in ``exclude_classes`` are paid outside the budget and left out.
    ``alliance_id`` charges a case to an alliance; without that column, cases treated at an
    alliance's members are charged to it. A case whose ``month`` is missing, 0 or outside 1–12
    gets no monthly advance (paid in full at clearing; module docstring). Raises ``ValueError``
    for non-finite or negative points and for money no int64-cent settlement can hold (non-finite,
    or a column total above ``MAX_YUAN``). ``codes``: :func:`payment.case_codes.text_codes` of
    a table with the same rows (a re-price of them); its case-constant columns are not read
    again, the inputs are the same.
    """
    spol, pvk = resolve_policy(policy)
    attrs = getattr(priced, "attrs", {}) or {}
    scale = float(attrs.get("points_scale", pvk.points_scale))
    if codes is not None:
        check_codes(codes, priced, "prepare")
        all_ids, h_all = codes.hospital_ids, codes.hospital_rank
    else:  # hospitals coded once over all rows (hash + sort of the few ids, not of every row)
        all_ids, h_all = _hospital_codes(priced["hospital_id"])
    rw_sum, rw_n = _rw_by_hospital(priced, h_all, len(all_ids), scale)
    # only the columns read below are narrowed to the kept rows (not the whole table)
    df = priced[[c for c in _PREPARE_READS if c in priced.columns]]
    keep = np.ones(len(priced), dtype=bool)
    if "case_class" in priced.columns and spol.exclude_classes:
        keep = ~_class_in(priced["case_class"], spol.exclude_classes)
        df = df.loc[keep]
        h_all = h_all[keep]
    used = np.bincount(h_all, minlength=len(all_ids)) > 0
    remap = np.cumsum(used) - 1
    ids = all_ids[used]
    h = remap[h_all]
    nh = len(ids)
    level_col = (codes.level[keep] if codes is not None
                 else _column(df, "hospital_level", 0.0).astype(np.int64))
    level = np.zeros(nh, dtype=np.int64)
    level[h] = level_col  # one level per hospital; the last row wins if the data disagree

    pts = _column(df, "points")
    pay = _column(df, "payment")
    tc = codes.total_cost[keep] if codes is not None else _column(df, "total_cost")
    sr_amt = _column(df, "sr_amount")
    if "sr_approved" in df.columns:
        sr = df["sr_approved"].fillna(False).to_numpy(dtype=bool)
    else:
        sr = np.zeros(len(df), dtype=bool)
    if codes is not None:
        has_pp = codes.patient_paid_known and not codes.patient_paid_missing[keep].any()
        pp = codes.patient_paid[keep] if has_pp else np.zeros(len(df))
        mf = codes.month[keep]
    else:
        has_pp = "patient_paid" in df.columns and not df["patient_paid"].isna().any()
        pp = _column(df, "patient_paid") if has_pp else np.zeros(len(df))
        mf = _column(df, "month", 0.0)
    _check_cases(pts, pay, tc, np.where(sr, sr_amt, 0.0), pp)
    month = np.where(np.isfinite(mf) & (mf >= 1) & (mf < 13), mf, 0.0).astype(np.int64)
    # provisional value of each case before special review (§13 advances), the one rule
    prov, ypp = provisional_values(pts, pay, attrs)
    pts, pay, sr_amt = _convert_sr(pts, pay, sr_amt, sr, pvk.conversion, ypp, attrs, scale)

    if pvk.conversion != "settlement_pv":
        sr = np.zeros(len(df), dtype=bool)  # converted to points: settled like other cases
    # Advances: discharge month, points before special review at the policy point value (§13).
    md = np.zeros((nh, 12, K.MD))
    # Special-review approvals are advanced in the last month of the period they are decided in.
    if sr.any() and "sr_quarter" in df.columns:
        period = getattr(getattr(policy, "special_review", None), "quota_period", "quarter")
        dm = _decision_month(df["sr_quarter"], str(period))
        dec = sr & (dm > 0)
        scell = h[dec] * 12 + (dm[dec] - 1)
        md[:, :, K.MD_SRTOP] = np.bincount(
            scell, weights=sr_amt[dec] - pay[dec], minlength=nh * 12
        ).reshape(nh, 12)

    # Alliances: which alliance each case's patient is insured with, and each hospital's membership.
    alliance_ids = tuple(a.id for a in spol.alliances)
    na = len(alliance_ids)
    member_of = np.full(nh, -1, dtype=np.int64)
    pos = {hid: i for i, hid in enumerate(ids)}
    for ai, a in enumerate(spol.alliances):
        for m in a.members:
            if m in pos:
                member_of[pos[m]] = ai
    ad = np.zeros((nh, na, K.AD))
    if na:
        if codes is not None and codes.alliance is not None:
            a_codes, a_uniq = codes.alliance
            ca = pd.Index(alliance_ids, dtype=object).get_indexer(a_uniq).astype(np.int64)[
                a_codes[keep]]
        elif "alliance_id" in df.columns:
            acol = df["alliance_id"].astype("string").fillna("").to_numpy(dtype=object)
            ca = pd.Index(alliance_ids, dtype=object).get_indexer(acol).astype(np.int64)
        else:
            ca = member_of[h]
    else:
        ca = np.full(len(h), -1, dtype=np.int64)
    # per hospital, month and alliance in one pass (cases not approved in special review
    # give points and payment, approved ones their re-priced amount; months 1–12 only)
    hd = np.zeros((nh, K.HD))
    f64 = [np.ascontiguousarray(v, dtype=np.float64) for v in (pts, pay, sr_amt, tc, pp)]
    settlement_sums(np.ascontiguousarray(h, dtype=np.int64), np.ascontiguousarray(sr), *f64,
                    np.ascontiguousarray(month, dtype=np.int64),
                    np.ascontiguousarray(prov, dtype=np.float64),
                    np.ascontiguousarray(ca, dtype=np.int64), hd, md, ad)

    bp = _column(df, "base_points") if "base_points" in df.columns else None
    base_points = (
        np.bincount(h, weights=bp, minlength=nh) if bp is not None else np.zeros(0)
    )
    h_rw_sum = rw_sum[used] if len(rw_sum) else np.zeros(0)
    h_rw_n = rw_n[used] if len(rw_n) else np.zeros(0)
    return SettlementInputs(
        hospital_ids=ids.astype(object),
        hospital_level=level,
        hd=hd,
        md=np.ascontiguousarray(md),
        ad=np.ascontiguousarray(ad),
        member_of=member_of,
        alliance_ids=alliance_ids,
        has_patient_paid=bool(has_pp),
        n_cases=np.bincount(h, minlength=nh),
        n_sr=np.bincount(h, weights=sr.astype(np.float64), minlength=nh).astype(np.int64),
        base_points=base_points,
        rw_sum=h_rw_sum,
        rw_n=h_rw_n,
        provisional_pv=ypp,
        points_scale=scale,
    )


@dataclass(frozen=True)
class SettlementParams:
    """One scenario's settlement policy as kernel arrays (see :mod:`payment._settle_kernels`)."""

    p: np.ndarray
    tiers: np.ndarray
    ntiers: int
    rel: np.ndarray
    nrel: int
    al_budget: np.ndarray
    al_tiers: np.ndarray
    al_nt: np.ndarray
    scores: np.ndarray


def _tier_array(rows: Any, width: int | None = None) -> np.ndarray:
    n = len(rows) if width is None else width
    out = np.zeros((max(n, 1), 3))
    for i, r in enumerate(rows):
        out[i] = (r.lower, r.upper, r.fund_share)
    return out


def encode(
    inputs: SettlementInputs,
    policy: Any,
    *,
    prior_year_actual: float | None = None,
    reimbursement_ratio: float | None = None,
    reserve_withheld: bool | None = None,
    scores: dict[str, float] | None = None,
) -> SettlementParams:
    """Encode a policy for the kernel; keyword arguments override the policy's values.

    Raises ``ValueError`` for a reimbursement ratio outside (0, 1], a budget that is negative,
    not finite or above ``MAX_YUAN`` (also on the total-cost basis, budget ÷ ratio), and
    non-finite scores (module docstring, "Magnitudes").
    """
    spol, pvk = resolve_policy(policy)
    ratio = float(pvk.reimbursement_ratio if reimbursement_ratio is None else reimbursement_ratio)
    withheld = pvk.reserve_withheld if reserve_withheld is None else reserve_withheld
    if not (np.isfinite(ratio) and 0.0 < ratio <= 1.0):
        raise ValueError(f"settlement: reimbursement_ratio must be in (0, 1], got {ratio!r}")
    b = spol.budget
    p = np.zeros(K.K)
    if b.mode == "amount":
        amount = b.amount if b.amount is not None else pvk.budget
        if amount is None:
            raise ValueError(
                "settlement.budget: mode = 'amount' needs budget.amount or point_value.budget (yuan)"
            )
        p[K.P_BUDGET_MODE] = 1.0
        p[K.P_AMOUNT] = amount
    else:
        prior = prior_year_actual if prior_year_actual is not None else b.prior_year_actual
        if prior is None:
            # Planner's baseline: this year's cases at fee-for-service are the prior-year actual.
            hd = inputs.hd
            prior = float(
                (hd[:, K.HD_TC] - hd[:, K.HD_PP]).sum()
                if inputs.has_patient_paid
                else hd[:, K.HD_TC].sum() * ratio
            )
        p[K.P_PRIOR] = prior
        p[K.P_GROWTH] = b.growth
    budget = float(p[K.P_AMOUNT] if b.mode == "amount" else p[K.P_PRIOR] * (1.0 + p[K.P_GROWTH]))
    if not 0.0 <= budget <= MAX_YUAN:
        raise ValueError(
            f"settlement: budget {budget!r} yuan must be a number in [0, {MAX_YUAN:.0e}]"
        )
    if not budget / ratio <= MAX_YUAN:
        raise ValueError(
            f"settlement: budget ÷ reimbursement ratio = {budget / ratio:.6g} yuan (total-cost "
            f"basis) exceeds the largest amount settlement accepts ({MAX_YUAN:.0e} yuan)"
        )
    p[K.P_RESERVE_RATE] = spol.reserve_rate if spol.reserve_rate is not None else pvk.reserve_rate
    p[K.P_ADVANCE_RATIO] = spol.advance_ratio
    p[K.P_FLOATING] = 1.0 if spol.point_value_mode == "floating" else 0.0
    p[K.P_WITHHELD] = 1.0 if withheld else 0.0
    p[K.P_RATIO] = ratio
    p[K.P_HAS_PP] = 1.0 if inputs.has_patient_paid else 0.0
    p[K.P_TIER_BASE] = 0.0 if spol.tier_ratio_base == "ffs" else 1.0
    a = spol.assessment
    p[K.P_DEPOSIT_RATE] = a.deposit_rate
    p[K.P_MAPPING] = 0.0 if a.mapping == "table" else 1.0
    p[K.P_ZERO_SCORE] = a.zero_score
    p[K.P_FULL_SCORE] = a.full_score
    p[K.P_ROUNDING] = 0.0 if spol.rounding == "half_up" else 1.0
    p[K.P_MEMBERS_TIERED] = 1.0 if spol.alliance_members_tiered else 0.0
    p[K.P_POLICY_PV] = inputs.policy_point_value
    p[K.P_PV_DECIMALS] = float(pvk.decimals) if pvk.rounding == "half_up" else -1.0
    p[K.P_POOL] = 1.0 if pvk.pool == "fund_plus_patient_paid" else 0.0
    p[K.P_RATE_UNIT] = pvk.points_scale if pvk.method == "rate" else 1.0
    p[K.P_SHARING_FULL] = 1.0 if spol.sharing_beyond_reserve == "pay_in_full" else 0.0
    p[K.P_DEPOSIT_BASE] = 0.0 if a.deposit_base == "after_tiers" else 1.0
    p[K.P_FORFEIT_RESERVE] = 1.0 if a.forfeited == "reserve" else 0.0

    rel = np.zeros((max(len(a.release), 1), 2))
    for i, r in enumerate(a.release):
        rel[i] = (r.min_score, r.release)
    table = dict(a.scores)
    if scores:
        table.update(scores)
    sc = np.array([float(table.get(h, a.default_score)) for h in inputs.hospital_ids])
    if not np.isfinite(sc).all():
        raise ValueError("settlement: assessment scores must be finite numbers")

    by_id = {al.id: al for al in spol.alliances}
    if tuple(by_id) != inputs.alliance_ids:
        raise ValueError("alliances changed since prepare(); call prepare() with this policy")
    na = len(inputs.alliance_ids)
    width = max([len(al.tiers) for al in spol.alliances] + [1])
    al_tiers = np.zeros((na, width, 3))
    al_nt = np.zeros(na, dtype=np.int64)
    al_budget = np.zeros(na)
    for i, al in enumerate(spol.alliances):
        al_tiers[i] = _tier_array(al.tiers, width)
        al_nt[i] = len(al.tiers)
        al_budget[i] = al.per_capita * al.population
    return SettlementParams(
        p=p,
        tiers=_tier_array(spol.tiers),
        ntiers=len(spol.tiers),
        rel=rel,
        nrel=len(a.release),
        al_budget=al_budget,
        al_tiers=al_tiers,
        al_nt=al_nt,
        scores=sc,
    )


@dataclass(frozen=True)
class SettlementResult:
    """Per-hospital statement, monthly advances, alliance accounts and the fund ledger.

    ``cents`` holds the integer-cent arrays the tables are made from (``hospital`` [H, OH],
    ``advances`` [H, 12], ``alliance`` [A, OA]); money columns of the tables are yuan.
    """

    statement: pd.DataFrame
    advances: pd.DataFrame
    alliances: pd.DataFrame
    ledger: pd.DataFrame
    summary: dict[str, float]
    cents: dict[str, np.ndarray]


def settle_inputs(inputs: SettlementInputs, params: SettlementParams) -> SettlementResult:
    """Run the settlement kernel on prepared aggregates and build the tables (yuan)."""
    nh = len(inputs.hospital_ids)
    na = len(inputs.alliance_ids)
    out_h = np.zeros((nh, K.OH), dtype=np.int64)
    out_adv = np.zeros((nh, 12), dtype=np.int64)
    out_al = np.zeros((na, K.OA), dtype=np.int64)
    out_s = np.zeros(K.S_)
    K.settle_one(inputs.hd, inputs.md, inputs.ad, inputs.member_of, params.scores, params.p,
                 params.tiers, params.ntiers, params.rel, params.nrel, params.al_budget,
                 params.al_tiers, params.al_nt, out_h, out_adv, out_al, out_s)
    return _tables(inputs, params, out_h, out_adv, out_al, out_s)


def settle(priced_cases: pd.DataFrame, policy: Any, **kwargs: Any) -> SettlementResult:
    """Settle one year of a pooling region (domain.md §8 with the §13 defaults).

    ``policy`` is a full ``Policy`` (its ``settlement`` and ``point_value`` tables are read) or a
    :class:`SettlementPolicy`. Keyword arguments (``prior_year_actual`` yuan,
    ``reimbursement_ratio``, ``reserve_withheld``, ``scores`` {hospital_id: score}) override the
    policy's values.
    """
    inputs = prepare(priced_cases, policy)
    return settle_inputs(inputs, encode(inputs, policy, **kwargs))


def _yuan(c: np.ndarray) -> np.ndarray:
    return c.astype(np.float64) / 100.0


def _tables(inputs: SettlementInputs, params: SettlementParams, out_h: np.ndarray,
            out_adv: np.ndarray, out_al: np.ndarray, out_s: np.ndarray) -> SettlementResult:
    ent = out_h[:, K.OH_ENT]
    ffs = out_h[:, K.OH_FFS]
    base = ffs if params.p[K.P_TIER_BASE] == 0.0 else ent
    with np.errstate(divide="ignore", invalid="ignore"):
        tier_ratio = np.where(base > 0, (ffs - ent) / base, np.nan)
        pay_ratio = np.where(ffs > 0, out_h[:, K.OH_FINAL] / ffs, np.nan)
    member = np.array(
        [inputs.alliance_ids[m] if m >= 0 else "" for m in inputs.member_of], dtype=object
    )
    stmt = pd.DataFrame(
        {
            "hospital_id": inputs.hospital_ids,
            "hospital_level": inputs.hospital_level,
            "alliance_id": member,
            "cases": inputs.n_cases,
            "sr_cases": inputs.n_sr,
            "points": inputs.hd[:, K.HD_PTS],
            "sr_amount": inputs.hd[:, K.HD_SR],
            "total_cost": inputs.hd[:, K.HD_TC],
            "ffs_amount": _yuan(ffs),
            "entitlement": _yuan(ent),
            "tier_ratio": tier_ratio,
            "sharing": _yuan(out_h[:, K.OH_SHARE]),
            "recovered": _yuan(out_h[:, K.OH_RECOV]),
            "tier_adjustment": _yuan(out_h[:, K.OH_SHARE] - out_h[:, K.OH_RECOV]),
            "deposit": _yuan(out_h[:, K.OH_DEPOSIT]),
            "score": params.scores,
            "release": _yuan(out_h[:, K.OH_RELEASE]),
            "alliance_adjustment": _yuan(out_h[:, K.OH_ALLY]),
            "final_amount": _yuan(out_h[:, K.OH_FINAL]),
            "advances": _yuan(out_h[:, K.OH_ADV]),
            "clearing": _yuan(out_h[:, K.OH_CLEAR]),
            "result": _yuan(out_h[:, K.OH_FINAL] - ffs),
            "payment_ratio": pay_ratio,
        }
    )
    if inputs.rw_n.size:  # §13: mean RW of the cases with a weight
        with np.errstate(divide="ignore", invalid="ignore"):
            stmt["cmi"] = np.where(inputs.rw_n > 0, inputs.rw_sum / np.maximum(inputs.rw_n, 1),
                                   np.nan)
    elif inputs.base_points.size:  # aggregates without RW sums: mean base points ÷ scale
        with np.errstate(divide="ignore", invalid="ignore"):
            stmt["cmi"] = np.where(
                inputs.n_cases > 0,
                inputs.base_points / inputs.n_cases / inputs.points_scale, np.nan
            )
    adv = pd.DataFrame(_yuan(out_adv), columns=[f"m{m:02d}" for m in range(1, 13)])
    adv.insert(0, "hospital_id", inputs.hospital_ids)
    al = pd.DataFrame(
        {
            "alliance_id": list(inputs.alliance_ids),
            "budget": _yuan(out_al[:, K.OA_BUDGET]),
            "charged": _yuan(out_al[:, K.OA_CHARGED]),
            "result": _yuan(out_al[:, K.OA_RESULT]),
            "fund_part": _yuan(out_al[:, K.OA_FUND]),
        }
    )
    s = out_s
    items = [
        ("budget", s[K.S_BUDGET]),
        ("reserve withheld", s[K.S_RESERVE]),
        ("fund for the point value", s[K.S_FUND]),
        ("entitlements", s[K.S_ENT]),
        ("overspend sharing paid from the reserve", s[K.S_SHARING]),
        ("surplus taken back", s[K.S_RECOV]),
        ("quality deposits withheld", s[K.S_DEPOSIT]),
        ("quality deposits released", s[K.S_RELEASE]),
        ("alliance results paid (+) / deducted (−)", s[K.S_ALLY]),
        ("paid to hospitals", s[K.S_PAID]),
        ("  of which monthly advances", s[K.S_ADV]),
        ("  of which year-end clearing", round(s[K.S_PAID] - s[K.S_ADV], 2)),
        ("reserve kept", s[K.S_KEPT]),
        ("returned to the fund", s[K.S_RETURNED]),
    ]
    ledger = pd.DataFrame(items, columns=["item", "yuan"])
    worst = int(s[K.S_WORST_H])
    summary = {
        "point_value": float(s[K.S_PV]),
        "budget": float(s[K.S_BUDGET]),
        "reserve": float(s[K.S_RESERVE]),
        "paid": float(s[K.S_PAID]),
        "reserve_kept": float(s[K.S_KEPT]),
        "returned": float(s[K.S_RETURNED]),
        "fund_balance": round(float(s[K.S_KEPT] + s[K.S_RETURNED]), 2),
        "sharing": float(s[K.S_SHARING]),
        "sharing_scale": float(s[K.S_SCALE]),
        "recovered": float(s[K.S_RECOV]),
        "hospitals_surplus": int(s[K.S_N_SURPLUS]),
        "hospitals_overspend": int(s[K.S_N_OVER]),
        "largest_loss_hospital": str(inputs.hospital_ids[worst]) if worst >= 0 else "",
        "largest_loss": float(s[K.S_WORST]),
        "point_value_status": PV_STATUSES[int(s[K.S_PV_STATUS])],
        "special_review_scale": float(s[K.S_SR_SCALE]),
    }
    cents = {"hospital": out_h, "advances": out_adv, "alliance": out_al}
    return SettlementResult(stmt, adv, al, ledger, summary, cents)
