"""The library against the independent reference on the bundled sample region (issue 11).

``sample_cases/cases.csv`` (13,887 discharges, 32 hospitals, 2023–2025) is grouped with the demo
scheme as ``drgsim demo`` does (``grouper.group(..., keep_columns=True)``); the library side is
``drgsim.pipeline.price_grouped`` (weights from 2023–2024, the 2025 cases priced) and
``payment.settle``; the reference side (tests/ref_payment) gets the same cases as plain
records. Every option of :data:`test_payment_reference.OPTIONS` is compared in the stages its
layer acts in (the defaults in all four), with the helpers of that file: classes and points to
1e-9 relative, every money amount to the cent, special-review reasons as text.

The sample records what patients paid, so every option runs on the patient-payment basis;
``defaults_no_patient_paid`` drops that column to compare the ÷ reimbursement-ratio basis too;
``demo_policy_zhejiang_drg`` is the policy ``drgsim demo`` runs on the sample.
The region's knobs are fixed (:data:`KNOBS`, :data:`SAMPLE_BASE`): under the defaults 4
hospitals save and 28 overspend, the 4 % reserve caps the sharing (scaled by 0.909) and the
scores sit on every rung of the release table. Options the sample's data never reach are listed
in :data:`IDLE_ON_SAMPLE`, each with a sample variant in :data:`SAMPLE_OPTIONS` that acts.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from ref_payment import merge, ref_policy, ref_price, ref_settle, ref_weights
from test_payment_reference import (
    LAYER_STAGES,
    OPTIONS,
    Diff,
    compare_pricing,
    compare_settlement,
    compare_weights,
    library_policy,
    overrides_for,
    ref_from_library_priced,
    ref_from_library_weights,
)

import grouper
import payment
from drgsim.pipeline import price_grouped

SETTLEMENT_YEAR = 2025
#: a budget of 0.98 × the cases' fee-for-service fund amount; assessment scores by hospital
#: rank (sorted ids) cycle through the release table's rungs (0 %, 50 %, 100 %), every fifth
#: hospital on the default score
SCORES = (50.0, 70.0, 85.0, 97.5)
KNOBS = {"budget_factor": 0.98, "reserve_rate": 0.04}
#: under every option (unless it sets its own): the sample's fund share of total cost
#: (1 − Σ patient_paid ÷ Σ total_cost = 0.7106 in 2025), so the fund-basis budget ÷ ratio is a
#: total-cost pool as §13 means it, and hospitals both save and overspend
SAMPLE_BASE: dict[str, Any] = {"point_value": {"reimbursement_ratio": 0.71}}

#: options that change nothing on the sample (its data never reach the rule), with why; each
#: has a sample variant below that does
IDLE_ON_SAMPLE = {
    "newborn_age_40": "no newborn candidate in the sample is 29–40 days old",
    "quota_half_up": "a 10 % yearly quota never binds (≤ 1 candidate in 20 cases)",
    "quota_ceiling": "a 5 % yearly quota never binds",
    "quota_per_quarter": "a 50 % quarterly quota never binds",
    "readmission_exempt": "no readmission in an A group",
}
#: sample variants of the idle options, acting on the sample's own candidates and readmissions
SAMPLE_OPTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("sample_quota_quarter_2pct_floor",
     {"special_review": {"quota_period": "quarter", "quota_rate": 0.02}}, "pricing"),
    ("sample_quota_quarter_2pct_half_up",
     {"special_review": {"quota_period": "quarter", "quota_rate": 0.02,
                         "quota_rounding": "half_up"}}, "pricing"),
    ("sample_quota_quarter_2pct_ceiling",
     {"special_review": {"quota_period": "quarter", "quota_rate": 0.02,
                         "quota_rounding": "ceiling"}}, "pricing"),
    ("sample_readmission_exempt_FR_ES", {"readmission": {"exempt_prefixes": ["FR", "ES"]}},
     "pricing"),
    ("sample_newborn_age_3", {"special_review": {"newborn_max_age_days": 3}}, "pricing"),
]

#: the policy keys the reference models (docs/payment.md); a preset's other keys are names,
#: dates and DIP-only tables
REFERENCE_KEYS = ("method", "weights", "coefficients", "outliers", "incomplete", "exclusions",
                  "input_checks", "bed_day", "readmission", "ungroupable", "special_review",
                  "point_value")


def demo_policy_option() -> dict[str, Any]:
    """The policy ``drgsim demo`` prices the sample with (the zhejiang_drg preset, its pool
    fund + recorded patient payments), as overrides in the reference's keys; the settlement
    section (the preset has none) and the budget come from the comparison's own BASE/knobs."""
    pol = payment.load_policy("zhejiang_drg").with_overrides(
        {"point_value": {"pool": "fund_plus_patient_paid"}})
    dump = pol.model_dump(mode="json")
    assert dump["incentives"] == {"group": {}, "hospital": {}}  # the reference has none
    return {k: dump[k] for k in REFERENCE_KEYS}


