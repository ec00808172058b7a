"""Case-flag detail text of the supervision signals, filled column-wise (no Python per case).

The templates (English and Chinese) are :data:`payment.labels.DETAILS`; :func:`details` fills
one template for every flagged case at once with pyarrow string kernels. A placeholder is
``{name}`` (text or integer as is) or ``{name:.2f}`` (a number to 2 decimals, as Python's ``format`` rounds it); a scalar argument is used for every row, and a
``{"zh": ..., "en": ...}`` argument (scalar or column) is a value with its own translation.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .labels import DETAILS, LANGS

__all__ = ["details", "detail_columns"]

_FMT = string.Formatter()


def _fixed2(x: np.ndarray) -> pa.Array:
    """Numbers as text with 2 decimals ("nan" for NaN)."""
    x = np.asarray(x, dtype=np.float64)
    fin = np.isfinite(x)
    xs = np.where(fin, x, 0.0) * 100.0
    c = np.rint(xs).astype(np.int64)
    # near a half cent the scaled product may round the other way than Python's correctly
    # rounded format(): those few values are formatted by Python itself
    near = np.flatnonzero(fin & (np.abs(np.abs(xs - np.floor(xs)) - 0.5) < 1e-6))
    for i in near:
        c[i] = round(float(format(float(x[i]), ".2f")) * 100)
    neg = c < 0
    a = np.abs(c)
    whole = pc.cast(pa.array(a // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(a % 100), pa.string()), 2, "0")
    sign = pa.array(np.where(neg, "-", ""), type=pa.string())
    out = pc.binary_join_element_wise(sign, whole, ".", frac, "")
    return pc.if_else(pa.array(fin), out, pa.scalar("nan"))


def _text(v: Any, spec: str, n: int, lang: str) -> pa.Array | pa.Scalar:
    if isinstance(v, dict):  # {"zh": ..., "en": ...}: a value that is itself translated
        v = v[lang]
    if np.isscalar(v) or v is None:
        return pa.scalar(format(v, spec) if spec else str(v))
    if isinstance(v, pd.Series):
        v = v.to_numpy()
    v = np.asarray(v)
    if len(v) != n:
        raise ValueError(f"detail column of length {len(v)}, expected {n}")
    if spec == ".2f":
        return _fixed2(v)
    if spec:
        raise ValueError(f"detail placeholder format {spec!r}: only '' and '.2f' are supported")
    if v.dtype.kind in "iub":
        return pc.cast(pa.array(v.astype(np.int64)), pa.string())
    if v.dtype.kind == "f":  # shortest text of the number ("2" for 2.0, "2.5")
        return pc.cast(pa.array(v), pa.string())
    return pa.array(v.astype(object), type=pa.string(), from_pandas=True)


def details(key: str, lang: str, n: int, **values: Any) -> pd.Series:
    """Template ``key`` of :data:`DETAILS` in ``lang`` filled for ``n`` rows (object Series)."""
    if lang not in LANGS:
        raise ValueError(f"lang={lang!r}; allowed: {', '.join(LANGS)}")
    zh, en = DETAILS[key]
    template = zh if lang == "zh" else en
    if n == 0:
        return pd.Series([], dtype=object)
    parts: list[Any] = []
    for lit, field, spec, _ in _FMT.parse(template):
        if lit:
            parts.append(pa.scalar(lit))
        if field is not None:
            parts.append(_text(values[field], spec or "", n, lang))
    if not any(isinstance(p, pa.Array) for p in parts):
        parts.append(pa.array([""] * n, type=pa.string()))
    out = pc.binary_join_element_wise(*parts, "")
    return pd.Series(out.to_numpy(zero_copy_only=False), dtype=object)


def detail_columns(key: str, n: int, **values: Any) -> dict[str, pd.Series]:
    """``{"detail": English, "detail_zh": Chinese}`` for :func:`details`."""
    return {"detail": details(key, "en", n, **values),
            "detail_zh": details(key, "zh", n, **values)}
