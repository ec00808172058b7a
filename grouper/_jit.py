"""Every numba option of the grouper in one place."""

from __future__ import annotations

import os

import numba

#: Cache compiled machine code next to the modules so a second process does not recompile.
CACHE = os.environ.get("DRGSIM_NUMBA_CACHE", "1") != "0"


def kernel(*args, parallel: bool = False, **kw):
    """``numba.njit`` with drgsim's options: nogil, cached, no fastmath (exact comparisons)."""
    opts = dict(nogil=True, cache=CACHE, fastmath=False, error_model="numpy", parallel=parallel)
    opts.update(kw)
    return numba.njit(*args, **opts)
