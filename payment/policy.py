"""Pydantic models of the policy TOML: every regional payment rule is a key here, never code.

Loading is two-phase: parse TOML, then validate with ``extra="forbid"`` models. Every error is
re-raised as :class:`PolicyError` naming the file, the dotted key and the allowed values. The
semantics of each key are those of ``domain.md``; defaults follow its §13.
"""

from __future__ import annotations

import copy
import datetime as _dt
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import tomllib
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

try:  # issue 5 owns the [settlement] model; until it exists the table is kept opaque
    from payment.settlement_policy import SettlementPolicy as _SettlementModel
except ModuleNotFoundError as _exc:  # only a missing module, never a broken one
    if _exc.name != "payment.settlement_policy":
        raise
    _SettlementModel = None  # type: ignore[assignment,misc]

if _SettlementModel is None:
    SettlementField = dict[str, Any] | None
else:
    SettlementField = _SettlementModel | None  # type: ignore[misc,valid-type]

from .policy_errors import KeyedValueError, PolicyError
from .policy_errors import validation_error as _validation_error

PRESETS = ("national_drg", "zhejiang_drg", "jinhua_drg", "national_dip")
DISCHARGE_MODES = (1, 2, 3, 4, 5, 9)


class _Model(BaseModel):
    # strict: a TOML string is never read as a number or a flag ("0.4", "yes"); finite: inf and
    # nan are refused everywhere (a fixed point value of inf would pay infinite yuan)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


#: The largest yuan amount a policy may name (the settlement accepts no larger total), yuan.
MAX_YUAN = 1e12

Share = Annotated[float, Field(ge=0.0, le=1.0)]
#: a cost multiple or a multiplier of points: above 0, at most 1,000
Multiple = Annotated[float, Field(gt=0.0, le=1_000.0)]
#: a coefficient or incentive on points: above 0, at most 100
Factor = Annotated[float, Field(gt=0.0, le=100.0)]
#: yuan amounts (budgets, cost bounds): above 0, at most MAX_YUAN
Yuan = Annotated[float, Field(gt=0.0, le=MAX_YUAN)]
#: days (LOS limits, windows): 0 … 36,500
Days = Annotated[int, Field(ge=0, le=36_500)]


class WeightsPolicy(_Model):
    """How relative weights (DRG RW) or scores (DIP) are computed from history (§4, §13)."""

    year_weights: list[Annotated[float, Field(ge=0.0, le=1e6)]] = Field(
        default=[1.0, 2.0, 7.0], min_length=1
    )
    history_years: list[Annotated[int, Field(ge=1900, le=2200)]] | None = None
    year_weighting: Literal["yearly_means", "per_case"] = "yearly_means"
    trim: Literal["none", "iqr", "sd", "percentile"] = "none"
    trim_k: Annotated[float, Field(gt=0.0, le=100.0)] = 3.0
    trim_lower: Share = 0.025
    trim_upper: Share = 0.975
    trim_min_cases: Annotated[int, Field(ge=1, le=1_000_000)] = 10
    min_cases: Annotated[int, Field(ge=1, le=1_000_000)] = 5
    cv_threshold: Annotated[float, Field(gt=0.0, le=1_000.0)] = 1.0
    points_scale: Annotated[float, Field(gt=0.0, le=1_000_000.0)] = 100.0
    apply_los_exclusions: bool = True
    # §13 "Also default": RW published to 4 decimals half-up; base points = published RW × scale
    rw_decimals: Annotated[int, Field(ge=0, le=12)] = 4
    rw_rounding: Literal["half_up", "none"] = "half_up"

    @field_validator("year_weights")
    @classmethod
    def _weights_sensible(cls, v: list[float]) -> list[float]:
        total = sum(v)
        if total <= 0:
            raise ValueError("year weights must not all be zero; allowed: non-negative, sum > 0")
        if any(w != int(w) for w in v) and abs(total - 1.0) > 1e-9:
            # fractional weights are shares: 0.1/0.2/0.7, not 0.1/0.2/0.9
            raise ValueError(
                f"fractional year weights are shares and must sum to 1, got {total:g}; "
                "allowed: integer ratios such as [1, 2, 7] or shares summing to 1"
            )
        return v

    @model_validator(mode="after")
    def _consistent(self) -> WeightsPolicy:
        if self.history_years is not None:
            if len(self.history_years) != len(self.year_weights):
                raise KeyedValueError(
                    "history_years",
                    f"{len(self.history_years)} years for {len(self.year_weights)} year_weights",
                    "one year per weight, oldest first",
                )
            if any(b <= a for a, b in zip(self.history_years, self.history_years[1:], strict=False)):
                raise KeyedValueError(
                    "history_years", "years must be strictly increasing", "oldest first"
                )
        if self.trim_lower >= self.trim_upper:
            raise KeyedValueError(
                "trim_lower",
                f"trim_lower {self.trim_lower} must be below trim_upper {self.trim_upper}",
                "0 <= trim_lower < trim_upper <= 1",
            )
        return self