#: (name, option, layer, patient_paid recorded): OPTIONS and the sample variants on the
#: sample's recorded payments, the demo's policy, and the defaults without patient payments
CASES = [(n, o, layer, True) for n, o, layer in OPTIONS + SAMPLE_OPTIONS] + [
    ("demo_policy_zhejiang_drg", demo_policy_option(), "all", True),
    ("defaults_no_patient_paid", {}, "all", False)]


def _value(v: Any) -> Any:
    """A cell as the reference takes it: missing (pd.NA, NaT, nan) → None."""
    return None if v is None or v is pd.NA or v is pd.NaT or (
        isinstance(v, float) and math.isnan(v)) else v


def records(grouped: pd.DataFrame, patient_paid: bool) -> list[dict[str, Any]]:
    """Grouped cases as the reference's records (ref_payment.pricing): group code in ``drg``,
    grouper status text, ISO dates, the discharge month, missing values as None."""
    out = []
    for r in grouped.to_dict("records"):
        adm, dis = _value(r["admission_date"]), _value(r["discharge_date"])
        rec = {
            "case_id": str(r["case_id"]), "hospital_id": str(r["hospital_id"]),
            "hospital_level": int(r["hospital_level"]), "year": int(r["year"]),
            "drg": str(r["drg"]), "status": str(r["status"]),
            "total_cost": float(r["total_cost"]), "los": int(r["los"]),
            "discharge_mode": int(r["discharge_mode"]),
            "month": dis.month if dis is not None else 0,
            "patient_id": _value(r["patient_id"]),
            "admission_date": adm.date().isoformat() if adm is not None else None,
            "discharge_date": dis.date().isoformat() if dis is not None else None,
            "birth_weight": _value(r["birth_weight"]), "age_days": _value(r["age_days"]),
            "new_tech_cost": _value(r["new_tech_cost"]),
        }
        if patient_paid:
            rec["patient_paid"] = float(r["patient_paid"])
        out.append(rec)
    return out


class SampleRegion:
    """The grouped sample, its reference records and the runs of both sides, each computed
    once per (option, patient-payment basis) and shared by the stages."""

    def __init__(self, grouped: pd.DataFrame) -> None:
        years = pd.to_numeric(grouped["year"])
        self.grouped = {True: grouped, False: grouped.drop(columns=["patient_paid"])}
        hist = records(grouped[years < SETTLEMENT_YEAR], patient_paid=False)
        cur = grouped[years == SETTLEMENT_YEAR]
        hospitals = sorted(cur["hospital_id"].astype(str).unique())
        scores = {h: SCORES[i % len(SCORES)] for i, h in enumerate(hospitals) if i % 5}
        self.region = {pp: {"history": hist, "cases": records(cur, pp), "has_pp": pp,
                            "knobs": {**KNOBS, "scores": scores}} for pp in (True, False)}
        self._lib: dict[tuple[str, bool], tuple] = {}
        self._ref_w: dict[tuple[str, bool], Any] = {}

    def policies(self, option: dict[str, Any], pp: bool) -> tuple[dict[str, Any],
                                                                  payment.Policy]:
        over = overrides_for(merge(SAMPLE_BASE, option), self.region[pp])
        return ref_policy(over), library_policy(over)

    def library(self, name: str, option: dict[str, Any], pp: bool) -> tuple:
        """(weights, priced, settlement) of the library: ``drgsim`` pipeline, then settle."""
        if (name, pp) not in self._lib:
            _, lpol = self.policies(option, pp)
            py = price_grouped(self.grouped[pp], lpol, SETTLEMENT_YEAR, label="sample")
            self._lib[(name, pp)] = (py.weights, py.priced, payment.settle(py.priced, lpol))
        return self._lib[(name, pp)]

    def ref_weights(self, name: str, option: dict[str, Any], pp: bool) -> Any:
        if (name, pp) not in self._ref_w:
            rpol, _ = self.policies(option, pp)
            self._ref_w[(name, pp)] = ref_weights(self.region[pp]["history"], rpol)
        return self._ref_w[(name, pp)]


