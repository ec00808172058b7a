"""Request and response models of the preview service (the OpenAPI schema is generated here).

A case uses the canonical column names of :mod:`grouper.schema`; diagnoses and procedures are
JSON arrays with one code per element (principal / main first). Types are checked here; values
that are well-typed but impossible (sex 3, negative age) are the grouper's to judge, so the
answer says ``CHECK_FAILED`` exactly as ``grouper.group`` would.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Code = Annotated[str, StringConstraints(max_length=64)]
Text = Annotated[str, StringConstraints(max_length=200)]
# bounds only keep numbers inside the kernels' int64 / float64; plausibility is the grouper's
Int = Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000)]
Num = Annotated[float, Field(ge=-1e15, le=1e15)]


class CaseIn(BaseModel):
    """One inpatient case (canonical fields, :data:`grouper.schema.CASE_COLUMNS`)."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,  # NaN / Infinity literals are not costs or ages
        json_schema_extra={"examples": [{
            "case_id": "Z0001", "hospital_id": "H001", "hospital_level": 3, "sex": 1, "age": 63,
            "los": 9, "discharge_mode": 1, "diagnoses": ["I21.000", "I10.x00"],
            "procedures": ["36.0601"], "total_cost": 38000.0,
        }]},
    )

    case_id: Text | None = Field(None, description="case identifier; the position when absent")
    hospital_id: Text | None = Field(None, description="medical institution code")
    hospital_level: Int | None = Field(None, description="hospital level 1/2/3")
    patient_id: Text | None = Field(None, description="insured person identifier")
    sex: Int | None = Field(..., description="1 male, 2 female")
    age: Int | None = Field(..., description="age in completed years")
    age_days: Int | None = Field(None, description="age in days (newborns)")
    birth_weight: Int | None = Field(None, description="birth weight in grams")
    dept: Text | None = Field(None, description="department code")
    los: Int | None = Field(None, description="length of stay in days")
    icu_hours: Int | None = Field(None, description="hours in intensive care (regional field)")
    icu: bool | None = Field(None, description="intensive-care stay flag (a special-review reason)")
    discharge_mode: Int | None = Field(
        None, description="1 home, 2 transfer, 3 community, 4 death, 5 against advice, 9 other")
    diagnoses: list[Code] = Field(..., min_length=1, description="diagnosis codes, principal first")
    procedures: list[Code] = Field(default_factory=list, description="procedure codes, main first")
    total_cost: Num | None = Field(None, description="total cost so far, yuan")
    admission_date: dt.date | None = None
    discharge_date: dt.date | None = Field(None, description="(expected) discharge date")
    month: Int | None = Field(None, description="discharge month 1-12 (when there is no "
                              "discharge date)")
    year: Int | None = None
    patient_paid: Num | None = Field(None, description="amount paid by the patient, yuan")
    new_tech_cost: Num | None = Field(None, description="new drug / device / technology cost")
    new_tech: bool | None = Field(None, description="new drug / technology flag")
    alliance_id: Text | None = None

    @field_validator("diagnoses", "procedures")
    @classmethod
    def _one_code_per_element(cls, v: list[str]) -> list[str]:
        # '|' and ',' separate codes in the canonical text form; inside one element they would
        # silently become two codes
        for k, code in enumerate(v):
            if "|" in code or "," in code:
                raise ValueError(f"element {k} holds more than one code ({code!r}); "
                                 "send one code per array element")
        return v


class BatchIn(BaseModel):
    """Up to the service's batch limit of cases."""

    model_config = ConfigDict(extra="forbid")
    cases: list[CaseIn]


class GroupOut(BaseModel):
    """Where the case lands; names come from the scheme (``None`` when it has none)."""

    mdc: str
    mdc_name: str | None
    adrg: str
    adrg_name: str | None
    drg: str
    drg_name: str | None


class ThresholdsOut(BaseModel):
    """Costs at which the case would change class, at its group's comparison mean."""

    group_mean_cost: float | None = Field(description="the r denominator, yuan")
    high_multiple: float | None = Field(description="r at which the case turns high-multiple")
    high_cost: float | None = Field(description="total cost at which it turns high-multiple")
    yuan_to_high: float | None = Field(description="high_cost − total_cost (≤ 0: already high)")
    low_multiple: float | None
    low_cost: float | None = Field(description="total cost at or below which it is low-multiple")
    yuan_above_low: float | None = Field(description="total_cost − low_cost (≤ 0: low)")
    high_inclusive: bool = Field(description="true: r equal to high_multiple is already high")


class SpecialReviewOut(BaseModel):
    """特例单议 eligibility under the policy (the quota is applied at settlement, not here)."""

    eligible: bool
    reasons: list[str]


class PaymentOut(BaseModel):
    """Price under the policy (``payment.price`` columns for this case)."""

    policy: str
    case_class: str
    class_reason: str
    r: float | None = Field(description="total cost ÷ group comparison mean")
    weight: float | None = Field(description="relative weight (RW) or DIP score ÷ scale")
    base_points: float | None
    coefficient: float | None
    points: float = Field(description="expected points (before special review)")
    point_value: float | None = Field(description="yuan per point used")
    point_value_source: str
    payment: float = Field(description="expected payment, yuan")
    gain: float = Field(description="payment − total cost, yuan")
    small_group: bool


class DipOut(BaseModel):
    """Where the case lands in the DIP catalogue (``grouper.dip.group`` columns); DIP only."""

    dip_group: str
    dip_type: str = Field(description="core, comprehensive or unmatched")
    score: float | None
    aux_level: str
    aux_coefficient: float | None
    final_score: float | None


class PatientShareOut(BaseModel):
    """The case's layers under the benefit policy (yuan, to the cent); total_cost = basic +
    critical + assistance + safety_net + oop exactly."""

    policy: str
    compliant: float = Field(description="policy-scope (compliant) cost, yuan")
    deductible: float = Field(description="deductible charged on this stay, yuan")
    basic: float = Field(description="basic medical insurance fund, yuan")
    critical: float = Field(description="critical-illness insurance (大病保险), yuan")
    assistance: float = Field(description="medical assistance (医疗救助), yuan")
    safety_net: float = Field(description="safety net (兜底), yuan")
    oop: float = Field(description="the patient's out-of-pocket, yuan")
    ratio: float = Field(description="basic-fund ratio applied")
    reasons: list[str] = Field(description="referral applied, out-of-area cut, cap reached …")


class PreviewOut(BaseModel):
    """The preview of one case."""

    case_id: str
    status: str
    group: GroupOut
    warnings: list[str] = Field(description="code normalisation and input checks")
    payment: PaymentOut | None = Field(description="absent when the service has no weights")
    thresholds: ThresholdsOut | None
    special_review: SpecialReviewOut | None
    dip: DipOut | None = Field(None, description="only under a DIP policy; status is then the "
                               "DIP grouper's")
    explanation: dict[str, Any] | None = Field(None, description="only with ?explain=true")
    patient_share: PatientShareOut | None = Field(
        None, description="only from /v1/preview/patient (a service started with --benefits)")


class BatchOut(BaseModel):
    """Previews in input order."""

    count: int
    results: list[PreviewOut]


class HealthOut(BaseModel):
    status: str


class VersionOut(BaseModel):
    """Identities of what the service was started with."""

    drgsim: str
    scheme: dict[str, Any]
    policy: dict[str, Any] | None
    weights: dict[str, Any] | None


class ErrorOut(BaseModel):
    """Every error answer: a message, and for 422 the field and the problem."""

    error: str
    detail: list[dict[str, Any]] | None = None
