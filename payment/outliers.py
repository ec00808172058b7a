"""Case classes, their reasons, high-multiple thresholds and the readmission rule (§5, §13).

The per-case decision itself is :func:`payment._kernels.price_cases`; this module holds the
vocabulary (class and reason labels) and the rules that need more than one case at a time.
"""

from __future__ import annotations

import numpy as np

from .policy import OutlierPolicy, ReadmissionPolicy

#: ``case_class`` values, indexed by the kernel's class codes.
CLASSES: tuple[str, ...] = (
    "excluded", "normal", "high", "low", "incomplete", "bed_day", "readmission", "ungroupable",
)

#: ``class_reason`` values, indexed by the kernel's reason codes.
REASONS: tuple[str, ...] = (
    "within thresholds",
    "total_cost missing or negative",
    "total_cost above input_checks.max_cost",
    "los missing or negative",
    "los above input_checks.max_los",
    "los <= exclusions.los_min",
    "los >= exclusions.los_max",
    "no group",
    "group has no weight",
    "ambiguous case (QY)",
    "grouper status not SUCCESS",
    "incomplete stay: discharge mode",
    "incomplete stay: los <= incomplete.max_los",
    "r >= high-multiple threshold",
    "r <= outliers.low_multiple",
    "r > deviation.high",
    "r < deviation.low",
    "bed-day group",
    "readmitted in the same group within readmission.window_days",
)

READMISSION_REASON = len(REASONS) - 1


def high_thresholds(base_points: np.ndarray, outliers: OutlierPolicy) -> np.ndarray:
    """High-multiple threshold per group from its base points (a band includes its maximum)."""
    maxima = np.array(
        [b.max_base_points for b in outliers.high_bands if b.max_base_points is not None],
        dtype=np.float64,
    )
    multiples = np.array([b.multiple for b in outliers.high_bands], dtype=np.float64)
    # side="left": base == maximum falls in that band (§13 "≤ max base points")
    idx = np.searchsorted(maxima, np.nan_to_num(base_points, nan=0.0), side="left")
    return multiples[idx]


def prefix_match(codes: np.ndarray, exact: list[str], prefixes: list[str]) -> np.ndarray:
    """Boolean per code: in ``exact`` or starting with one of ``prefixes``."""
    exact_set = set(exact)
    pre = tuple(prefixes)
    return np.array(
        [c in exact_set or (bool(pre) and str(c).startswith(pre)) for c in codes], dtype=bool
    )


def readmission_flags(
    patient: np.ndarray,
    hospital: np.ndarray,
    admit_day: np.ndarray,
    discharge_day: np.ndarray,
    group: np.ndarray,
    eligible: np.ndarray,
    exempt_group: np.ndarray,
    rule: ReadmissionPolicy,
) -> np.ndarray:
    """Stays penalised for a readmission (§5, semantics §13).

    A patient's stays are ordered by discharge date (then admission date, then input order); a
    stay is penalised when the patient's next stay (at the same hospital if
    ``rule.same_hospital``) is in the same group and starts 0 … ``window_days`` days after its
    discharge. ``patient``/``hospital``/``group`` are int codes (-1 unknown), days are int64
    day numbers (``INT64_MIN`` unknown), ``eligible`` marks stays that may be penalised (not
    excluded or ungrouped), ``exempt_group`` is per group code. Each stay is penalised once.
    """
    n = len(patient)
    flags = np.zeros(n, dtype=bool)
    unknown = np.iinfo(np.int64).min
    ok = (patient >= 0) & (discharge_day != unknown) & (admit_day != unknown)
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return flags
    # one lexsort of two int64 keys, (patient, hospital) and (discharge, admission) day pairs,
    # equal to sorting by the five keys: the pairs are packed order-preservingly and the sort is
    # stable, so input order (idx ascending) breaks the remaining ties
    pk = patient[idx].astype(np.int64)
    if rule.same_hospital:
        hk = hospital[idx].astype(np.int64) + 1  # -1 (unknown) → 0
        pk = pk * (int(hk.max()) + 1) + hk
    dd, ad = discharge_day[idx], admit_day[idx]
    d_lo, a_lo = int(dd.min()), int(ad.min())
    a_span = int(ad.max()) - a_lo + 1
    day_span = (int(dd.max()) - d_lo + 1) * a_span
    day_key = (dd - d_lo) * a_span + (ad - a_lo)
    if (int(pk.max()) + 1) * day_span < 2 ** 62:  # one stable sort of one packed key
        order = np.argsort(pk * day_span + day_key, kind="stable")
    elif day_span < 2 ** 62:
        order = np.lexsort((day_key, pk))
    else:  # pragma: no cover - day numbers beyond any calendar
        order = np.lexsort((idx, ad, dd, pk))
    s = idx[order]
    cur, nxt = s[:-1], s[1:]
    same_key = patient[cur] == patient[nxt]
    if rule.same_hospital:
        same_key &= hospital[cur] == hospital[nxt]
    gap = admit_day[nxt] - discharge_day[cur]
    g = group[cur]
    hit = (
        same_key
        & (g >= 0)
        & (g == group[nxt])
        & (gap >= 0)
        & (gap <= rule.window_days)
        & eligible[cur]
    )
    hit &= ~exempt_group[np.maximum(g, 0)]
    flags[cur[hit]] = True
    return flags