class CoefficientPolicy(_Model):
    """Hospital (×group) or level (×group) cost coefficients (§4)."""

    mode: Literal["hospital", "level", "none"] = "hospital"
    new_group: Factor = 1.0
    min_cases: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    min: Factor | None = None
    max: Factor | None = None

    @model_validator(mode="after")
    def _bounds(self) -> CoefficientPolicy:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise KeyedValueError(
                "min", f"min {self.min} exceeds max {self.max}", "min <= max"
            )
        return self


class HighBand(_Model):
    """High-multiple threshold for groups with base points ≤ ``max_base_points`` (None: above)."""

    max_base_points: Annotated[float, Field(gt=0.0, le=1e9)] | None = None
    multiple: Annotated[float, Field(gt=1.0, le=1_000.0)]


class OutlierPolicy(_Model):
    """DRG high/low multiple cases (§5, boundaries §13)."""

    enabled: bool = True
    high_bands: list[HighBand] = Field(
        default_factory=lambda: [
            HighBand(max_base_points=100.0, multiple=3.0),
            HighBand(max_base_points=300.0, multiple=2.0),
            HighBand(max_base_points=None, multiple=1.5),
        ],
        min_length=1,
    )
    low_multiple: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.4
    low_rule: Literal["ratio", "full"] = "ratio"
    # §13: low multiple = base × coefficient × r (false: base × r)
    low_with_coefficient: bool = True
    # §13: r against the group's region mean ("same_level": its mean at the hospital's level)
    comparison_base: Literal["region", "same_level"] = "region"
    high_over_incomplete: bool = False

    @field_validator("high_bands")
    @classmethod
    def _bands_sorted(cls, v: list[HighBand]) -> list[HighBand]:
        for i, band in enumerate(v[:-1]):
            if band.max_base_points is None:
                raise ValueError(
                    f"band {i + 1} has no max_base_points but is not the last; "
                    "allowed: bands sorted by max_base_points, only the last open"
                )
        bounded = [b.max_base_points for b in v if b.max_base_points is not None]
        if any(b <= a for a, b in zip(bounded, bounded[1:], strict=False)):
            raise ValueError(
                f"bands overlap or are unsorted: max_base_points {bounded}; "
                "allowed: strictly increasing max_base_points"
            )
        if v[-1].max_base_points is not None:
            raise ValueError(
                "the last band must be open (no max_base_points) so every group has a "
                "threshold; allowed: omit max_base_points in the last band"
            )
        return v

    @model_validator(mode="after")
    def _low_below_high(self) -> OutlierPolicy:
        lowest = min(b.multiple for b in self.high_bands)
        if self.low_multiple >= lowest:
            raise KeyedValueError(
                "low_multiple",
                f"low threshold {self.low_multiple} is not below the lowest high threshold "
                f"{lowest}",
                "low_multiple < every high_bands.multiple",
            )
        return self

    def threshold(self, base_points: float) -> float:
        """High-multiple threshold for a group of ``base_points`` (a band includes its max)."""
        for band in self.high_bands:
            if band.max_base_points is None or base_points <= band.max_base_points:
                return band.multiple
        raise AssertionError("last band is open")  # guaranteed by validation


