"""Build parameters of a DIP catalogue (:class:`DipConfig`) and the fixed vocabularies."""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Treatment types of comprehensive groups, in increasing order of intensity (the index is the
#: integer code used by the kernels; a case takes the most intensive type of its procedures).
TREATMENTS: tuple[str, ...] = ("conservative", "diagnostic", "therapeutic", "surgery")
#: Age bands of the auxiliary catalogue (index = kernel code).
AGE_BANDS: tuple[str, ...] = ("newborn", "child", "adult", "elderly")
#: Which procedures make up a combination.
PROCEDURE_SETS: tuple[str, ...] = ("all", "or", "non_diagnostic")
TRIMS: tuple[str, ...] = ("none", "iqr", "sd", "percentile")
YEAR_WEIGHTINGS: tuple[str, ...] = ("yearly_means", "per_case")
SCALES: tuple[int, ...] = (100, 1000)


@dataclass(frozen=True)
class DipConfig:
    """How a catalogue is built (and how cases are keyed when grouped into it).

    Code levels count ICD characters *without* the dot: ``dx_level=4`` keys ``K80.100x001``
    as ``K80.1`` (亚目), 3 as ``K80``; ``proc_level=4`` keys ``38.8607`` as ``38.86``; 0 keeps
    the whole code.
    """

    dx_level: int = 4
    proc_level: int = 0
    #: ``all`` procedures, ``or`` (operating-room list only) or ``non_diagnostic`` (all minus
    #: purely diagnostic procedures, see :mod:`grouper.dip.treatment`).
    procedures: str = "all"
    #: A combination with at least this many cases (raw, all years in the window) is core.
    core_threshold: int = 15
    #: Score = group mean ÷ all-case mean × scale.
    scale: int = 100
    #: Year weights, oldest → newest, for the newest ``len(year_weights)`` calendar years of the
    #: history; older cases are left out. ``()`` pools all years with equal weight per case.
    year_weights: tuple[float, ...] = (1.0, 2.0, 7.0)
    #: ``yearly_means`` (domain §13 default: weights apply to yearly means, renormalised over the
    #: years present) or ``per_case`` (each case weighted by its year's weight).
    year_weighting: str = "yearly_means"
    #: Trimming before means, per group and year: ``none``, ``iqr`` (Q1 − k·IQR … Q3 + k·IQR),
    #: ``sd`` (mean ± k·SD, ddof 1) or ``percentile`` (trim_lower … trim_upper quantiles).
    #: k and the quantiles default to the payment policy's ``weights.trim_k`` / ``trim_lower``
    #: / ``trim_upper`` (3.0, 0.025, 0.975), so the catalogue and the weights fit by one rule.
    trim: str = "none"
    trim_k: float = 3.0
    trim_lower: float = 0.025
    trim_upper: float = 0.975
    #: Group-year sets with fewer cases are not trimmed.
    trim_min_cases: int = 10
    #: An auxiliary coefficient is estimated only for a group × level cell with at least this
    #: many (kept) cases; otherwise it is 1.0.
    aux_min_cases: int = 30
    #: Severity level = min(#CC + 2 × #MCC among distinct secondary diagnoses, severity_cap).
    severity_cap: int = 3
    #: Age bands: newborn (age 0 and age_days ≤ 28), child (< adult_age years), adult,
    #: elderly (≥ elderly_age years).
    adult_age: int = 18
    elderly_age: int = 65

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("invalid DipConfig: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every parameter that is out of range, as 'name: value (allowed …)' strings."""
        out = []

        def bad(name: str, allowed: str) -> None:
            out.append(f"{name}={getattr(self, name)!r} (allowed: {allowed})")

        if self.dx_level not in (0, 3, 4, 5, 6):
            bad("dx_level", "0 (whole code), 3, 4, 5, 6")
        if self.proc_level not in (0, 2, 3, 4, 5, 6):
            bad("proc_level", "0 (whole code), 2, 3, 4, 5, 6")
        if self.procedures not in PROCEDURE_SETS:
            bad("procedures", ", ".join(PROCEDURE_SETS))
        if not (isinstance(self.core_threshold, numbers.Integral) and self.core_threshold >= 1):
            bad("core_threshold", "an integer >= 1")
        if self.scale not in SCALES:
            bad("scale", "100 or 1000")
        if any(not (w >= 0) for w in self.year_weights) or (
            self.year_weights and sum(self.year_weights) <= 0
        ):
            bad("year_weights", "non-negative numbers with a positive sum, or ()")
        if self.year_weighting not in YEAR_WEIGHTINGS:
            bad("year_weighting", ", ".join(YEAR_WEIGHTINGS))
        if self.trim not in TRIMS:
            bad("trim", ", ".join(TRIMS))
        if not self.trim_k > 0:
            bad("trim_k", "a number > 0")
        if not (0 <= self.trim_lower < self.trim_upper <= 1):
            bad("trim_lower", "0 <= trim_lower < trim_upper <= 1")
        if self.trim_min_cases < 1:
            bad("trim_min_cases", "an integer >= 1")
        if self.aux_min_cases < 1:
            bad("aux_min_cases", "an integer >= 1")
        if not 1 <= self.severity_cap <= 9:
            bad("severity_cap", "1 … 9")
        if not 0 < self.adult_age < self.elderly_age:
            bad("adult_age", "0 < adult_age < elderly_age")
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["year_weights"] = list(self.year_weights)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DipConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error (they are probably typos)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown DipConfig keys {unknown}; allowed: {sorted(names)}")
        d = dict(d)
        if "year_weights" in d:
            d["year_weights"] = tuple(float(w) for w in d["year_weights"])
        return cls(**d)


def code_prefix_len(level: int, dot_at: int) -> int:
    """Characters of code text kept for an ICD level counted without the dot (0 = all)."""
    if level == 0:
        return 0
    return level + 1 if level > dot_at else level


def key_code(code: str, level: int, dot_at: int) -> str:
    """The grouping key of one code at ``level`` (``K80.100`` → ``K80.1`` at dx level 4)."""
    n = code_prefix_len(level, dot_at)
    return code if n == 0 else code[:n]
