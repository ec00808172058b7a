"""Hostile files planted where the compiled-scheme cache lives (issue 12 item 1).

Shared by ``tests/test_scheme_cache.py`` (in process) and ``benchmarks/probe_hostile.py`` (a
real ``drgsim group`` after each plant). :data:`PLANTS` maps a name to ``plant(path, marker)``,
which turns the good cache file at ``path`` into a bad one; unpickling any of them would write
``marker``.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


class Payload:
    """Unpickling this writes ``marker``: proof that a cache was unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


def rewrite(path: Path, edit: Callable[[dict, dict], None]) -> None:
    """Load the npz members, let ``edit(arrays, meta)`` change them, write it back (checksum kept)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("__meta__").tobytes().decode())
    edit(arrays, meta)
    blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, __meta__=blob, **arrays)


def resign(arrays: dict, meta: dict) -> None:
    """Recompute the checksum after an edit, as a forger who read the code would."""
    from grouper import scheme_cache

    meta.pop("checksum")
    meta["checksum"] = scheme_cache._checksum(meta, arrays)


def _object_array(path: Path, marker: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__meta__.npy", buf.getvalue())


def _swap_results(forge: bool):
    def edit(arrays, meta):
        r = meta["results"]
        r[1], r[2] = r[2], r[1]
        if forge:
            resign(arrays, meta)
    return lambda path, marker: rewrite(path, edit)


def _set(field: str, index: tuple, value: int):
    def edit(arrays, meta):
        arrays[field][index] = value
        resign(arrays, meta)
    return lambda path, marker: rewrite(path, edit)


#: name -> plant(path, marker)
PLANTS: dict[str, Callable[[Path, Path], None]] = {
    "pickle payload": lambda path, marker: path.write_bytes(pickle.dumps(Payload(marker))),
    "npz object array": _object_array,
    "truncated": lambda path, marker: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "swapped labels": _swap_results(False),
    "swapped labels, forged checksum": _swap_results(True),
    "jump target out of range, forged": _set("prog", (0, 3), 10**6),
    "code id out of range, forged": _set("dx_map", (0,), 10**6),
    "CSR offset out of range, forged": _set("pdx_steps_off", (-1,), 10**6),
}