class DeviationPolicy(_Model):
    """DIP cost deviation (national spec, §5): r<low → ×r; r>high → ×(r−1); r>review flag."""

    low: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    high: Annotated[float, Field(ge=1.0, le=1_000.0)] = 2.0
    review: Multiple = 5.0
    comparison_base: Literal["same_level", "region"] = "same_level"
    # §5 "previous-year average": the group's mean in the newest history year (option
    # "weighted": the history window's year-weighted mean, the mean the score is from)
    comparison_years: Literal["previous_year", "weighted"] = "previous_year"
    # §5 deviation points are score × r and score × (r − 1), without the adjustment
    # coefficient (option true: × coefficient as well, as a normal case)
    with_coefficient: bool = False

    @model_validator(mode="after")
    def _order(self) -> DeviationPolicy:
        if self.review <= self.high:
            raise KeyedValueError(
                "review", f"review threshold {self.review} not above high {self.high}",
                "low < 1 <= high < review",
            )
        return self


class DipPolicy(_Model):
    """DIP-only pricing keys (§7): the auxiliary catalogue (辅助目录) refines a case's score by
    its severity and age coefficient (``aux_coefficient`` of the grouped case); option
    ``"ignore"``: the group's score alone."""

    aux_coefficients: Literal["apply", "ignore"] = "apply"


class IncompletePolicy(_Model):
    """Incomplete stays (§5): Zhejiang base×coef×cost/avg capped; Jinhua without coefficient."""

    enabled: bool = False
    discharge_modes: list[Literal[1, 2, 3, 4, 5, 9]] = Field(default=[2, 3, 4, 5])
    max_los: Days | None = None
    with_coefficient: bool = True
    cap_at_base_points: bool = True


class ExclusionPolicy(_Model):
    """Stays paid outside DRG/DIP by LOS (§5; boundaries ≤ min or ≥ max, §13)."""

    los_min: Days | None = None
    los_max: Annotated[int, Field(ge=1, le=36_500)] | None = None
    payment: Literal["fee_for_service", "none"] = "fee_for_service"

    @model_validator(mode="after")
    def _order(self) -> ExclusionPolicy:
        if self.los_min is not None and self.los_max is not None and self.los_min >= self.los_max:
            raise KeyedValueError(
                "los_min", f"los_min {self.los_min} is not below los_max {self.los_max}",
                "los_min < los_max",
            )
        return self


class UngroupablePolicy(_Model):
    """Points of ungroupable cases (§13): fee-for-service points = total cost ÷ (all-case mean
    ÷ points scale), or 0 (left to special review)."""

    points: Literal["fee_for_service", "zero"] = "fee_for_service"


class InputChecks(_Model):
    """Bounds beyond which a case's cost or LOS is treated as a data error (assumption)."""

    max_cost: Yuan = 50_000_000.0
    max_los: Annotated[float, Field(gt=0.0, le=36_500.0)] = 3_650.0


class BedDayPolicy(_Model):
    """Bed-day groups (psychiatry, rehabilitation, §5): daily points × LOS days."""

    groups: list[str] = Field(default_factory=list)
    prefixes: list[str] = Field(default_factory=list)
    daily_points: dict[str, Annotated[float, Field(ge=0.0, le=1e9)]] = Field(default_factory=dict)
    with_coefficient: bool = False


