"""Tables and scalars as JSON-ready Python (the dashboard's answers; NaN and ±inf as null)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["json_value", "records"]


def json_value(v: Any) -> Any:
    """A numpy / Python scalar as JSON-ready Python (bool, int, float; NaN and ±inf → None)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if np.isfinite(f) else None
    return v


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-ready rows (NaN and ±inf as null)."""
    return [{k: json_value(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
