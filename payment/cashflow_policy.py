"""The ``[cashflow]`` table: the pooled fund month by month (domain.md §8a), validated data only.

The money rules that read it live in :mod:`payment.cashflow`. Units: yuan for amounts, months for
cover and reserve thresholds, fractions (0.03 = 3 %) for growth rates. Every threshold and
schedule of §8a is a key here with the §8a default:

* fund eligibility for prepayment: cover ≥ 12 months (employees) or ≥ 6 months (residents), no
  deficit last year nor a projected one this year;
* prepayment = ``months`` (1) × the hospital's average monthly fund payments over the previous
  ``history_years`` (1) years, paid in January, optionally only to hospitals scoring at least
  ``min_score``; recovered ``at_clearing`` (default), in ``monthly`` deductions or ``rollover``;
* the year-end clearing is paid in ``clearing_month`` (5 = May) of the next year;
* months of reserve alert strictly below ``reserve_alert_months`` (6).

Example::

    [cashflow]
    clearing_month = 5
    [cashflow.prepayment]
    months = 1.0
    recovery = "monthly"
    [[cashflow.funds]]
    id = "employee"
    type = "employee"
    opening_balance = 36_000_000.0
    income = 2_600_000.0                  # yuan per month (or a list, January first)
    other_spending = 1_500_000.0
    history_expenditure = [2_400_000.0]   # last year's monthly expenditure (up to 12, oldest first)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .policy import KeyedValueError, PolicyError, validation_error
from .scenario import Distribution
from .toml_files import read_toml

__all__ = [
    "AssignPolicy",
    "CashflowMonteCarlo",
    "CashflowPolicy",
    "CoverMonths",
    "FundSeries",
    "PrepaymentPolicy",
    "WhatIf",
    "load_cashflow_policy",
    "validate_cashflow_policy",
]

MAX_YUAN = 1e12
FUND_TYPES = ("employee", "resident")
RECOVERY_RULES = ("at_clearing", "monthly", "rollover")

#: a yuan amount, possibly negative (a fund balance in deficit)
SignedYuan = Annotated[float, Field(ge=-MAX_YUAN, le=MAX_YUAN)]
#: a yuan amount ≥ 0 (income, spending)
Yuan = Annotated[float, Field(ge=0.0, le=MAX_YUAN)]
Months = Annotated[float, Field(ge=0.0, le=120.0)]
Growth = Annotated[float, Field(ge=-0.99, le=10.0)]


class _Model(BaseModel):
    # strict: no TOML text read as a number or flag; finite numbers only
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class CoverMonths(_Model):
    """Months of expenditure the accumulated balance must cover for prepayment, per fund type."""

    employee: Months = 12.0
    resident: Months = 6.0


class PrepaymentPolicy(_Model):
    """预付金 (national notice of 2024-11-11): eligibility, size and recovery (§8a)."""

    enabled: bool = True
    months: float = Field(1.0, ge=0.0, le=12.0, description="k months of average payments")
    history_years: int = Field(1, ge=1, le=3, description="years Y−h … Y−1 averaged")
    min_cover: CoverMonths = Field(default_factory=CoverMonths)
    require_no_deficit: bool = True
    min_score: float | None = Field(None, ge=-1e6, le=1e6,
                                    description="assessment score needed (None: every hospital)")
    scores: dict[str, Annotated[float, Field(ge=-1e6, le=1e6)]] = Field(default_factory=dict)
    recovery: Literal["at_clearing", "monthly", "rollover"] = "at_clearing"
    instalments: int = Field(12, ge=1, le=12, description="monthly deductions, January first")


class FundSeries(_Model):
    """One insurance type's pooled fund: opening balance, income and other spending (yuan)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,40}$")
    type: Literal["employee", "resident"]
    label: str = ""
    opening_balance: SignedYuan
    income: Yuan | list[Yuan] = Field(
        description="yuan per month: one value, 12 (January–December, repeated after December) "
                    "or one per ledger month")
    other_spending: Yuan | list[Yuan] = 0.0
    history_expenditure: list[Yuan] = Field(
        default_factory=list, max_length=12,
        description="monthly expenditure of the months before January, oldest first (≤ 12)")
    deficit_last_year: bool = False
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="policy overrides for this fund's settlement")


class AssignPolicy(_Model):
    """Which fund pays a case: a case column, or a stable hash of the patient (synthetic data)."""

    rule: Literal["column", "patient_hash"] = "column"
    column: str = "insurance_type"
    shares: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(default_factory=dict)


