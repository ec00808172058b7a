"""Two settlement runs side by side: the headline figures and each hospital's final amount.

A run is its scenario summary (``scenarios`` table: the first row, the baseline, is compared)
and its hospital statements (``statements``). Differences are B − A in yuan; the change is
(B − A) ÷ |A| as a fraction (empty when A is 0). A hospital in one run only is kept, with the
other side empty, so no hospital is silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .labels import COLUMNS

__all__ = ["HEADLINE", "Comparison", "RunTables", "compare_runs", "read_run"]

#: Headline figures compared, in order (columns of the scenario summary).
HEADLINE = ("point_value", "budget", "paid", "reserve_kept", "returned", "fund_balance",
            "sharing", "recovered", "hospitals_surplus", "hospitals_overspend", "largest_loss")
#: Per-hospital amounts compared (columns of the statements).
HOSPITAL_AMOUNTS = ("final_amount", "result", "entitlement")


@dataclass(frozen=True)
class RunTables:
    """What a comparison needs of one run."""

    name: str
    scenarios: pd.DataFrame
    statements: pd.DataFrame


@dataclass(frozen=True)
class Comparison:
    """``summary``: metric, a, b, diff, diff_pct; ``hospitals``: hospital_id, then per amount
    ``<amount>_a``, ``<amount>_b``, ``<amount>_diff`` and ``final_amount_diff_pct``."""

    a: str
    b: str
    summary: pd.DataFrame
    hospitals: pd.DataFrame


def _change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a != 0, (b - a) / np.abs(a), np.nan)


def compare_runs(a: RunTables, b: RunTables) -> Comparison:
    """Headline figures of both baselines and every hospital's amounts, with B − A."""
    for run in (a, b):
        missing = [c for c in HEADLINE if c not in run.scenarios.columns]
        if run.scenarios.empty or missing:
            raise ValueError(f"{run.name}: the scenario summary lacks {missing or 'rows'}")
        lacking = [c for c in ("hospital_id", *HOSPITAL_AMOUNTS) if c not in run.statements.columns]
        if lacking:
            raise ValueError(f"{run.name}: the statements lack columns {lacking}")
    ra, rb = a.scenarios.iloc[0], b.scenarios.iloc[0]
    va = np.array([float(ra[m]) for m in HEADLINE])
    vb = np.array([float(rb[m]) for m in HEADLINE])
    summary = pd.DataFrame({"metric": list(HEADLINE), "a": va, "b": vb,
                            "diff": np.round(vb - va, 10), "diff_pct": _change(va, vb)})
    sa = a.statements.assign(hospital_id=a.statements["hospital_id"].astype(str))
    sb = b.statements.assign(hospital_id=b.statements["hospital_id"].astype(str))
    cols = ["hospital_id", *HOSPITAL_AMOUNTS]
    m = sa[cols].merge(sb[cols], on="hospital_id", how="outer", suffixes=("_a", "_b"), sort=True)
    out = m[["hospital_id"]].copy()
    for c in HOSPITAL_AMOUNTS:
        x, y = m[f"{c}_a"].to_numpy(float), m[f"{c}_b"].to_numpy(float)
        out[f"{c}_a"], out[f"{c}_b"] = x, y
        # Both sides are cents already: the difference is rounded to the cent, not recomputed.
        out[f"{c}_diff"] = np.round(y - x, 2)
    out["final_amount_diff_pct"] = _change(out["final_amount_a"].to_numpy(),
                                           out["final_amount_b"].to_numpy())
    return Comparison(a.name, b.name, summary, out)


def _unlabel(df: pd.DataFrame) -> pd.DataFrame:
    # A run written with --lang has Chinese or English headers: map them back to column names.
    back = {}
    for col, lab in COLUMNS.items():
        back[lab.zh] = col
        back[lab.en] = col
    return df.rename(columns={c: back.get(c, c) for c in df.columns})


def read_run(folder: str | Path) -> RunTables:
    """A ``drgsim simulate`` output folder (``scenarios.csv`` and ``statements.csv``)."""
    folder = Path(folder)
    tables = {}
    for name in ("scenarios", "statements"):
        p = folder / f"{name}.csv"
        if not p.exists():
            raise FileNotFoundError(f"{p}: not found (is {folder} a `drgsim simulate` output "
                                    "folder?)")
        tables[name] = _unlabel(pd.read_csv(p, encoding="utf-8-sig"))
    return RunTables(folder.name or str(folder), tables["scenarios"], tables["statements"])
