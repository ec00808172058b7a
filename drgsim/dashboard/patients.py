"""Patients' layers on the dashboard (domain.md §9): deductibles and ratios by level as levers.

A benefit lever (``benefits.deductible.<insurance>.<level>``, ``benefits.ratio.<insurance>.
<level>``) re-runs :func:`payment.cost_sharing` (one numba walk over the held cases) under the
base benefit policy with that entry replaced; the tiered-care levers
(``tiered_care.shift.share|from_level|to_level``) first move cases between levels with
:func:`payment.tiered_care.shift_cases` (a :class:`~payment.tiered_care.LevelShift`, default
from level 3 to level 1, cost factor from the data), and sums the layers by hospital level with
:func:`payment.benefit_summary.summarise`. The DRG settlement does not follow it: settlement
reads the cases' own ``patient_paid`` (linking it to the basic fund is not done here).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd

from payment.benefit_policy import BenefitPolicy, load_benefit_policy, validate_benefit_policy
from payment.benefit_summary import benefit_inputs, summarise
from payment.cost_sharing import cost_sharing
from payment.tiered_care import LevelShift, shift_cases

from .levers import SHIFT_PREFIX

__all__ = ["Patients", "load_patients"]

#: The tiered-care levers' base values: no shift (share 0) from level 3 to level 1.
SHIFT_DEFAULT = {SHIFT_PREFIX + "share": 0.0, SHIFT_PREFIX + "from_level": 3,
                 SHIFT_PREFIX + "to_level": 1}

DEMO_BENEFITS = Path(__file__).resolve().parents[2] / "sample_cases" / "benefits.csv"


class Patients:
    """Benefit cases (canonical §9 inputs) and a benefit policy; answers cached per setting."""

    def __init__(self, cases: pd.DataFrame, policy: BenefitPolicy, source: str = "") -> None:
        self.cases = benefit_inputs(cases)
        self.policy = policy
        self.source = source
        self._cache: dict[str, dict[str, Any]] = {}

    def base_levers(self) -> dict[str, float]:
        """The base policy's deductibles and ratios as lever values."""
        out: dict[str, float] = {}
        for table in ("deductible", "ratio"):
            t = getattr(self.policy, table)
            for ins in ("resident", "employee"):
                for i, v in enumerate(getattr(t, ins), start=1):
                    out[f"benefits.{table}.{ins}.{i}"] = float(v)
        out.update({k: v for k, v in SHIFT_DEFAULT.items()})
        return out

    def shift_for(self, over: dict[str, Any]) -> LevelShift | None:
        """The tiered-care shift of the levers (None when no shift lever is set; validated)."""
        keys = {k[len(SHIFT_PREFIX):]: v for k, v in over.items() if k.startswith(SHIFT_PREFIX)}
        if not keys:
            return None
        base = {k[len(SHIFT_PREFIX):]: v for k, v in SHIFT_DEFAULT.items()}
        return LevelShift.model_validate({**base, **keys})

    def policy_for(self, over: dict[str, float]) -> BenefitPolicy:
        """The base benefit policy with lever entries replaced (validated; errors name keys)."""
        over = {k: v for k, v in over.items() if not k.startswith(SHIFT_PREFIX)}
        if not over:
            return self.policy
        data = copy.deepcopy(self.policy.model_dump())
        for key, value in over.items():
            _, table, ins, level = key.split(".")
            data[table][ins][int(level) - 1] = value
        return validate_benefit_policy(data, "dashboard levers")

    def answer(self, over: dict[str, float]) -> dict[str, Any]:
        """Layers and out-of-pocket by hospital level and in total (yuan, exact sums)."""
        key = json.dumps(over, sort_keys=True)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        from .jsonable import records

        shift = self.shift_for(over)
        cases, moved = (self.cases, None) if shift is None else shift_cases(self.cases, shift)
        shares = cost_sharing(cases, self.policy_for(over))
        out = {"by_level": records(summarise(cases, shares, by="hospital_level")),
               "total": records(summarise(cases, shares))[0], "source": self.source,
               "moved": 0 if moved is None else int(moved.sum())}
        if len(self._cache) > 16:
            self._cache.clear()
        self._cache[key] = out
        return out


def load_patients(benefits: str | None, cases: str | Path | None,
                  demo: bool) -> tuple[Patients | None, str]:
    """The patient side, or None and why not.

    ``cases``: a benefit-inputs file (§9 columns); the demo region uses
    sample_cases/benefits.csv. ``benefits``: a benefit policy (preset or TOML; default the
    ``benefits_example`` preset).
    """
    from grouper.cases import read_raw

    if cases is None and demo and DEMO_BENEFITS.exists():
        cases = DEMO_BENEFITS
    if cases is None:
        return None, "no benefit cases (give --benefit-cases with the §9 columns)"
    pol = load_benefit_policy(benefits or "benefits_example")
    return Patients(read_raw(cases), pol, str(cases)), ""
