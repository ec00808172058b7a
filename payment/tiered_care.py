"""Tiered-care what-ifs (分级诊疗, domain.md §9 last paragraph): benefit overrides and a shift
of cases between hospital levels, against the baseline, layer by layer.

A shift moves ``share`` of the cases at ``from_level`` (optionally only listed groups, by code
or prefix) to ``to_level``. Which cases move is decided by a hash of the case id, so the same
cases move whatever the row order or chunking. A moved case goes to the destination-level
hospital of its alliance (the one with most cases), else to the destination level's busiest
hospital; its costs (total, self-pay, partial self-pay) are scaled by ``cost_factor`` (the
destination level's mean cost per case ÷ the origin's, in the data, when not given) and
rounded half-up to the cent (a recorded ``patient_paid`` too). Persons keep their stays and order, so the person-year
accumulation of §9 runs again on the shifted year.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .benefit_policy import BenefitPolicy
from .benefit_summary import LAYERS, summaries
from .cost_sharing import cost_sharing
from .pricing import round_half_up_cents

__all__ = ["LevelShift", "TieredCareResult", "TieredCareWhatIf", "load_tiered_care", "shift_cases",
           "tiered_care"]


class LevelShift(BaseModel):
    """Move ``share`` of the ``from_level`` cases (of ``groups``, all when empty) to ``to_level``."""

    # numbers strict and finite like the policy ("0.2" or nan is an error); the tuple stays lax
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    share: float = Field(ge=0.0, le=1.0, strict=True)
    from_level: int = Field(ge=1, le=3, strict=True)
    to_level: int = Field(ge=1, le=3, strict=True)
    groups: tuple[str, ...] = ()
    group_column: str = "drg"
    cost_factor: float | None = Field(None, gt=0.0, le=10.0, strict=True)

    @model_validator(mode="after")
    def _levels(self) -> LevelShift:
        if self.from_level == self.to_level:
            raise ValueError("from_level and to_level must differ")
        return self


def _moved(cases: pd.DataFrame, shift: LevelShift) -> np.ndarray:
    level = pd.to_numeric(cases["hospital_level"], errors="coerce").to_numpy()
    eligible = level == shift.from_level
    if shift.groups:
        if shift.group_column not in cases.columns:
            raise ValueError(f"shift.groups needs a {shift.group_column!r} column in the cases")
        g = cases[shift.group_column].astype("string").fillna("")
        eligible &= g.str.startswith(tuple(shift.groups)).to_numpy(dtype=bool)
    # A hash of the case id, not a random draw: the same cases move in any order or chunking.
    h = pd.util.hash_pandas_object(cases["case_id"].astype(str), index=False).to_numpy()
    u = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return eligible & (u < shift.share)


def _destinations(cases: pd.DataFrame, to_level: int) -> dict[str, str]:
    """Destination hospital per alliance ('' = no alliance): its busiest hospital at the level."""
    level = pd.to_numeric(cases["hospital_level"], errors="coerce")
    at = cases.loc[level == to_level]
    if at.empty:
        raise ValueError(f"no hospital at level {to_level} in the cases to shift cases to")
    alliance = at["alliance_id"].astype("string").fillna("") if "alliance_id" in at.columns \
        else pd.Series("", index=at.index)
    counts = pd.DataFrame({"a": alliance.to_numpy(), "h": at["hospital_id"].astype(str).to_numpy()})
    busiest = (counts.groupby(["a", "h"]).size().reset_index(name="n")
               .sort_values(["a", "n", "h"], ascending=[True, False, True]))
    out = busiest.drop_duplicates("a").set_index("a")["h"].to_dict()
    out[None] = counts["h"].value_counts().sort_index().idxmax()  # region-wide fallback
    return out


def shift_cases(cases: pd.DataFrame, shift: LevelShift) -> tuple[pd.DataFrame, np.ndarray]:
    """The cases after the shift (same rows, same order) and the moved mask."""
    moved = _moved(cases, shift)
    out = cases.copy()
    if not moved.any():
        return out, moved
    level = pd.to_numeric(cases["hospital_level"], errors="coerce")
    cost = pd.to_numeric(cases["total_cost"], errors="coerce")
    factor = shift.cost_factor
    if factor is None:
        src, dst = cost[level == shift.from_level].mean(), cost[level == shift.to_level].mean()
        factor = float(dst / src) if src > 0 and np.isfinite(dst) else 1.0
    dest = _destinations(cases, shift.to_level)
    alliance = (cases["alliance_id"].astype("string").fillna("") if "alliance_id" in cases.columns
                else pd.Series("", index=cases.index))
    hosp = [dest.get(a, dest[None]) for a in alliance.to_numpy()[moved]]
    out["hospital_id"] = out["hospital_id"].astype(object)
    out.loc[moved, "hospital_id"] = hosp
    out["hospital_level"] = level.to_numpy()
    out.loc[moved, "hospital_level"] = shift.to_level
    out["hospital_level"] = out["hospital_level"].astype(np.int64)
    for col in ("total_cost", "self_pay", "partial_self_pay", "patient_paid"):
        if col in out.columns:
            v = np.array(pd.to_numeric(out[col], errors="coerce"), dtype=np.float64)
            v[moved] = round_half_up_cents(v[moved] * factor) / 100
            out[col] = v
    return out, moved


@dataclass(frozen=True)
class TieredCareResult:
    """Baseline and variant side by side: ``layers`` (one row per layer, yuan), ``by_level``
    and ``by_category`` (out-of-pocket and the ratios), ``volumes`` (cases per hospital);
    ``baseline`` / ``variant`` hold every summary table and ``shares`` the per-case layers."""

    layers: pd.DataFrame
    by_level: pd.DataFrame
    by_category: pd.DataFrame
    volumes: pd.DataFrame
    moved: int
    baseline: dict[str, pd.DataFrame]
    variant: dict[str, pd.DataFrame]
    shares: pd.DataFrame


def _side(a: pd.DataFrame, b: pd.DataFrame, key: str, cols: list[str]) -> pd.DataFrame:
    m = a[[key, *cols]].merge(b[[key, *cols]], on=key, how="outer", suffixes=("_baseline", "_variant"))
    for c in cols:
        if "ratio" not in c:  # a side without the key had no cases and no money there
            m[[f"{c}_baseline", f"{c}_variant"]] = m[[f"{c}_baseline", f"{c}_variant"]].fillna(0)
        m[f"{c}_diff"] = m[f"{c}_variant"] - m[f"{c}_baseline"]
    if "cases_baseline" in m.columns:
        m = m.astype({"cases_baseline": np.int64, "cases_variant": np.int64,
                      "cases_diff": np.int64})
    return m


def tiered_care(cases: pd.DataFrame, policy: BenefitPolicy,
                overrides: dict[str, Any] | None = None,
                shift: LevelShift | None = None) -> TieredCareResult:
    """Cost-sharing of ``cases`` under ``policy`` (baseline) and under ``policy`` with the
    benefit ``overrides`` and the level ``shift`` (variant), compared."""
    base_sh = cost_sharing(cases, policy)
    base = summaries(cases, base_sh)
    variant_policy = policy.with_overrides(overrides) if overrides else policy
    shifted, moved = shift_cases(cases, shift) if shift is not None else (cases, np.zeros(len(cases), bool))
    var_sh = cost_sharing(shifted, variant_policy)
    var = summaries(shifted, var_sh)
    b, v = base["overall"].iloc[0], var["overall"].iloc[0]
    names = ["total_cost", "compliant", *LAYERS, "actual_ratio", "policy_ratio"]
    layers = pd.DataFrame({"metric": names, "baseline": [b[n] for n in names],
                           "variant": [v[n] for n in names]})
    layers["diff"] = np.round(layers["variant"] - layers["baseline"], 10)
    cols = ["cases", "total_cost", "oop", "actual_ratio", "policy_ratio"]
    by_level = _side(base["by_hospital_level"], var["by_hospital_level"], "hospital_level", cols)
    by_cat = (_side(base["by_category"], var["by_category"], "category", cols)
              if "by_category" in base else pd.DataFrame())
    vol = _side(base["by_hospital"], var["by_hospital"], "hospital_id", ["cases", "total_cost"])
    return TieredCareResult(layers, by_level, by_cat, vol, int(moved.sum()), base, var, var_sh)


class TieredCareWhatIf(BaseModel):
    """A tiered-care what-if file: ``name``, benefit ``[overrides]`` (nested benefit-policy
    keys) and an optional ``[shift]`` (:class:`LevelShift`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str = "tiered care"
    overrides: dict[str, Any] = Field(default_factory=dict)
    shift: LevelShift | None = None


def load_tiered_care(path: str | Path) -> TieredCareWhatIf:
    """Parse and validate a tiered-care what-if TOML (errors name the file and the key)."""
    from pydantic import ValidationError

    from .policy import validation_error
    from .toml_files import read_toml

    path = Path(path)
    data = read_toml(path)
    try:
        return TieredCareWhatIf.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, str(path), TieredCareWhatIf) from None