@pytest.fixture(scope="module")
def sample(sample_cases: pd.DataFrame, demo_scheme: Any) -> SampleRegion:
    return SampleRegion(grouper.group(sample_cases, demo_scheme, keep_columns=True))


def test_sample_region_as_described(sample: SampleRegion):
    """The comparison runs on the region the brief names: 32 hospitals, weights from 2023–2024,
    2025 settled, with ungroupable, LOS and newborn cases in it."""
    g = sample.grouped[True]
    assert len(g) == 13_887 and g["hospital_id"].nunique() == 32
    assert sorted(pd.to_numeric(g["year"]).unique()) == [2023, 2024, 2025]
    w, priced, _ = sample.library("defaults", {}, True)
    assert w.years == [2023, 2024] and len(priced) == 4_837
    classes = set(priced["case_class"].astype(str))
    assert {"normal", "high", "low", "ungroupable", "readmission"} <= classes


def _params() -> list[Any]:
    return [pytest.param(name, option, stage, pp, id=f"{name}-{stage}")
            for name, option, layer, pp in CASES for stage in LAYER_STAGES[layer]]


@pytest.mark.parametrize(("name", "option", "stage", "pp"), _params())
def test_library_agrees_with_reference_on_sample(sample: SampleRegion, name, option, stage, pp):
    rpol, lpol = sample.policies(option, pp)
    region = sample.region[pp]
    lw, lp, ls = sample.library(name, option, pp)
    d = Diff()
    if stage == "weights":
        compare_weights(d, sample.ref_weights(name, option, pp), lw)
    elif stage == "pricing":
        compare_pricing(d, ref_price(region["cases"], ref_from_library_weights(lw), rpol), lp)
    elif stage == "settlement":
        rw = ref_from_library_weights(lw)
        compare_settlement(d, ref_settle(ref_from_library_priced(lp, region["cases"]), rw, rpol),
                           ls)
    else:
        w = sample.ref_weights(name, option, pp)
        compare_settlement(d, ref_settle(ref_price(region["cases"], w, rpol), w, rpol), ls)
    d.check()


def _outcome(sample: SampleRegion, name: str, option: dict[str, Any], pp: bool) -> tuple:
    rpol, _ = sample.policies(option, pp)
    w = sample.ref_weights(name, option, pp)
    p = ref_price(sample.region[pp]["cases"], w, rpol)
    r = ref_settle(p, w, rpol)
    return ([(o["case_class"], round(o["points"], 9), o["payment"], o["sr_approved"]) for o in p],
            r["hospitals"], r["advances"], r["summary"])


def test_every_option_changes_the_sample_outcome(sample: SampleRegion):
    """No sample comparison is vacuous: each option changes the reference's classes, points,
    payments or settlement of the sample region (else it could not tell the option from the
    defaults there)."""
    base = _outcome(sample, "defaults", {}, True)
    idle = [name for name, option, _, pp in CASES[1:]
            if _outcome(sample, name, option, pp) == base]
    assert sorted(idle) == sorted(IDLE_ON_SAMPLE)
