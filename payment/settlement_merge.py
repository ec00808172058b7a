"""Settlement aggregates built per chunk or partition, then merged once (§7 inputs).

:func:`payment.settlement.prepare` reduces priced cases to sums per hospital, hospital × month
and hospital × alliance, so it decomposes: prepare each chunk (or Dask partition), then
:func:`merge_settlement_inputs` aligns the hospitals and adds the sums. Counts are exact; money
and point sums equal the whole-table sums up to floating-point summation order (relative 1e-15
per addition; settlement rounds to integer cents afterwards). It lives beside ``prepare``
because it reads the same array layout (:mod:`payment._settle_kernels`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _settle_kernels as K
from .settlement import MAX_YUAN, SettlementInputs


def merge_settlement_inputs(parts: Sequence, policy=None):
    """One :class:`payment.settlement.SettlementInputs` from those of consecutive chunks.

    Rules that mirror ``prepare`` on the whole table: hospitals sorted by id; a hospital's level
    is the one of its last row (the last chunk holding it wins); patient payments count only when
    every chunk has them (else all are zero, as ``prepare`` does when any value is missing).
    Raises ``ValueError`` when a merged money total exceeds what settlement accepts.
    """
    parts = [p for p in parts if p is not None]
    if not parts:
        raise ValueError("no settlement aggregates to merge")
    alliances = parts[0].alliance_ids
    if any(p.alliance_ids != alliances for p in parts):
        raise ValueError("settlement aggregates were prepared under different alliance lists")
    ids = np.unique(np.concatenate([np.asarray(p.hospital_ids, dtype=object) for p in parts]))
    nh, na = len(ids), len(alliances)
    hd = np.zeros((nh, K.HD))
    md = np.zeros((nh, 12, K.MD))
    ad = np.zeros((nh, na, K.AD))
    level = np.zeros(nh, dtype=np.int64)
    member_of = np.full(nh, -1, dtype=np.int64)
    n_cases = np.zeros(nh, dtype=np.int64)
    n_sr = np.zeros(nh, dtype=np.int64)
    with_bp = all(len(p.base_points) == len(p.hospital_ids) for p in parts)
    bp = np.zeros(nh) if with_bp else np.zeros(0)
    with_rw = all(len(getattr(p, "rw_n", ())) == len(p.hospital_ids) for p in parts)
    rw_sum, rw_n = (np.zeros(nh), np.zeros(nh)) if with_rw else (np.zeros(0), np.zeros(0))
    for p in parts:
        at = np.searchsorted(ids, np.asarray(p.hospital_ids, dtype=object))
        hd[at] += p.hd
        md[at] += p.md
        ad[at] += p.ad
        level[at] = p.hospital_level  # later chunks overwrite: the last row wins
        member_of[at] = p.member_of
        n_cases[at] += p.n_cases
        n_sr[at] += p.n_sr
        if with_bp:
            bp[at] += p.base_points
        if with_rw:  # §13 CMI sums
            rw_sum[at] += p.rw_sum
            rw_n[at] += p.rw_n
    has_pp = all(p.has_patient_paid for p in parts)
    if not has_pp:
        hd[:, K.HD_PP] = 0.0
        md[:, :, K.MD_PP] = 0.0
        ad[:, :, K.AD_PP] = 0.0
    for name, col in (("payment", K.HD_PAY), ("total_cost", K.HD_TC), ("sr_amount", K.HD_SR),
                      ("patient_paid", K.HD_PP)):
        total = float(np.abs(hd[:, col]).sum())
        if not total <= MAX_YUAN:
            raise ValueError(f"settlement: the settled cases' {name} totals {total:.6g} yuan, "
                             f"above the largest amount settlement accepts ({MAX_YUAN:.0e} yuan)")
    return SettlementInputs(
        hospital_ids=ids.astype(object), hospital_level=level, hd=hd,
        md=np.ascontiguousarray(md), ad=np.ascontiguousarray(ad), member_of=member_of,
        alliance_ids=alliances, has_patient_paid=has_pp, n_cases=n_cases, n_sr=n_sr,
        base_points=bp, rw_sum=rw_sum, rw_n=rw_n,
        provisional_pv=next((p.provisional_pv for p in parts
                             if np.isfinite(getattr(p, "provisional_pv", np.nan))), np.nan),
        points_scale=getattr(parts[0], "points_scale", 100.0),
    )


__all__ = ["merge_settlement_inputs"]
