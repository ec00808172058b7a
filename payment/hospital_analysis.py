"""A hospital's own analysis: profit and loss per DRG, department and doctor, with the §10
indices, and the settlement-list quality check (结算清单质控).

Per key: cases, Σ and mean total cost (例均费用, yuan), Σ and mean final amount (例均支付:
the case's payment, or its re-priced special-review amount when approved), 盈亏 = Σ final −
Σ cost and 盈亏率 = 盈亏 ÷ Σ cost (blank when the cost is 0), then CMI, cost index and time
index. CMI is :func:`payment.indices.indices` with the RW of the weights in use. The cost and
time indices follow §10 (Σ_g n_kg × mean_kg ÷ mean_g ÷ Σ_g n_kg, i.e. the mean over the key's
grouped cases of cost ÷ the group's mean) but take mean_g from the weights (``mean_cost``,
``mean_los``: the region's history), not from the hospital's own cases: a hospital compares
itself with the region, not with itself. Money is summed in cents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .indices import indices

__all__ = ["STATUS_REASONS", "final_amounts", "profit_and_loss", "quality_check"]

#: Why a case did not group normally, in a reader's words (zh, en), per grouping status.
STATUS_REASONS = {
    "QY": ("歧义病例：主要诊断与主要手术不在同一MDC/ADRG", "ambiguous: principal diagnosis and "
           "main procedure fall in different groups"),
    "FAIL": ("未能入组", "no group matched"),
    "CHECK_FAILED": ("结算清单信息不全或冲突（性别、年龄、主要诊断等）",
                     "missing or conflicting settlement-list data (sex, age, principal diagnosis …)"),
    "ZD_NOT_MAPPING": ("诊断编码不在分组方案的诊断库中", "a diagnosis code the scheme does not know"),
    "SS_NOT_MAPPING": ("手术操作编码不在分组方案的手术库中", "a procedure code the scheme does not know"),
}


def final_amounts(priced: pd.DataFrame) -> np.ndarray:
    """Per case, yuan: the re-priced special-review amount when approved, else ``payment``."""
    pay = pd.to_numeric(priced["payment"], errors="coerce").fillna(0.0).to_numpy(np.float64)
    if "sr_approved" in priced.columns and "sr_amount" in priced.columns:
        ok = priced["sr_approved"].fillna(False).astype(bool).to_numpy()
        sr = pd.to_numeric(priced["sr_amount"], errors="coerce").fillna(0.0).to_numpy(np.float64)
        pay = np.where(ok, sr, pay)
    return pay


def _cents(x: np.ndarray) -> np.ndarray:
    return np.round(np.nan_to_num(x, nan=0.0) * 100).astype(np.int64)


def profit_and_loss(grouped: pd.DataFrame, priced: pd.DataFrame, weights: Any,
                    by: Sequence[str], group_col: str = "drg") -> pd.DataFrame:
    """One row per value of ``by`` (columns of ``grouped``; ``priced`` is the same cases in
    the same order): cases, costs, final amounts, profit and loss, CMI, cost and time index."""
    if len(grouped) != len(priced):
        raise ValueError(f"{len(grouped)} grouped cases but {len(priced)} priced rows: price "
                         "exactly these cases")
    keys = [grouped[c].astype("string").fillna("").reset_index(drop=True) for c in by]
    cost = _cents(pd.to_numeric(grouped["total_cost"], errors="coerce").to_numpy(np.float64))
    final = _cents(final_amounts(priced))
    f = pd.DataFrame({**{c: k for c, k in zip(by, keys, strict=True)}, "cost": cost,
                      "final": final})
    g = f.groupby(list(by), sort=True)
    out = g.agg(cases=("cost", "size"), total_cost=("cost", "sum"),
                final_amount=("final", "sum")).reset_index()
    out["profit"] = (out["final_amount"] - out["total_cost"]) / 100
    out["total_cost"] /= 100
    out["final_amount"] /= 100
    out["mean_cost"] = out["total_cost"] / out["cases"]
    out["mean_final"] = out["final_amount"] / out["cases"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["profit_rate"] = np.where(out["total_cost"] != 0, out["profit"] / out["total_cost"],
                                      np.nan)
    idx = indices(grouped.assign(**{c: k.to_numpy() for c, k in zip(by, keys, strict=True)}),
                  weights, by=list(by), group_col=group_col)
    keep = [*by, "cmi"]
    idx = idx[keep].astype({c: "string" for c in by})
    out = out.astype({c: "string" for c in by}).merge(idx, on=list(by), how="left")
    ref = _reference_means(weights)
    drg = grouped[group_col].astype("string").fillna("").reset_index(drop=True)
    ok = (grouped["status"].astype(str) == "SUCCESS").to_numpy() if "status" in grouped.columns \
        else np.ones(len(grouped), dtype=bool)
    for name, col, ref_col in (("cost_index", "total_cost", "mean_cost"),
                               ("time_index", "los", "mean_los")):
        v = pd.to_numeric(grouped[col], errors="coerce").to_numpy(np.float64)
        m = drg.map(ref[ref_col]).to_numpy(dtype=np.float64, na_value=np.nan)
        valid = ok & np.isfinite(v) & (v >= 0) & np.isfinite(m) & (m > 0)
        ratio = pd.Series(np.where(valid, v / np.where(valid, m, 1.0), np.nan))
        per = ratio.groupby([k for k in keys]).mean()
        per.index = per.index.set_names(list(by))
        out = out.merge(per.rename(name).reset_index().astype({c: "string" for c in by}),
                        on=list(by), how="left")
    order = [*by, "cases", "total_cost", "mean_cost", "final_amount", "mean_final", "profit",
             "profit_rate", "cmi", "cost_index", "time_index"]
    return out[order]


def _reference_means(weights: Any) -> pd.DataFrame:
    """Each group's region mean cost (yuan) and stay (days) from the weights."""
    g = weights.groups if hasattr(weights, "groups") else weights
    cols = [c for c in ("mean_cost", "mean_los") if c in g.columns]
    if len(cols) < 2:
        raise ValueError("the weights have no mean_cost / mean_los per group: the cost and time "
                         "indices need the region's means")
    t = g[["group", *cols]].copy()
    t["group"] = t["group"].astype(str)
    return t.set_index("group").apply(pd.to_numeric, errors="coerce")


def quality_check(grouped: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Cases a DRG office should look at: every case not grouped normally (its status and the
    reason) and every case whose codes the grouper repaired or rejected (its warnings)."""
    st = grouped["status"].astype(str).to_numpy()
    warn = grouped["warnings"].astype("string").fillna("").to_numpy(dtype=object) \
        if "warnings" in grouped.columns else np.full(len(grouped), "", dtype=object)
    pick = (st != "SUCCESS") | (warn != "")
    i = 0 if lang == "zh" else 1
    rows = pd.DataFrame({
        "case_id": grouped["case_id"].astype(str).to_numpy()[pick],
        "status": st[pick],
        "reason": [STATUS_REASONS.get(s, ("", ""))[i] for s in st[pick]],
        "warnings": warn[pick],
    })
    for col in ("hospital_id", "dept"):
        if col in grouped.columns:
            rows.insert(1, col, grouped[col].astype("string").fillna("").to_numpy()[pick])
    return rows
