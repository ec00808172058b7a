"""The ``[settlement]`` table of a policy TOML: budget, reserve, advances, tiers, assessment.

Validated data only; the money rules that read it live in :mod:`payment.settlement`
(domain.md §8 and §13). Units: yuan for amounts, fractions (0.05 = 5 %) for rates and shares,
points for points, assessment scores on the region's own scale (usually 0–100).

Sign convention of the tier tables (domain.md §13): the *tier ratio* of a budget holder is
``(fee-for-service fund amount − entitlement) ÷ base``, so a **positive ratio is an overspend**
(the hospital spent more than it is paid) and a **negative ratio is a surplus**. ``base`` is the
fee-for-service fund amount by default, or the entitlement (``tier_ratio_base = "entitlement"``,
as in the §8 per-case-quota example). Each row ``(lower, upper, fund_share)`` gives the fund's
part of the slice of the ratio that lies inside ``[lower, upper)``: on the overspend side the
fund pays that part of the overspend to the hospital (from the reserve); on the surplus side the
fund takes that part of the surplus back (the hospital retains ``1 − fund_share``). Ratios in a
gap between rows have fund share 0 (overspend borne by the hospital, surplus retained).

Example (§8 quota rule with ``tier_ratio_base = "entitlement"``)::

    [[settlement.tiers]]          # saving beyond 10 %: the fund takes it all back
    lower = -inf
    upper = -0.1
    fund_share = 1.0
    [[settlement.tiers]]          # saving within 10 %: hospital keeps 30 % (≤ 3 % of the quota)
    lower = -0.1
    upper = 0.0
    fund_share = 0.7
    [[settlement.tiers]]          # overspend within 20 %: fund pays half
    lower = 0.0
    upper = 0.2
    fund_share = 0.5
    [[settlement.tiers]]          # beyond 20 %: nothing
    lower = 0.2
    upper = inf
    fund_share = 0.0
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "MAX_YUAN",
    "AllianceBudget",
    "AssessmentPolicy",
    "BudgetPolicy",
    "ReleaseRow",
    "SettlementPolicy",
    "TierRow",
]


MAX_YUAN = 1e12
"""Largest money amount (yuan) settlement accepts: one trillion, several times the yearly fund of
the largest pooling region. It bounds a budget, the budget on the total-cost basis (budget ÷
reimbursement ratio), each alliance budget and their total, and each money column's total over
the settled cases (:func:`payment.settlement.prepare`, :func:`payment.settlement.encode`).
1e12 yuan = 1e14 cents, inside float64's exact integers (2**53 ≈ 9e15), so such amounts still
round to the cent (the half-up nudge of a few ulps stays a small fraction of a cent), and sums
of the few dozen per-hospital amounts derived from them stay far below the int64 limit
(9.2e18 cents). Larger inputs are rejected instead of overflowing the cents arithmetic."""


class _Model(BaseModel):
    # Numbers must be finite unless a field says otherwise (tier bounds may be ±inf).
    # strict: no text read as a number or a flag; lists of a TOML file may still fill tuples
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


#: an assessment score (score units): finite, 0 … 1,000 (regions score out of 100 or 1,000)
Score = Annotated[float, Field(ge=0.0, le=1_000.0)]


class TierRow(_Model):
    """One retention/sharing tier: the fund's share of the ratio slice in ``[lower, upper)``."""

    lower: float = Field(
        -math.inf, allow_inf_nan=True, description="lower bound of the tier ratio (fraction)"
    )
    upper: float = Field(
        math.inf, allow_inf_nan=True, description="upper bound of the tier ratio (fraction)"
    )
    fund_share: float = Field(
        ..., ge=0.0, le=1.0, description="fund's part of the slice inside this tier (fraction)"
    )

    @model_validator(mode="after")
    def _bounds(self) -> TierRow:
        if math.isnan(self.lower) or math.isnan(self.upper):
            raise ValueError("tier bounds must be numbers (use inf / -inf for open ends)")
        if not self.lower < self.upper:
            raise ValueError(f"tier lower ({self.lower}) must be below upper ({self.upper})")
        return self


def _check_tiers(rows: tuple[TierRow, ...], where: str) -> tuple[TierRow, ...]:
    """Tiers must be sorted by ``lower`` and must not overlap (touching bounds are fine)."""
    for i in range(1, len(rows)):
        prev, row = rows[i - 1], rows[i]
        if row.lower < prev.lower:
            raise ValueError(
                f"{where}[{i}]: rows must be sorted by lower bound "
                f"({row.lower} comes after {prev.lower})"
            )
        if row.lower < prev.upper:
            raise ValueError(
                f"{where}[{i}]: row [{row.lower}, {row.upper}) overlaps the previous row "
                f"[{prev.lower}, {prev.upper})"
            )
    return rows


