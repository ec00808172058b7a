"""The one place every numba option of :mod:`payment` is fixed.

Kernels are small pure functions over arrays. ``cache=True`` so a second process loads the
compiled machine code instead of recompiling; ``error_model="numpy"`` so a division by zero gives
inf/nan like numpy instead of raising inside a kernel; ``fastmath`` stays off because money must
not be re-associated.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numba

#: ``DRGSIM_NUMBA_CACHE=0`` switches the on-disk cache off (a read-only install), as in grouper.
CACHE = os.environ.get("DRGSIM_NUMBA_CACHE", "1") != "0"

_OPTIONS: dict[str, Any] = {
    "nopython": True,
    "nogil": True,
    "cache": CACHE,
    "error_model": "numpy",
    "fastmath": False,
}


def kernel(signature: Any = None, *, parallel: bool = False, **locals_: Any) -> Callable:
    """Decorate a kernel with the package's njit options.

    ``signature`` pins the argument types of a leaf kernel (compiled eagerly); ``parallel``
    enables ``prange`` (per-case outputs only, so 1 and N threads agree); ``locals_`` is passed
    to numba as ``locals=`` to fix loop-variable types.
    """
    opts = dict(_OPTIONS, parallel=parallel)
    if locals_:
        opts["locals"] = locals_
    if signature is None:
        return numba.jit(**opts)
    return numba.jit(signature, **opts)