class WhatIf(_Model):
    """A named what-if: growth of the input series, prepayment size and rule, volume noise."""

    label: str
    income_growth: Growth = 0.0
    spending_growth: Growth = 0.0
    prepayment_months: float | None = Field(None, ge=0.0, le=12.0)
    recovery: Literal["at_clearing", "monthly", "rollover"] | None = None
    volume_sd: float = Field(0.0, ge=0.0, le=1.0)
    seed: int = Field(0, ge=0, le=2**63 - 1)


class CashflowMonteCarlo(BaseModel):
    """Seeded draws of growth rates and monthly volume noise (fractions)."""

    # containers stay lax (a TOML list is a tuple here); every number is strict and finite
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    draws: int = Field(200, ge=1, le=100_000, strict=True)
    seed: int = Field(0, ge=0, le=2**63 - 1, strict=True)
    income_growth: Distribution = Distribution()
    spending_growth: Distribution = Distribution()
    volume_sd: float = Field(0.0, ge=0.0, le=1.0, strict=True,
                             description="sd of each hospital-month's noise")
    prepayment_months: float | None = Field(None, ge=0.0, le=12.0, strict=True,
                                            description="k for every draw (None: the policy's)")
    recovery: Literal["at_clearing", "monthly", "rollover"] | None = None
    percentiles: tuple[Annotated[float, Field(ge=0.0, le=100.0, strict=True)], ...] = (
        5.0, 25.0, 50.0, 75.0, 95.0)


class CashflowPolicy(_Model):
    """The fund month by month (domain.md §8a): funds, prepayment, clearing calendar, alerts."""

    clearing_month: int = Field(5, ge=1, le=12, description="calendar month of the next year")
    reserve_alert_months: Months = 6.0
    special_review_lag_months: int = Field(0, ge=0, le=12)
    after_year_advances: Literal["none", "repeat"] = Field(
        "none", description="next year's advances in the months up to the clearing: none (§8a "
                            "ledger), or repeat = this year's gross advances of that month")
    prepayment: PrepaymentPolicy = Field(default_factory=PrepaymentPolicy)
    funds: list[FundSeries] = Field(min_length=1)
    assign: AssignPolicy = Field(default_factory=AssignPolicy)
    whatifs: list[WhatIf] = Field(default_factory=list)
    monte_carlo: CashflowMonteCarlo | None = None

    @model_validator(mode="after")
    def _check(self) -> CashflowPolicy:
        ids = [f.id for f in self.funds]
        for i, fid in enumerate(ids):
            if fid in ids[:i]:
                raise KeyedValueError(f"funds.{i}.id", f"duplicate fund id {fid!r}",
                                      "one entry per fund")
        n = self.n_months
        for i, f in enumerate(self.funds):
            for key in ("income", "other_spending"):
                v = getattr(f, key)
                if isinstance(v, list) and len(v) not in (12, n):
                    raise KeyedValueError(f"funds.{i}.{key}",
                                          f"{len(v)} monthly values",
                                          f"one number, 12 values or {n} (one per ledger month)")
        if self.assign.rule == "patient_hash":
            if set(self.assign.shares) != set(ids):
                raise KeyedValueError("assign.shares", "give one share per fund",
                                      ", ".join(ids))
            if abs(sum(self.assign.shares.values()) - 1.0) > 1e-9:
                raise KeyedValueError("assign.shares", "shares must add up to 1",
                                      "fractions summing to 1")
        return self

    @property
    def n_months(self) -> int:
        """Ledger months: January … December, then next year's months up to the clearing."""
        return 12 + self.clearing_month


def validate_cashflow_policy(data: dict[str, Any], file: str = "<cashflow>") -> CashflowPolicy:
    """Validate a parsed ``[cashflow]`` dict; :class:`PolicyError` names file, key, allowed."""
    try:
        return CashflowPolicy.model_validate(data)
    except ValidationError as exc:
        err = validation_error(exc, file, CashflowPolicy)
        key = f"cashflow.{err.key}" if err.key else "cashflow"
        raise PolicyError(file, key, err.reason, err.allowed) from None


def load_cashflow_policy(path: str | Path) -> CashflowPolicy:
    """Load the ``[cashflow]`` table of a TOML file (or a file holding only that table)."""
    path = Path(path)
    data = read_toml(path)
    return validate_cashflow_policy(data.get("cashflow", data), str(path))