class BudgetPolicy(_Model):
    """The year's DRG/DIP budget (domain.md §8): a given amount, or prior-year actual × (1 + growth).

    With ``mode = "growth"`` and no ``prior_year_actual`` the settlement takes the fee-for-service
    fund amount of the settled cases themselves as the prior-year actual (a planner's baseline
    when only one year is at hand); :func:`payment.settlement.settle` also accepts it as an
    argument. With ``mode = "amount"`` and no ``amount`` the policy's ``point_value.budget`` is
    used.
    """

    mode: Literal["growth", "amount"] = "growth"
    amount: float | None = Field(
        None, ge=0.0, le=MAX_YUAN, description="budget (yuan), mode = amount"
    )
    prior_year_actual: float | None = Field(
        None, ge=0.0, le=MAX_YUAN,
        description="prior-year actual fund expenditure (yuan), mode = growth",
    )
    growth: float = Field(
        0.0, gt=-1.0, le=10.0, description="budget growth over the prior year (fraction, -1 < g <= 10)"
    )

    @model_validator(mode="after")
    def _bounded(self) -> BudgetPolicy:
        if self.prior_year_actual is not None:
            budget = self.prior_year_actual * (1.0 + self.growth)
            if not budget <= MAX_YUAN:
                raise ValueError(
                    f"budget: prior_year_actual × (1 + growth) = {budget:.6g} yuan exceeds "
                    f"the largest amount settlement accepts ({MAX_YUAN:.0e} yuan)"
                )
        return self


class ReleaseRow(_Model):
    """Assessment mapping row: a score of at least ``min_score`` releases ``release`` of the deposit."""

    min_score: float = Field(
        ..., allow_inf_nan=True, description="lowest score of this row (score units; -inf: any)"
    )
    release: float = Field(..., ge=0.0, le=1.0, description="share of the deposit released")

    @field_validator("min_score")
    @classmethod
    def _not_nan(cls, v: float) -> float:
        if math.isnan(v):
            raise ValueError("min_score must be a number")
        return v


class AssessmentPolicy(_Model):
    """Quality deposit withheld from each hospital and released by its assessment score (§8).

    ``deposit_rate`` × entitlement is withheld at clearing; the released share follows the score:
    ``mapping = "table"`` takes the row with the largest ``min_score`` ≤ score (0 below the first
    row); ``mapping = "linear"`` releases ``clip((score − zero_score) ÷ (full_score − zero_score),
    0, 1)``. The deposit base is max(entitlement + tier adjustment, 0) (§13; ``deposit_base =
    "entitlement"``: max(entitlement, 0)); the forfeited part returns to the fund (§13;
    ``forfeited = "reserve"``: it stays in the reserve).
    """

    deposit_rate: float = Field(0.0, ge=0.0, le=1.0, description="deposit ÷ deposit base")
    deposit_base: Literal["after_tiers", "entitlement"] = Field(
        "after_tiers", description="§13: entitlement + tier adjustment (default) or entitlement"
    )
    forfeited: Literal["returned", "reserve"] = Field(
        "returned", description="§13: forfeited deposits return to the fund or stay in the reserve"
    )
    mapping: Literal["table", "linear"] = "table"
    release: tuple[ReleaseRow, ...] = Field((ReleaseRow(min_score=0.0, release=1.0),), strict=False)
    zero_score: Score = Field(60.0, description="linear mapping: score releasing nothing")
    full_score: Score = Field(100.0, description="linear mapping: score releasing everything")
    default_score: Score = Field(100.0, description="score of a hospital not listed in scores")
    scores: dict[str, Score] = Field(default_factory=dict, description="hospital_id → score")

    @field_validator("release")
    @classmethod
    def _sorted_rows(cls, rows: tuple[ReleaseRow, ...]) -> tuple[ReleaseRow, ...]:
        for i in range(1, len(rows)):
            if rows[i].min_score <= rows[i - 1].min_score:
                raise ValueError(
                    f"assessment.release[{i}]: min_score must increase "
                    f"({rows[i].min_score} after {rows[i - 1].min_score})"
                )
        return rows

    @model_validator(mode="after")
    def _linear(self) -> AssessmentPolicy:
        if self.mapping == "linear" and not self.zero_score < self.full_score:
            raise ValueError("assessment: zero_score must be below full_score")
        return self


