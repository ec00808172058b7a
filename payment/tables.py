"""Column readers shared by pricing and the cross-case rules (readmission, special review).

Each takes a case table and a column name and returns one value per row, in row order; a missing
column gives the "unknown" value for every row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Day number of an unknown date (``INT64_MIN``).
DAY_UNKNOWN = np.iinfo(np.int64).min
# days inside the datetime64[ns] range (1678-01-01 … 2261-12-31)
_DAY_MIN = int(np.datetime64("1678-01-01", "D").astype(np.int64))
_DAY_MAX = int(np.datetime64("2261-12-31", "D").astype(np.int64))


def text_column(df: pd.DataFrame, col: str) -> pd.Series:
    """The column as text (``str`` dtype, missing → ""); no copy when it already is text."""
    if col not in df.columns:
        return pd.Series([""] * len(df), index=df.index, dtype="str")
    s = df[col]
    if s.dtype != "str":
        s = s.astype("str")
    return s.fillna("") if s.hasnans else s


def day_numbers(df: pd.DataFrame, col: str) -> np.ndarray:
    """ISO dates → int64 day numbers since 1970-01-01; unknown → :data:`DAY_UNKNOWN`."""
    if col not in df.columns:
        return np.full(len(df), DAY_UNKNOWN, dtype=np.int64)
    s = df[col]
    pa_arr = getattr(s.array, "_pa_array", None)
    if pa_arr is not None and (pa.types.is_string(pa_arr.type)
                               or pa.types.is_large_string(pa_arr.type)):
        # Arrow's strict ISO cast (YYYY-MM-DD only, invalid dates rejected): for such text the
        # "mixed" parser gives the same day; any other text takes the parser as before
        try:
            d = pc.cast(pa_arr, pa.date32())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            d = None
        if d is not None:
            days = d.combine_chunks().to_numpy(zero_copy_only=False)
            if days.dtype.kind == "M":
                days = days.astype("datetime64[D]")
                known = ~np.isnat(days)
                ints = days.astype(np.int64)
                if not known.any() or (ints[known].min() >= _DAY_MIN
                                       and ints[known].max() <= _DAY_MAX):
                    return np.where(known, ints, DAY_UNKNOWN)
    return _days_of(pd.to_datetime(s, errors="coerce", format="mixed"))


def _days_of(dt: pd.Series) -> np.ndarray:
    days = dt.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    return np.where(dt.isna().to_numpy(), DAY_UNKNOWN, days)


def group_names(weights, policy) -> np.ndarray:
    """Group codes in price-lookup order (object array): the groups of ``weights``, then the
    groups only the policy's ``bed_day.daily_points`` names."""
    names = list(weights.groups["group"].astype(str))
    have = set(names)
    extra = [k for k in policy.bed_day.daily_points if k not in have]
    return np.asarray(names + extra, dtype=object)


__all__ = ["DAY_UNKNOWN", "day_numbers", "group_names", "text_column"]
