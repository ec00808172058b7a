"""Every numba option of the DIP package in one place."""

from __future__ import annotations

import os

import numba

#: Cache compiled machine code next to the modules so a second process does not recompile
#: (set ``DRGSIM_NUMBA_CACHE=0`` to switch it off, e.g. on a read-only install).
CACHE = os.environ.get("DRGSIM_NUMBA_CACHE", "1") != "0"


def kernel(*args, **kw):
    """``numba.njit`` with the DIP options: nogil, cached, no fastmath (exact float sums)."""
    opts = dict(nogil=True, cache=CACHE, fastmath=False, error_model="numpy")
    opts.update(kw)
    return numba.njit(*args, **opts)