class AllianceBudget(_Model):
    """A medical alliance (医共体) paid as one budget holder (issue 5 item 3, domain.md §8).

    Budget = ``per_capita`` × ``population`` (yuan). Every settled case of the alliance's insured
    (``alliance_id`` on the case; members' cases when the column is absent), wherever treated, is
    charged against it at its settled fund amount. The alliance's result (budget − charged) is
    split by its own ``tiers`` (same sign convention and ratio base as the hospital tiers, with
    "charged" in place of the fee-for-service amount and "budget" in place of the entitlement);
    the alliance's part is paid to (or deducted from) its members pro rata to their entitlement.
    """

    id: str = Field(..., min_length=1)
    members: tuple[str, ...] = Field(..., min_length=1, strict=False, description="member hospital_ids")
    per_capita: float = Field(..., ge=0.0, le=MAX_YUAN, description="budget per insured person (yuan)")
    population: int = Field(..., ge=0, le=2_000_000_000, description="insured population (persons)")
    tiers: tuple[TierRow, ...] = Field((), strict=False)

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, rows: tuple[TierRow, ...]) -> tuple[TierRow, ...]:
        return _check_tiers(rows, "alliance.tiers")

    @model_validator(mode="after")
    def _bounded(self) -> AllianceBudget:
        budget = self.per_capita * self.population
        if not budget <= MAX_YUAN:
            raise ValueError(
                f"alliance {self.id!r}: budget per_capita × population = {budget:.6g} yuan "
                f"exceeds the largest amount settlement accepts ({MAX_YUAN:.0e} yuan)"
            )
        return self


class SettlementPolicy(_Model):
    """Settlement parameters of one pooling region and year (domain.md §8, defaults per §13).

    Point-value keys (basis, reimbursement ratio, whether the reserve is withheld before the
    point value) belong to the policy's ``[point_value]`` table; this table holds the rest.
    """

    budget: BudgetPolicy = BudgetPolicy()
    reserve_rate: float | None = Field(
        None, ge=0.0, lt=1.0, description="reserve ÷ budget; None: point_value.reserve_rate (0.05)"
    )
    advance_ratio: float = Field(
        0.85, ge=0.0, le=1.0, description="monthly advance ÷ provisional fund amount"
    )
    point_value_mode: Literal["floating", "fixed"] = Field(
        "floating",
        description="floating: settlement point value from the fund (§13); "
        "fixed: cases' payment at the policy's point value / base rate",
    )
    tier_ratio_base: Literal["ffs", "entitlement"] = Field(
        "ffs", description="denominator of the tier ratio (§13 default: fee-for-service amount)"
    )
    tiers: tuple[TierRow, ...] = Field((), strict=False)
    sharing_beyond_reserve: Literal["pro_rata", "pay_in_full"] = Field(
        "pro_rata", description="§13: sharing the reserve cannot cover is scaled pro rata, or "
        "paid in full with the excess drawn from the fund line",
    )
    assessment: AssessmentPolicy = AssessmentPolicy()
    alliances: tuple[AllianceBudget, ...] = Field((), strict=False)
    alliance_members_tiered: bool = Field(
        False, description="also apply the hospital tiers to alliance members"
    )
    exclude_classes: tuple[str, ...] = Field(
        ("excluded",), strict=False, description="case classes paid outside the DRG/DIP budget"
    )
    rounding: Literal["half_up", "half_even"] = Field(
        "half_up", description="rounding of each per-hospital amount to 0.01 yuan (§13: half-up)"
    )

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, rows: tuple[TierRow, ...]) -> tuple[TierRow, ...]:
        return _check_tiers(rows, "settlement.tiers")

    @model_validator(mode="after")
    def _alliances(self) -> SettlementPolicy:
        seen_ids: set[str] = set()
        owner: dict[str, str] = {}
        for a in self.alliances:
            if a.id in seen_ids:
                raise ValueError(f"settlement.alliances: duplicate alliance id {a.id!r}")
            seen_ids.add(a.id)
            for h in a.members:
                if h in owner:
                    raise ValueError(
                        f"settlement.alliances: hospital {h!r} is in both {owner[h]!r} and {a.id!r}"
                    )
                owner[h] = a.id
        total = sum(a.per_capita * a.population for a in self.alliances)
        if not total <= MAX_YUAN:
            raise ValueError(
                f"settlement.alliances: budgets total {total:.6g} yuan, above the largest "
                f"amount settlement accepts ({MAX_YUAN:.0e} yuan)"
            )
        return self
