"""Per-row facts of one grouped table, computed once and shared by the five signals.

Every signal needs the same factorised hospital / DRG / patient codes, the SUCCESS mask, day
numbers of the dates and numeric columns; on a million rows each costs tens of milliseconds, and
the signals used to recompute them (about a third of the supervision time). ``CaseFacts(df)``
computes each on first use and keeps it; it never changes ``df``.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import _signals_kernels as K
from .weights import factorize

__all__ = ["CaseFacts", "arrow_text", "facts_of", "iso_days", "joint_codes", "labels",
           "text_buffers"]


def text_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets as int64, bytes as uint8, not-null flags) of an Arrow string array."""
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32, count=arr.offset + n + 1)[arr.offset:]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None and bufs[2].size \
        else np.zeros(1, np.uint8)
    valid = np.ones(n, dtype=bool) if arr.null_count == 0 else \
        pc.is_valid(arr).to_numpy(zero_copy_only=False)
    return offsets.astype(np.int64), data, valid


def _arrow_days(arr: pa.Array) -> np.ndarray:
    """Days of text Arrow's strptime reads as %Y-%m-%d (NaN elsewhere)."""
    try:
        ts = pc.strptime(arr, format="%Y-%m-%d", unit="s", error_is_null=True)
        out = pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64)
        return np.where(pc.is_null(ts).to_numpy(zero_copy_only=False), np.nan, out / 86400.0)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return np.full(len(arr), np.nan)


def iso_days(s: pd.Series) -> np.ndarray:
    """ISO dates -> days since epoch as float (NaN when unreadable).

    Plain ``YYYY-MM-DD`` text is read by one kernel pass over the Arrow bytes; the rest by
    Arrow's strptime, and what that cannot read element by element by pandas.
    """
    s = s.reset_index(drop=True)
    try:
        arr = arrow_text(s)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = None
    if arr is None:
        out = np.full(len(s), np.nan)
    else:
        out, done = K.iso_day_numbers(*text_buffers(arr))
        rest = np.flatnonzero(~done)
        if len(rest):
            out[rest] = _arrow_days(arr.take(pa.array(rest)))
    retry = np.isnan(out) & s.notna().to_numpy(bool)
    if retry.any():  # anything else (times, other separators) element by element
        d = pd.to_datetime(s[retry], errors="coerce", format="mixed")
        d = d.dt.tz_localize(None) if getattr(d.dt, "tz", None) is not None else d
        out[retry] = (d - pd.Timestamp("1970-01-01")).dt.days.to_numpy(np.float64,
                                                                        na_value=np.nan)
    return out


_MISSING = ("nan", "None", "<NA>")


def labels(s: pd.Series, sort: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Factorised text: codes (-1 for missing, empty, 'nan', 'None') and the names.

    ``sort=False`` (ids such as patients, where only equality matters) skips sorting the
    dictionary: several times faster for hundreds of thousands of distinct values.
    """
    if sort:
        codes, names = factorize(s)
        names = np.asarray(names, dtype=object).astype(str)
    else:
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        codes = codes.astype(np.int64)
        names = np.asarray(uniq, dtype=object)
        if not pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            names = names.astype(str).astype(object)
    keep = ~pd.Index(names).isin([*_MISSING, ""])
    if keep.all():
        return codes, names
    rank = np.where(keep, np.cumsum(keep) - 1, -1)
    return np.where(codes >= 0, rank[np.maximum(codes, 0)], -1), names[keep]


def arrow_text(s: pd.Series) -> pa.Array:
    """A text column as one Arrow string array (nulls for missing)."""
    arr = pa.array(s.astype("str").to_numpy(object) if s.dtype == object else s,
                   type=pa.string(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _dictionary_codes(whole: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Codes (first appearance; -1 for nulls) and the dictionary of an Arrow string array.

    The same as Arrow's ``dictionary_encode``. Short ids (at most 8 bytes each, no NUL byte,
    e.g. most patient ids) are packed into one integer each and coded by
    :func:`payment._signals_kernels.factorize_keys` (about 4x faster than Arrow on millions of
    distinct ids); other text is encoded by Arrow.
    """
    offsets, data, valid = text_buffers(whole)
    keys, fits = K.text_keys(offsets, data, valid)
    if not fits:
        enc = whole.dictionary_encode()
        return (enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64),
                enc.dictionary)
    idx, first = K.factorize_keys(keys, valid)
    return idx, whole.take(pa.array(first))


