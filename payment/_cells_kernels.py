"""The what-if basis sums of :func:`payment.whatif.build_cells` in one pass over the cases.

Each bin is summed in case order, one addition per case, as ``np.bincount`` sums it, so the
sums are the same to the bit as the bincounts they replace (one pass instead of twelve, no
per-term temporaries). Sequential on purpose: a parallel sum would change the order.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from ._settle_kernels import Q_PAY, Q_PTS, Q_TC, T_ONE, T_SHIFT, T_UP, T_UPSHIFT


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


__all__ = ["basis_sums"]