class ReadmissionPolicy(_Model):
    """Readmission penalty (§5, §13): earlier stay's points × factor."""

    enabled: bool = False
    window_days: Days = 15
    factor: Share = 0.5
    exempt_groups: list[str] = Field(default_factory=list)
    exempt_prefixes: list[str] = Field(default_factory=list)
    same_hospital: bool = False


class SpecialReviewPolicy(_Model):
    """特例单议 (§6, §13): eligibility, quota per hospital per period, selection, re-pricing."""

    enabled: bool = False
    # a rule left out (None) is off; presets switch on the ones their region uses
    los_limit: Days | None = None
    cost_multiple: Multiple | None = None
    newborn_max_weight_g: Annotated[float, Field(gt=0.0, le=10_000.0)] | None = None
    newborn_region_multiple: Annotated[float, Field(ge=0.0, le=1_000.0)] = 2.5
    newborn_group_multiple: Annotated[float, Field(ge=0.0, le=1_000.0)] = 1.0
    newborn_max_age_days: Days = 28  # §13: the newborn rule applies to age_days <= this
    new_tech: bool = True
    ungroupable: bool = True
    small_groups: bool = True
    dip_review: bool = True
    icu: bool = False
    quota_rate: Share = 0.05
    quota_period: Literal["quarter", "month", "year"] = "quarter"
    quota_rounding: Literal["floor", "half_up", "ceiling"] = "floor"  # §13
    # §13: approved amounts converted at the settlement point value (solved exactly), at the
    # budget point value, or at the all-case mean cost ÷ points scale ("mean_cost")
    conversion: Literal["settlement_pv", "budget_pv", "mean_cost"] = "settlement_pv"
    approval_rate: Share = 1.0
    repricing: Literal["fee_for_service", "review_coefficient"] = "fee_for_service"
    deduction_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    review_coefficient: Factor = 1.0


class PointValuePolicy(_Model):
    """Point value (points method) or base rate (rate method), §4 and §13."""

    source: Literal["fixed", "history", "budget"] = "history"
    value: Annotated[float, Field(gt=0.0, le=1_000_000.0)] | None = None  # yuan per point
    base_rate: Annotated[float, Field(gt=0.0, le=1e9)] | None = None  # yuan per weight
    budget: Yuan | None = None  # yuan of fund
    reserve_rate: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05
    reserve_withheld: bool = True
    reimbursement_ratio: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    # §13: the settlement point value (or base rate) is published to 4 decimals, half-up
    decimals: Annotated[int, Field(ge=0, le=12)] = 4
    rounding: Literal["half_up", "none"] = "half_up"
    # §13: the pool the point value divides: fund ÷ reimbursement ratio, or fund + the patient
    # payments recorded on the cases
    pool: Literal["fund_over_ratio", "fund_plus_patient_paid"] = "fund_over_ratio"


class IncentivePolicy(_Model):
    """Multipliers on case points by group or by hospital (e.g. a TCM coefficient)."""

    group: dict[str, Factor] = Field(default_factory=dict)
    hospital: dict[str, Factor] = Field(default_factory=dict)