def joint_codes(*cols: pd.Series) -> tuple[list[np.ndarray], pa.Array | np.ndarray]:
    """Text columns coded in one dictionary (order of first appearance; -1 for missing, empty,
    'nan', 'None'): one code array per column, and the dictionary (an Arrow array)."""
    arrs = [arrow_text(c) for c in cols]
    whole = (pa.concat_arrays(arrs) if len(arrs) > 1 else arrs[0]) if arrs else None
    if whole is None or len(whole) == 0:
        return [np.full(len(c), -1, np.int64) for c in cols], np.array([], dtype=object)
    idx, names = _dictionary_codes(whole)
    bad = np.flatnonzero(pc.is_in(names, value_set=pa.array([*_MISSING, ""])).to_numpy(
        zero_copy_only=False))
    if len(bad):
        remap = np.arange(len(names), dtype=np.int64)
        remap[bad] = -1
        idx = np.where(idx >= 0, remap[np.maximum(idx, 0)], -1)
    cuts = np.cumsum([0] + [len(a) for a in arrs])
    return [idx[cuts[i]:cuts[i + 1]] for i in range(len(arrs))], names


class CaseFacts:
    """Lazily computed per-row arrays of ``df`` (a grouped cases table)."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self._num: dict[str, np.ndarray] = {}
        self._joint: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.df)

    def num(self, col: str) -> np.ndarray:
        """Column as float64 (NaN where not a number)."""
        if col not in self._num:
            self._num[col] = pd.to_numeric(self.df[col], errors="coerce").to_numpy(
                np.float64, na_value=np.nan)
        return self._num[col]

    @cached_property
    def hospitals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hospital code per row (-1 missing), hospital ids (sorted), level per hospital."""
        h, names = labels(self.df["hospital_id"])
        lv = pd.to_numeric(self.df["hospital_level"], errors="coerce").fillna(0).to_numpy(
            np.int64)
        level = np.zeros(len(names), dtype=np.int64)
        ok = h >= 0
        level[h[ok]] = lv[ok]
        return h, np.asarray(names, dtype=object).astype(str), level

    @cached_property
    def ok(self) -> np.ndarray:
        """Grouped (status SUCCESS)."""
        return (self.df["status"].astype("str") == "SUCCESS").to_numpy(bool)

    @cached_property
    def drg(self) -> tuple[np.ndarray, np.ndarray]:
        """DRG code per row (-1 missing) and the DRG names (sorted)."""
        return labels(self.df["drg"])

    @cached_property
    def patients(self) -> tuple[np.ndarray, np.ndarray]:
        """Patient code per row (-1 missing; dictionary unsorted) and the ids."""
        (codes,), names = joint_codes(self.df["patient_id"])
        return codes, names

    def codes_with(self, col: str, other: CaseFacts) -> tuple[np.ndarray, np.ndarray]:
        """(this table's, ``other``'s) codes of text column ``col`` in one dictionary."""
        k = (col, id(other))
        if k not in self._joint:
            (mine, theirs), _ = joint_codes(self.df[col], other.df[col])
            self._joint[k] = (mine, theirs)
        return self._joint[k]

    @cached_property
    def admission(self) -> np.ndarray:
        """Admission date as days since 1970-01-01 (NaN unreadable)."""
        return iso_days(self.df["admission_date"])

    @cached_property
    def discharge(self) -> np.ndarray:
        """Discharge date as days since 1970-01-01 (NaN unreadable)."""
        return iso_days(self.df["discharge_date"])

    @cached_property
    def n_sdx(self) -> np.ndarray:
        """Secondary diagnoses per case = number of '|' separators (0 when empty)."""
        s = self.df["diagnoses"]
        arr = pa.array(s.astype("str").to_numpy(object) if s.dtype == object else s,
                       type=pa.string(), from_pandas=True)
        cnt = pc.count_substring(arr, "|")
        return cnt.to_numpy(zero_copy_only=False).astype(np.float64, copy=False) \
            if cnt.null_count == 0 else np.nan_to_num(
                cnt.to_numpy(zero_copy_only=False).astype(np.float64), nan=0.0)

    def severe(self, digits: list[str]) -> np.ndarray:
        """Grouped cases whose DRG code ends in one of ``digits`` (MCC / CC subgroups)."""
        g, names = self.drg
        per = np.array([str(x)[-1:] in digits for x in names], dtype=bool)
        return np.where(g >= 0, per[np.maximum(g, 0)] if len(per) else False, False) & self.ok


def facts_of(df: pd.DataFrame | None, facts: CaseFacts | None = None) -> CaseFacts | None:
    """``facts`` when given for ``df``, else new facts of ``df`` (None for no table)."""
    if df is None:
        return None
    if facts is not None and facts.df is df:
        return facts
    return CaseFacts(df)
