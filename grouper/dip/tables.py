"""The DIP catalogue as tables: its columns, the :class:`Catalogue` record and writing it.

Building (:mod:`grouper.dip.catalogue`) and reading/validating (:mod:`grouper.dip.io`) both
import this module; it imports neither, so the two never import each other.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import DipConfig

__all__ = ["FORMAT", "FORMAT_VERSION", "GROUP_COLUMNS", "GROUP_TYPES", "Catalogue", "save_catalogue"]

FORMAT = "drgsim-dip-catalogue"
FORMAT_VERSION = 1
GROUP_COLUMNS = (
    "group_code", "type", "diagnosis", "procedures", "treatment",
    "cases", "cases_kept", "mean", "median", "cv", "score", "name",
)
GROUP_TYPES = ("core", "comprehensive")

@dataclass(frozen=True)
class Catalogue:
    """A DIP disease-score catalogue: ``groups`` (:data:`GROUP_COLUMNS`), ``aux``
    (:data:`severity.AUX_COLUMNS`) and ``manifest`` (build parameters, scale, all-case mean
    in yuan, version). Treat as immutable; edit a copy of the tables and re-validate with
    :func:`grouper.dip.io.validate_catalogue`."""

    groups: pd.DataFrame
    aux: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> DipConfig:
        return DipConfig.from_dict(self.manifest["config"])

    @property
    def scale(self) -> int:
        return int(self.manifest["scale"])

    @property
    def all_case_mean(self) -> float:
        """Year-weighted mean cost of all kept cases (yuan); NaN for imported catalogues."""
        v = self.manifest.get("all_case_mean")
        return float("nan") if v is None else float(v)

    def save(self, path: str | Path, fmt: str = "csv") -> Path:
        """Write the table set (``groups``, ``aux`` as CSV or Parquet) and ``manifest.json``."""
        return save_catalogue(self, path, fmt=fmt)

    def summary(self) -> dict[str, Any]:
        """Counts for reports: groups by type and the share of history cases in core groups."""
        g = self.groups
        core = g["type"] == "core"
        cases = pd.to_numeric(g["cases"], errors="coerce").fillna(0)
        total = float(cases.sum())
        return {
            "groups": int(len(g)),
            "core_groups": int(core.sum()),
            "comprehensive_groups": int((~core).sum()),
            "cases": int(total),
            "core_case_share": float(cases[core].sum() / total) if total else float("nan"),
        }


def save_catalogue(cat: Catalogue, path: str | Path, fmt: str = "csv") -> Path:
    """Write ``cat`` to folder ``path`` (created if needed); returns the folder."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt={fmt!r}; allowed: 'csv', 'parquet'")
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    files = {"groups": f"groups.{fmt}", "aux": f"aux.{fmt}"}
    for name, df in (("groups", cat.groups), ("aux", cat.aux)):
        if fmt == "csv":
            # Floats are written with repr precision, so a saved catalogue re-loads exactly.
            df.to_csv(out / files[name], index=False, encoding="utf-8")
        else:
            df.to_parquet(out / files[name], index=False)
    manifest = dict(cat.manifest)
    manifest["files"] = files
    (out / "manifest.json").write_text(json.dumps(_json_safe(manifest), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out


def _json_safe(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, np.generic):
        return _json_safe(x.item())
    return x