class Policy(_Model):
    """A region's DRG or DIP payment policy (one TOML file)."""

    name: str
    description: str = ""
    region: str = ""
    effective_from: _dt.date | None = Field(None, strict=False)  # TOML date or ISO text
    kind: Literal["drg", "dip"]
    method: Literal["points", "rate"] = "points"
    group_column: str | None = None
    weights: WeightsPolicy = Field(default_factory=WeightsPolicy)
    coefficients: CoefficientPolicy = Field(default_factory=CoefficientPolicy)
    outliers: OutlierPolicy = Field(default_factory=OutlierPolicy)
    deviation: DeviationPolicy = Field(default_factory=DeviationPolicy)
    dip: DipPolicy = Field(default_factory=DipPolicy)
    incomplete: IncompletePolicy = Field(default_factory=IncompletePolicy)
    exclusions: ExclusionPolicy = Field(default_factory=ExclusionPolicy)
    ungroupable: UngroupablePolicy = Field(default_factory=UngroupablePolicy)
    input_checks: InputChecks = Field(default_factory=InputChecks)
    bed_day: BedDayPolicy = Field(default_factory=BedDayPolicy)
    readmission: ReadmissionPolicy = Field(default_factory=ReadmissionPolicy)
    special_review: SpecialReviewPolicy = Field(default_factory=SpecialReviewPolicy)
    point_value: PointValuePolicy = Field(default_factory=PointValuePolicy)
    incentives: IncentivePolicy = Field(default_factory=IncentivePolicy)
    settlement: SettlementField = None

    _source: str = PrivateAttr(default="<policy>")

    @model_validator(mode="after")
    def _point_value_complete(self) -> Policy:
        pv = self.point_value
        if pv.source == "fixed":
            if self.method == "points" and pv.value is None:
                raise KeyedValueError(
                    "point_value.value", "source = 'fixed' needs a point value",
                    "a number > 0 (yuan per point)",
                )
            if self.method == "rate" and pv.base_rate is None:
                raise KeyedValueError(
                    "point_value.base_rate", "source = 'fixed' with method = 'rate' needs a "
                    "base rate", "a number > 0 (yuan per unit of weight)",
                )
        if pv.source == "budget" and pv.budget is None:
            raise KeyedValueError(
                "point_value.budget", "source = 'budget' needs a budget",
                "a number > 0 (yuan of fund)",
            )
        return self

    @property
    def source(self) -> str:
        """The file (or preset) this policy was loaded from."""
        return self._source

    @property
    def group_col(self) -> str:
        """Case column holding the group: ``drg`` for DRG, ``dip_group`` for DIP, or override."""
        if self.group_column:
            return self.group_column
        return "drg" if self.kind == "drg" else "dip_group"

    def with_overrides(self, overrides: dict[str, Any], label: str | None = None) -> Policy:
        """A new policy with ``overrides`` (nested dict) merged in and re-validated."""
        data = merge_overrides(self.model_dump(), overrides)
        return _validate(data, label or f"{self._source} + overrides")


def merge_overrides(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge nested override dicts into a copy of ``base`` (tables merge, values replace)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_overrides(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def validation_error(exc: ValidationError, file: str,
                     root: type[BaseModel] | None = None) -> PolicyError:
    """One :class:`PolicyError` naming file, key, problem and allowed values for ``exc``;
    ``root`` is the model that was validated (the payment policy unless given)."""
    return _validation_error(exc, file, Policy if root is None else root)


def _validate(data: dict[str, Any], file: str) -> Policy:
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, file) from None
    policy._source = file
    return policy


# --- loading ------------------------------------------------------------------------------------


def preset_path(name: str) -> Path:
    """Path of a shipped preset (``national_drg``, ``zhejiang_drg``, ``jinhua_drg``,
    ``national_dip``)."""
    return Path(str(resources.files("payment") / "presets" / f"{name}.toml"))


def load_policy(source: str | Path, overrides: dict[str, Any] | None = None) -> Policy:
    """Load and validate a policy from a TOML path or a preset name, then apply ``overrides``.

    Raises :class:`PolicyError` naming the file, the dotted key and the allowed values.
    """
    text_source = str(source)
    if text_source in PRESETS:
        path = preset_path(text_source)
    else:
        path = Path(source)
        if not path.exists():
            raise PolicyError(
                text_source, "", "no such policy file or preset", ", ".join(PRESETS)
            )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(str(path), "", f"invalid TOML: {exc}") from None
    policy = _validate(data, str(path))
    if overrides:
        policy = policy.with_overrides(overrides, f"{path} + overrides")
    return policy


def exact_fraction(x: float) -> Fraction:
    """The decimal a planner wrote (0.005 → 1/200), not the binary float nearest to it."""
    return Fraction(repr(float(x)))
