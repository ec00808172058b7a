"""Benefit policy TOML (domain.md §9): patient cost-sharing through the insurance layers.

One key per §9 parameter; every value is data. Validation follows :mod:`payment.policy`:
``extra="forbid"``, strict types, finite bounded numbers, and errors (:class:`PolicyError`)
naming the file, the dotted key and the allowed values. Money is yuan (at most 2 decimals),
ratios and factors are exact decimals with at most 4 decimal places (so the engine computes
in integers: cents and 1/10,000).
"""

from __future__ import annotations

from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .policy import PolicyError, validation_error
from .toml_files import read_toml

BENEFIT_PRESETS = ("benefits_example",)
INSURANCES = ("employee", "resident")
CATEGORIES = ("general", "retiree", "minor", "tekun", "dibao", "dibian", "fanpin")
ASSISTANCE_CATEGORIES = ("tekun", "dibao", "dibian", "fanpin")
REFERRALS = ("none", "up", "down", "irregular")
OUT_OF_AREA = ("local", "filed", "unfiled")

#: the largest yuan amount a benefit policy may name
MAX_YUAN = 1e9

Yuan = Annotated[float, Field(ge=0.0, le=MAX_YUAN)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
#: ratio points added to a ratio (−0.10 = minus 10 percentage points)
Points = Annotated[float, Field(ge=-1.0, le=1.0)]
#: three values, at hospital level 1 / 2 / 3
ByLevelYuan = Annotated[list[Yuan], Field(min_length=3, max_length=3)]
ByLevelShare = Annotated[list[Share], Field(min_length=3, max_length=3)]


_MONEY = frozenset({"deductible", "cap", "upto", "income", "county", "city", "province",
                    "resident_cap", "employee_cap"})


def _decimals(x: float, places: int) -> bool:
    return (Fraction(repr(float(x))) * 10**places).denominator == 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _exact(cls, v: Any, info: Any) -> Any:
        """Yuan keys at most 2 decimals, ratio keys at most 4 (exact integer arithmetic)."""
        name = info.field_name
        money = name in _MONEY or (cls.__name__ == "DeductiblePolicy" and name != "rank_factors")
        places = 2 if money else 4
        vals = v if isinstance(v, list) else [v]
        for x in vals:
            if isinstance(x, float | int) and not isinstance(x, bool) and not _decimals(x, places):
                raise ValueError(
                    f"{x!r} has more than {places} decimal places; allowed: "
                    + ("yuan to the cent" if money else "a decimal with at most 4 places")
                )
        return v


class DeductiblePolicy(_Model):
    """§9.2 deductible per admission D(insurance, level), yuan, and the rank factor."""

    resident: ByLevelYuan = Field(default=[300.0, 600.0, 900.0])
    employee: ByLevelYuan = Field(default=[200.0, 400.0, 800.0])
    #: factor by the admission's rank in the person-year (1st, 2nd, …; the last repeats)
    rank_factors: list[Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default=[1.0], min_length=1, max_length=100
    )


class RatioBand(_Model):
    """A band of the eligible amount of one admission (yuan) paid at ``ratio``."""

    upto: Annotated[float, Field(gt=0.0, le=MAX_YUAN)] | None = None
    ratio: Share


class RatioPolicy(_Model):
    """§9.2 ratio R of the basic fund by insurance and level, and its adjustments."""

    resident: ByLevelShare = Field(default=[0.85, 0.75, 0.60])
    employee: ByLevelShare = Field(default=[0.90, 0.85, 0.80])
    #: retirees: the patient share (1 − R) is multiplied by this
    retiree_share_factor: Share = 0.8
    minor_points: Points = 0.05
    filed_points: Points = -0.10
    unfiled_points: Points = -0.20
    irregular_points: Points = -0.10
    #: option: bands on the admission's eligible amount instead of the ratio by level (all
    #: insurances and levels); empty = off. Sorted by ``upto``, the last open.
    bands: list[RatioBand] = Field(default_factory=list, max_length=20)

    @field_validator("bands")
    @classmethod
    def _bands(cls, v: list[RatioBand]) -> list[RatioBand]:
        _check_bands([b.upto for b in v], 0.0)
        return v


def _check_bands(uppers: list[float | None], lower: float) -> None:
    if not uppers:
        return
    if uppers[-1] is not None or any(u is None for u in uppers[:-1]):
        raise ValueError("only the last band is open (no upto); allowed: bands sorted by upto, "
                         "the last without upto")
    prev = lower
    for u in uppers[:-1]:
        assert u is not None
        if u <= prev:
            raise ValueError(f"band bound {u:g} is not above {prev:g}; allowed: strictly "
                             "increasing upto above the deductible")
        prev = u


class BasicPolicy(_Model):
    """§9.2 annual cap of the basic fund by insurance, yuan per person-year."""

    resident_cap: Yuan = 150_000.0
    employee_cap: Yuan = 200_000.0


class CriticalScheme(_Model):
    """§9.3 one critical-illness scheme: yearly deductible, bands on A, yearly cap (yuan)."""

    enabled: bool = True
    deductible: Yuan = 15_000.0
    #: previous year's per-capita disposable income; when given the deductible is
    #: round(income_share × income)
    income: Yuan | None = None
    income_share: Share = 0.5
    bands: list[RatioBand] = Field(
        default_factory=lambda: [
            RatioBand(upto=50_000.0, ratio=0.6),
            RatioBand(upto=100_000.0, ratio=0.7),
            RatioBand(upto=None, ratio=0.8),
        ],
        min_length=1, max_length=20,
    )
    cap: Yuan = 300_000.0

    @field_validator("bands")
    @classmethod
    def _bands(cls, v: list[RatioBand]) -> list[RatioBand]:
        _check_bands([b.upto for b in v], 0.0)
        return v


def _employee_critical() -> CriticalScheme:
    return CriticalScheme(
        enabled=False, deductible=20_000.0,
        bands=[RatioBand(upto=100_000.0, ratio=0.7), RatioBand(upto=None, ratio=0.8)],
        cap=400_000.0,
    )


class CriticalPolicy(_Model):
    """§9.3 critical-illness insurance (大病保险)."""

    resident: CriticalScheme = Field(default_factory=CriticalScheme)
    employee: CriticalScheme = Field(default_factory=_employee_critical)
    #: option: partial_self_pay (乙类先行自付) counts in the critical-illness base
    base_includes_partial_self_pay: bool = False
    tilt_categories: list[Literal["tekun", "dibao", "dibian", "fanpin"]] = Field(
        default=["tekun", "dibao", "fanpin"]
    )
    tilt_deductible_factor: Share = 0.5
    tilt_points: Points = 0.05
    tilt_no_cap: bool = True


class AssistanceScheme(_Model):
    """§9.4 medical assistance of one category: ratio, yearly deductible and cap (yuan)."""

    ratio: Share
    deductible: Yuan
    cap: Yuan


class AssistancePolicy(_Model):
    """§9.4 medical assistance (医疗救助) by assistance category."""

    tekun: AssistanceScheme = AssistanceScheme(ratio=0.9, deductible=0.0, cap=60_000.0)
    dibao: AssistanceScheme = AssistanceScheme(ratio=0.7, deductible=0.0, cap=40_000.0)
    dibian: AssistanceScheme = AssistanceScheme(ratio=0.6, deductible=1_000.0, cap=30_000.0)
    fanpin: AssistanceScheme = AssistanceScheme(ratio=0.6, deductible=1_000.0, cap=30_000.0)


class SafetyNetPolicy(_Model):
    """§9.5 safety net (兜底): yearly cap on the compliant personal burden by tier (yuan)."""

    enabled: bool = False
    categories: list[Literal[CATEGORIES]] = Field(  # type: ignore[valid-type]
        default=["tekun", "dibao", "dibian", "fanpin"]
    )
    county: Yuan = 3_000.0  # local level 1–2
    city: Yuan = 5_000.0  # local level 3
    province: Yuan = 10_000.0  # out of area (any level)


class BenefitPolicy(_Model):
    """A region's patient cost-sharing rules (one TOML file, domain.md §9)."""

    name: str
    description: str = ""
    region: str = ""
    deductible: DeductiblePolicy = Field(default_factory=DeductiblePolicy)
    ratio: RatioPolicy = Field(default_factory=RatioPolicy)
    basic: BasicPolicy = Field(default_factory=BasicPolicy)
    critical: CriticalPolicy = Field(default_factory=CriticalPolicy)
    assistance: AssistancePolicy = Field(default_factory=AssistancePolicy)
    safety_net: SafetyNetPolicy = Field(default_factory=SafetyNetPolicy)

    def with_overrides(self, overrides: dict[str, Any], label: str = "<overrides>") -> BenefitPolicy:
        """A new policy with ``overrides`` (nested dict) merged in and re-validated."""
        from .policy import merge_overrides

        return validate_benefit_policy(merge_overrides(self.model_dump(), overrides), label)


# --- errors -------------------------------------------------------------------------------------


def validate_benefit_policy(data: dict[str, Any], file: str = "<benefit policy>") -> BenefitPolicy:
    """Validate a parsed benefit-policy dict; :class:`PolicyError` names file, key, allowed."""
    try:
        return BenefitPolicy.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, file, BenefitPolicy) from None


def benefit_preset_path(name: str) -> Path:
    """Path of a shipped benefit preset (``benefits_example``)."""
    return Path(str(resources.files("payment") / "presets" / f"{name}.toml"))


def load_benefit_policy(source: str | Path) -> BenefitPolicy:
    """Load and validate a benefit policy from a TOML path or a preset name (§9)."""
    text = str(source)
    if text in BENEFIT_PRESETS:
        path = benefit_preset_path(text)
    else:
        path = Path(source)
        if not path.exists():
            raise PolicyError(text, "", "no such benefit policy file or preset",
                              ", ".join(BENEFIT_PRESETS))
    data = read_toml(path)
    return validate_benefit_policy(data, str(path))
