"""The what-if basis sums of :func:`payment.whatif.build_cells` and the settlement sums of
:func:`payment.settlement.prepare`, each in one pass over the cases.

Each bin is summed in case order, one addition per case, as ``np.bincount`` sums it, so the
sums are the same to the bit as the bincounts they replace (one pass instead of twelve, no
per-term temporaries). Sequential on purpose: a parallel sum would change the order.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from ._settle_kernels import (
    AD_PAY,
    AD_PP,
    AD_PTS,
    AD_SR,
    HD_PAY,
    HD_PP,
    HD_PTS,
    HD_SR,
    HD_TC,
    MD_PAY,
    MD_PP,
    Q_PAY,
    Q_PTS,
    Q_TC,
    T_ONE,
    T_SHIFT,
    T_UP,
    T_UPSHIFT,
)


@kernel()
def basis_sums(cell: np.ndarray, nsr: np.ndarray, pts: np.ndarray, prov: np.ndarray,
               tc: np.ndarray, pp: np.ndarray, mover: np.ndarray, rm1: np.ndarray,
               out: np.ndarray) -> None:
    """``out[cell, q, t]`` += each case's quantity q (points, provisional yuan, total cost,
    patient paid) × term t (1, × (r − 1), × mover, × (r − 1) × mover), cases with ``nsr``
    only; ``out`` (cells × Q × T float64) starts at zero."""
    for i in range(len(cell)):
        if not nsr[i]:
            continue
        c = cell[i]
        mv = mover[i]
        r = rm1[i]
        for q in range(4):
            if q == Q_PTS:
                v = pts[i]
            elif q == Q_PAY:
                v = prov[i]
            elif q == Q_TC:
                v = tc[i]
            else:
                v = pp[i]
            out[c, q, T_ONE] += v
            out[c, q, T_SHIFT] += v * mv
            if q == Q_PTS or q == Q_PAY:
                out[c, q, T_UP] += v * r
                out[c, q, T_UPSHIFT] += v * r * mv




@kernel()
def settlement_sums(h: np.ndarray, sr: np.ndarray, pts: np.ndarray, pay: np.ndarray,
                    sr_amt: np.ndarray, tc: np.ndarray, pp: np.ndarray, month: np.ndarray,
                    prov: np.ndarray, ca: np.ndarray, hd: np.ndarray, md: np.ndarray,
                    ad: np.ndarray) -> None:
    """:func:`payment.settlement.prepare`'s per-hospital (``hd``), per-month (``md``: pay and
    patient paid, months 1–12 only) and per-alliance (``ad``, ``ca`` ≥ 0 only) sums in one
    pass, each bin in case order as its bincount sums it; all outputs start at zero."""
    for i in range(len(h)):
        k = h[i]
        a_pts = 0.0 if sr[i] else pts[i]
        a_pay = 0.0 if sr[i] else pay[i]
        a_sr = sr_amt[i] if sr[i] else 0.0
        hd[k, HD_PTS] += a_pts
        hd[k, HD_PAY] += a_pay
        hd[k, HD_SR] += a_sr
        hd[k, HD_TC] += tc[i]
        hd[k, HD_PP] += pp[i]
        m = month[i]
        if m > 0:
            md[k, m - 1, MD_PAY] += prov[i]
            md[k, m - 1, MD_PP] += pp[i]
        a = ca[i]
        if a >= 0:
            ad[k, a, AD_PTS] += a_pts
            ad[k, a, AD_PAY] += a_pay
            ad[k, a, AD_SR] += a_sr
            ad[k, a, AD_PP] += pp[i]


__all__ = ["basis_sums", "settlement_sums"]
