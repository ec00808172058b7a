"""Auxiliary catalogue: severity and age coefficients estimated within each group.

* **Severity level** of a case = min(#CC + 2 × #MCC, ``severity_cap``) over its *distinct*
  secondary diagnoses that the scheme's ``cc_mcc`` table lists, skipping any whose exclusion id
  equals the principal diagnosis' id in ``pdx_exclusion`` (the CHS-DRG ``has_cc``/``has_mcc``
  rule). Computed in :func:`grouper.dip._kernels.case_features`.
* **Age band**: newborn (age 0 and age_days ≤ 28), child (< ``adult_age``), adult, elderly
  (≥ ``elderly_age``); see :func:`grouper.dip.encode.age_bands`.

For each group g and each level l of one dimension, the coefficient is
``mean(g, l) ÷ mean(g)``, both year-weighted means of the kept (trimmed) cases computed exactly
like the group score, when the cell has at least ``aux_min_cases`` kept cases; otherwise 1.0.
A case's auxiliary coefficient is the product of its severity and age coefficients (the two
dimensions are estimated separately, so each cell stays large enough to estimate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import AGE_BANDS, DipConfig
from .stats import weighted_mean

AUX_COLUMNS = ("group_code", "dimension", "level", "cases", "cases_kept", "mean", "coefficient")
DIMENSIONS = ("severity", "age")


def level_names(dimension: str, config: DipConfig) -> tuple[str, ...]:
    """Allowed level labels of an auxiliary dimension."""
    if dimension == "severity":
        return tuple(str(i) for i in range(config.severity_cap + 1))
    return AGE_BANDS


def estimate_aux(
    g: np.ndarray, levels: dict[str, np.ndarray], year: np.ndarray, cost: np.ndarray,
    keep: np.ndarray, group_mean: np.ndarray, codes: np.ndarray, weights: np.ndarray,
    config: DipConfig,
) -> pd.DataFrame:
    """Auxiliary table (:data:`AUX_COLUMNS`), one row per observed group × level cell.

    ``g`` is the group label per case (−1 = not used), ``levels[dimension]`` the level code per
    case, ``group_mean`` the year-weighted mean cost of each group (yuan).
    """
    n_groups = len(group_mean)
    used = g >= 0
    parts = []
    for dim in DIMENSIONS:
        names = np.asarray(level_names(dim, config), dtype=object)
        nl = len(names)
        cell = np.where(used, g.astype(np.int64) * nl + levels[dim], -1)
        cases = np.bincount(cell[used], minlength=n_groups * nl)
        kept = np.bincount(cell[keep], minlength=n_groups * nl)
        mean = weighted_mean(cell, year, cost, keep, n_groups * nl, weights, config.year_weighting)
        gm = np.repeat(group_mean, nl)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = mean / gm
        ok = (kept >= config.aux_min_cases) & np.isfinite(ratio) & (ratio > 0)
        coef = np.where(ok, ratio, 1.0)
        obs = np.flatnonzero(cases > 0)
        parts.append(pd.DataFrame({
            "group_code": pd.Series(codes[obs // nl], dtype="str"),
            "dimension": pd.Series([dim] * len(obs), dtype="str"),
            "level": pd.Series(names[obs % nl], dtype="str"),
            "cases": cases[obs].astype(np.int64),
            "cases_kept": kept[obs].astype(np.int64),
            "mean": mean[obs],
            "coefficient": coef[obs],
        }))
    return pd.concat(parts, ignore_index=True)
