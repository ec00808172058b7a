"""The patient's share of one previewed case across the insurance layers (issue 14 item 4).

``POST /v1/preview/patient`` takes ``{"case": <CaseIn>, "patient": <PatientIn>, "history":
[<StayIn>, ...]}``: the case, the patient's benefit facts (insurance, category, referral,
out-of-area filing, self-pay amounts) and optionally the person-year's earlier stays. The
stays and the case go through :func:`payment.cost_sharing` as one person-year (the earlier
stays first, in discharge order), so deductibles, band ratios, annual caps, critical-illness
bands and the safety net see the year's accumulated burden exactly as the engine does for a
whole region. The answer is the ordinary preview plus ``patient_share`` (the case's row).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .models import CaseIn, PatientShareOut, Text

__all__ = ["PatientIn", "PatientPreviewIn", "PatientShareOut", "StayIn", "patient_share"]

Insurance = Literal["employee", "resident"]
Category = Literal["general", "retiree", "minor", "tekun", "dibao", "dibian", "fanpin"]
Referral = Literal["none", "up", "down", "irregular"]
OutOfArea = Literal["local", "filed", "unfiled"]
Money = Annotated[float, Field(ge=0, le=1e12)]
HISTORY_LIMIT = 366  # stays in one person-year


class PatientIn(BaseModel):
    """The patient's benefit facts for this case (§9; the case schema's benefit inputs)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    insurance: Insurance = Field(description="employee (职工) or resident (居民) insurance")
    category: Category = Field("general", description="person category (人员类别)")
    referral: Referral = Field("none", description="referral flag (转诊标志)")
    out_of_area: OutOfArea = Field("local", description="out-of-area filing (异地就医备案)")
    self_pay: Money = Field(0.0, description="wholly self-paid items (全自费), yuan")
    partial_self_pay: Money = Field(0.0, description="class-B first self-pay (乙类先行自付), "
                                    "yuan")


class StayIn(PatientIn):
    """An earlier stay of the same person in the same year."""

    case_id: Text
    hospital_level: Annotated[int, Field(ge=1, le=3)]
    total_cost: Money
    discharge_date: dt.date


class PatientPreviewIn(BaseModel):
    """A case, the patient's benefit facts and the person-year's earlier stays."""

    model_config = ConfigDict(extra="forbid")
    case: CaseIn
    patient: PatientIn
    history: list[StayIn] = Field(default_factory=list, max_length=HISTORY_LIMIT)


class PatientInputError(ValueError):
    """The case cannot be cost-shared (the message names the field)."""


def share_frame(req: PatientPreviewIn) -> pd.DataFrame:
    """The person-year's stays (history first, then the case) as cost-sharing input."""
    c = req.case
    when = c.discharge_date or (dt.date(c.year, 12, 31) if c.year is not None else None)
    if when is None:
        raise PatientInputError("case.discharge_date (or case.year) is needed for the "
                                "patient's share: the person-year it belongs to")
    if c.hospital_level not in (1, 2, 3):
        raise PatientInputError("case.hospital_level (1, 2 or 3) is needed for the "
                                "patient's share")
    if c.total_cost is None:
        raise PatientInputError("case.total_cost is needed for the patient's share")
    p = req.patient
    rows = [{"case_id": h.case_id, "hospital_level": h.hospital_level,
             "total_cost": h.total_cost, "discharge_date": h.discharge_date.isoformat(),
             **h.model_dump(include=set(PatientIn.model_fields))} for h in req.history]
    case_id = c.case_id or "0"
    if any(r["case_id"] == case_id for r in rows):
        raise PatientInputError(f"history: case_id {case_id!r} is the case itself")
    rows.append({"case_id": case_id, "hospital_level": c.hospital_level,
                 "total_cost": c.total_cost, "discharge_date": when.isoformat(),
                 **p.model_dump()})
    frame = pd.DataFrame(rows)
    years = pd.to_datetime(frame["discharge_date"]).dt.year
    if (years != when.year).any():
        raise PatientInputError(f"history: every earlier stay must be in {when.year}, the "
                                "case's year")
    return frame.assign(patient_id="p")


def patient_share(policy: Any, req: PatientPreviewIn) -> dict[str, Any]:
    """``payment.cost_sharing`` of the person-year; the case's row as the answer object."""
    from payment import cost_sharing

    out = cost_sharing(share_frame(req), policy)
    last = out.iloc[-1]
    money = ("compliant", "deductible", "basic", "critical", "assistance", "safety_net", "oop")
    reasons = str(last["reasons"])
    return {"policy": str(policy.name),
            **{k: round(float(last[k]), 2) for k in money},
            "ratio": float(np.float64(last["ratio"])),
            "reasons": [r for r in reasons.split(";") if r]}
