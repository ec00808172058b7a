"""The library against the independent reference (tests/ref_payment), issue 11 item 4.

Hypothesis draws small regions (2–4 hospitals, 2–4 DRGs, 1–3 history years, one settlement
year) and random policy knobs; each option of domain.md §13 (docs/payment.md keys) is one
parametrised case. One override dict drives both sides. Required: classes and points equal to
1e-9 relative, every money amount equal to the cent.

Stages are compared separately so a difference is found where it arises:

* ``weights``: ``compute_weights`` vs ``ref_weights`` on the same history;
* ``pricing``: ``price`` vs ``ref_price`` given the library's weights (converted);
* ``settlement``: ``settle`` vs ``ref_settle`` given the library's priced cases (converted);
* ``pipeline``: history → weights → prices → settlement independently on both sides.

Without the issue-11 fixes every library comparison is marked xfail: on main (ba47fbd) each
one fails (RW and the point value are not published to 4 decimals, ungroupable cases get 0
points, the §13 option keys do not exist, forfeited deposits stay in the reserve, a negative
point value is billed, …: issue 11). Against the issue-11 branch
(i11 at 672381d) all agree except ``fixed_point_value-settlement`` and
``fixed_point_value-pipeline``: with a fixed point value the library sums the per-case payments
already rounded to the cent, the reference rounds each hospital's points × point value once
(§13 "Money"); main now does the same. The marks follow the code: once the library has the §13 option keys
(``ISSUE11_MERGED``) only :data:`KNOWN_DIFFERENCES` stay marked.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from ref_payment import RefWeights, merge, ref_policy, ref_price, ref_settle, ref_weights

import payment

INF = math.inf
HOSPITALS = (("H1", 3), ("H2", 2), ("H3", 3), ("H4", 1))
GROUPS = ("A1", "B1", "C3", "D5")
YEARS = (2021, 2022, 2023)
MULTIPLES = (0.2, 0.35, 0.45, 0.8, 1.0, 1.0, 1.1, 1.6, 2.3, 3.4, 6.0)

TIERS = [
    {"lower": -INF, "upper": -0.1, "fund_share": 1.0},
    {"lower": -0.1, "upper": 0.0, "fund_share": 0.7},
    {"lower": 0.0, "upper": 0.2, "fund_share": 0.5},
    {"lower": 0.2, "upper": INF, "fund_share": 0.0},
]

#: every policy states these (so defaults the library and the reference model differently for
#: keys §13 does not decide never matter); the option under test is merged on top
BASE: dict[str, Any] = {
    "readmission": {"enabled": True, "window_days": 15, "factor": 0.5},
    "special_review": {"enabled": True, "los_limit": 60, "cost_multiple": 3.0,
                       "newborn_max_weight_g": 1500.0, "newborn_region_multiple": 0.5,
                       "newborn_group_multiple": 0.8, "new_tech": True, "ungroupable": True,
                       "small_groups": True, "icu": False, "quota_rate": 0.25,
                       "quota_period": "year", "approval_rate": 1.0,
                       "repricing": "fee_for_service", "deduction_share": 0.0},
    "point_value": {"source": "history", "reserve_rate": 0.05, "reserve_withheld": True,
                    "reimbursement_ratio": 1.0},
    "settlement": {"advance_ratio": 0.85, "tiers": TIERS,
                   "assessment": {"deposit_rate": 0.05, "mapping": "table",
                                  "release": [{"min_score": 0.0, "release": 0.0},
                                              {"min_score": 60.0, "release": 0.5},
                                              {"min_score": 85.0, "release": 1.0}],
                                  "default_score": 90.0}},
}

#: (name, overrides, layer): the layer an option acts in decides the stages it is compared in
#: (weights → weights, pricing, pipeline; pricing → pricing, settlement, pipeline; settlement →
#: settlement, pipeline; the defaults in all four)
OPTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("defaults", {}, "all"),
    ("rw_decimals_2", {"weights": {"rw_decimals": 2}}, "weights"),
    ("rw_unrounded", {"weights": {"rw_rounding": "none"}}, "weights"),
    ("per_case_years", {"weights": {"year_weighting": "per_case"}}, "weights"),
    ("trim_iqr", {"weights": {"trim": "iqr", "trim_k": 0.5, "trim_min_cases": 4}}, "weights"),
    ("trim_sd", {"weights": {"trim": "sd", "trim_k": 1.0, "trim_min_cases": 4}}, "weights"),
    ("trim_percentile", {"weights": {"trim": "percentile", "trim_lower": 0.1,
                                     "trim_upper": 0.9, "trim_min_cases": 4}}, "weights"),
    ("level_coefficients", {"coefficients": {"mode": "level"}}, "weights"),
    ("coefficient_bounds", {"coefficients": {"min": 0.8, "max": 1.2, "min_cases": 2}},
     "weights"),
    ("ungroupable_zero", {"ungroupable": {"points": "zero"}}, "pricing"),
    ("low_without_coefficient", {"outliers": {"low_with_coefficient": False}}, "pricing"),
    ("r_same_level", {"outliers": {"comparison_base": "same_level"}}, "pricing"),
    ("incomplete_zhejiang", {"incomplete": {"enabled": True}}, "pricing"),
    ("incomplete_jinhua_high_first", {"incomplete": {"enabled": True, "with_coefficient": False},
                                      "outliers": {"high_over_incomplete": True}}, "pricing"),
    ("los_exclusions", {"exclusions": {"los_min": 1, "los_max": 60}}, "pricing"),
    ("readmission_same_hospital", {"readmission": {"same_hospital": True, "window_days": 10}},
     "pricing"),
    ("newborn_age_40", {"special_review": {"newborn_max_age_days": 40}}, "pricing"),
    ("quota_half_up", {"special_review": {"quota_rounding": "half_up", "quota_rate": 0.1}},
     "pricing"),
    ("quota_ceiling", {"special_review": {"quota_rounding": "ceiling", "quota_rate": 0.05}},
     "pricing"),
    ("coefficients_none", {"coefficients": {"mode": "none"}}, "pricing"),
    ("bed_day_prefix", {"bed_day": {"prefixes": ["B"]}, "exclusions": {"los_min": 1}},
     "pricing"),
    ("readmission_exempt", {"readmission": {"exempt_prefixes": ["A"]}}, "pricing"),
    ("provisional_from_budget", {"point_value": {"source": "budget"}}, "pricing"),
    ("review_coefficient", {"special_review": {"repricing": "review_coefficient",
                                               "review_coefficient": 1.5}}, "pricing"),
    ("quota_per_quarter", {"special_review": {"quota_period": "quarter", "quota_rate": 0.5}},
     "pricing"),
    ("approval_half_deduction", {"special_review": {"approval_rate": 0.5,
                                                    "deduction_share": 0.1}}, "pricing"),
    ("conversion_budget_pv", {"special_review": {"conversion": "budget_pv"}}, "settlement"),
    ("conversion_mean_cost", {"special_review": {"conversion": "mean_cost"}}, "settlement"),
    ("pv_decimals_2", {"point_value": {"decimals": 2}}, "settlement"),
    ("pv_unrounded", {"point_value": {"rounding": "none"}}, "settlement"),
    ("pool_plus_patient_paid", {"point_value": {"pool": "fund_plus_patient_paid"}},
     "settlement"),
    ("reimbursement_ratio_0_7", {"point_value": {"reimbursement_ratio": 0.7}}, "settlement"),
    ("no_reserve_withheld", {"point_value": {"reserve_withheld": False}}, "settlement"),
    ("rate_method", {"method": "rate"}, "settlement"),
    ("fixed_point_value", {"settlement": {"point_value_mode": "fixed"}}, "settlement"),
    ("sharing_pay_in_full", {"settlement": {"sharing_beyond_reserve": "pay_in_full"}},
     "settlement"),
    ("tier_base_entitlement", {"settlement": {"tier_ratio_base": "entitlement"}}, "settlement"),
    ("deposit_on_entitlement", {"settlement": {"assessment": {"deposit_base": "entitlement"}}},
     "settlement"),
    ("forfeited_to_reserve", {"settlement": {"assessment": {"forfeited": "reserve"}}},
     "settlement"),
    ("budget_growth", {"settlement": {"budget": {"mode": "growth", "growth": 0.05}}},
     "settlement"),
    ("linear_release", {"settlement": {"assessment": {"mapping": "linear"}}}, "settlement"),
]
LAYER_STAGES = {
    "all": ("weights", "pricing", "settlement", "pipeline"),
    "weights": ("weights", "pricing", "pipeline"),
    "pricing": ("pricing", "settlement", "pipeline"),
    "settlement": ("settlement", "pipeline"),
}
#: the issue-11 option keys exist (the branch is merged): compare unmarked from then on
ISSUE11_MERGED = "rw_decimals" in payment.policy.WeightsPolicy.model_fields
#: options whose comparison still differs on the issue-11 branch (i11 at 672381d), with why
KNOWN_DIFFERENCES: dict[str, str] = {}  # fixed point value: fixed on main (points × PV, once)
#: hypothesis examples per (option, stage): the whole file stays under a minute on a shared core
EXAMPLES = 3
XFAIL_REASON = "issue 11: main does not follow domain.md §13 here yet"


# ------------------------------------------------------------------------------- strategies


@st.composite
def regions(draw: st.DrawFn, salt: int = 0) -> dict[str, Any]:
    """History rows, settlement-year cases and the random policy knobs of one small region.

    Derandomized hypothesis gives every parametrisation of a test the same random stream;
    ``salt`` leading draws shift it, so each (option, stage) sees regions of its own."""
    for _ in range(salt):
        draw(st.integers(0, 1 << 30))
    n_h = draw(st.integers(2, 4))
    n_g = draw(st.integers(2, 4))
    hospitals = HOSPITALS[:n_h]
    groups = GROUPS[:n_g]
    years = YEARS[3 - draw(st.integers(1, 3)):]
    scale = {g: draw(st.sampled_from([2_000, 5_000, 12_000, 40_000])) for g in groups}
    history = []
    for y in years:
        for h, lvl in hospitals:
            for g in groups:
                for _ in range(draw(st.integers(0, 4))):
                    m = draw(st.sampled_from(MULTIPLES))
                    cents = draw(st.integers(-50_000, 50_000))
                    history.append({"drg": g, "hospital_id": h, "hospital_level": lvl,
                                    "year": y, "los": draw(st.integers(1, 30)),
                                    "total_cost": max(round(scale[g] * m + cents / 100, 2), 1.0),
                                    "status": "SUCCESS"})
    # every group has at least one case in the newest year
    for g in groups:
        h, lvl = hospitals[0]
        history.append({"drg": g, "hospital_id": h, "hospital_level": lvl, "year": years[-1],
                        "los": 7, "total_cost": float(scale[g]), "status": "SUCCESS"})
    # stays history leaves out: a failed grouping's "0000", an ambiguous "GQY" (never groups)
    for _ in range(draw(st.integers(0, 2))):
        h, lvl = draw(st.sampled_from(hospitals))
        code, status = draw(st.sampled_from([("0000", "CHECK_FAILED"), ("GQY", "QY")]))
        history.append({"drg": code, "hospital_id": h, "hospital_level": lvl,
                        "year": years[-1], "los": 5, "total_cost": 3_000.0, "status": status})
    has_pp = draw(st.booleans())
    cases = []
    n = draw(st.integers(6, 28))
    for i in range(n):
        h, lvl = draw(st.sampled_from(hospitals))
        kind = draw(st.sampled_from(["ok"] * 8 + ["nogroup", "fail", "qy", "unknown",
                                                "failed_0000", "qy_gqy"]))
        g = draw(st.sampled_from(groups))
        cost = max(round(scale[g] * draw(st.sampled_from(MULTIPLES))
                         + draw(st.integers(-50_000, 50_000)) / 100, 2), 1.0)
        los = draw(st.sampled_from([0, 1, 2, 5, 9, 14, 30, 60, 61, 75]))
        adm = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 280)))
        dis = adm + dt.timedelta(days=los)
        row = {
            "case_id": f"c{i:03d}", "hospital_id": h, "hospital_level": lvl, "year": 2024,
            "drg": {"nogroup": "", "unknown": "Z9", "failed_0000": "0000",
                    "qy_gqy": "GQY"}.get(kind, g),
            "status": {"fail": "FAIL", "qy": "QY", "failed_0000": "CHECK_FAILED",
                       "qy_gqy": "QY"}.get(kind, "SUCCESS"),
            "total_cost": cost, "los": los, "discharge_mode": draw(st.sampled_from([1, 1, 1, 2,
                                                                                   4, 5])),
            "month": dis.month, "patient_id": f"P{draw(st.integers(0, max(2, n // 3)))}",
            "admission_date": adm.isoformat(), "discharge_date": dis.isoformat(),
            "birth_weight": draw(st.sampled_from([math.nan, math.nan, 1_200.0, 1_499.0,
                                                  1_500.0])),
            "age_days": draw(st.sampled_from([math.nan, 3.0, 28.0, 29.0, 35.0])),
            "new_tech": draw(st.sampled_from([False] * 6 + [True])),
        }
        if has_pp:
            row["patient_paid"] = round(cost * draw(st.sampled_from([0.0, 0.1, 0.3])), 2)
        cases.append(row)
    knobs = {
        "budget_factor": draw(st.sampled_from([0.1, 0.6, 0.9, 1.0, 1.15, 1.6])),
        "reserve_rate": draw(st.sampled_from([0.0, 0.01, 0.05])),
        "scores": {h: draw(st.sampled_from([50.0, 70.0, 85.0, 97.5])) for h, _ in hospitals},
    }
    return {"history": history, "cases": cases, "knobs": knobs, "has_pp": has_pp}


def overrides_for(option: dict[str, Any], region: dict[str, Any]) -> dict[str, Any]:
    """BASE + the option + the drawn budget (a share of the cases' fee-for-service fund amount)."""
    k = region["knobs"]
    over = merge(BASE, option)
    ratio = over["point_value"]["reimbursement_ratio"]
    ffs = sum((c["total_cost"] - c["patient_paid"]) if region["has_pp"] else c["total_cost"] * ratio
              for c in region["cases"])
    budget = round(max(ffs, 1_000.0) * k["budget_factor"], 2)
    extra: dict[str, Any] = {"point_value": {"reserve_rate": k["reserve_rate"]},
                             "settlement": {"assessment": {"scores": k["scores"]}}}
    if over.get("settlement", {}).get("budget", {}).get("mode") != "growth":
        extra["settlement"]["budget"] = {"mode": "amount", "amount": budget}
    if over["point_value"]["source"] == "budget":
        extra["point_value"]["budget"] = budget
    return merge(over, extra)


def library_policy(over: dict[str, Any]) -> payment.Policy:
    return payment.Policy.model_validate({"name": "reference-check", "kind": "drg", **over})


# ------------------------------------------------------------------------------- conversions


def ref_from_library_weights(w: payment.Weights) -> RefWeights:
    out = RefWeights(points_scale=w.points_scale, region_mean=w.region_mean_cost,
                     budget_pv=w.budget_point_value, years=list(w.years),
                     year_weights=list(w.year_weights))
    for r in w.groups.to_dict("records"):
        out.groups[str(r["group"])] = {k: r[k] for k in (
            "cases", "kept_cases", "mean_cost", "mean_los", "rw", "base_points", "small", "cv",
            "stable", "daily_points")}
    for r in w.hospital_groups.to_dict("records"):
        out.hospital_groups[(str(r["hospital_id"]), str(r["group"]))] = {
            "cases": r["cases"], "mean_cost": r["mean_cost"], "coefficient": r["coefficient"]}
    for r in w.level_groups.to_dict("records"):
        out.level_groups[(int(r["hospital_level"]), str(r["group"]))] = {
            "cases": r["cases"], "mean_cost": r["mean_cost"], "coefficient": r["coefficient"]}
    return out


def ref_from_library_priced(p: pd.DataFrame, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ypp = float(p.attrs.get("yuan_per_point", math.nan))
    out = []
    for row, c in zip(p.to_dict("records"), cases, strict=True):
        bp = float(row["base_points"])
        out.append({
            "case_id": row["case_id"], "hospital_id": row["hospital_id"],
            "month": int(row["month"]), "case_class": str(row["case_class"]),
            "points": float(row["points"]), "total_cost": float(row["total_cost"]),
            "patient_paid": c.get("patient_paid"), "yuan_per_point": ypp,
            "sr_approved": bool(row["sr_approved"]),
            "sr_amount": Decimal(repr(float(row["sr_amount"]))),
            "group_known": math.isfinite(bp), "base_points": bp,
        })
    return out


def library_priced(cases: list[dict[str, Any]], w: payment.Weights,
                   pol: payment.Policy) -> pd.DataFrame:
    df = pd.DataFrame(cases)
    p = payment.price(df, w, pol)
    if "patient_paid" in df.columns:
        p["patient_paid"] = df["patient_paid"].to_numpy()
    return p


# ------------------------------------------------------------------------------- comparison


class Diff:
    """Collects mismatches; ``check()`` fails naming the first ones (the first differing number)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def num(self, what: str, ref: float, lib: float, rel: float = 1e-9) -> None:
        ref, lib = float(ref), float(lib)
        if math.isnan(ref) and math.isnan(lib):
            return
        if not (abs(ref - lib) <= rel * max(abs(ref), abs(lib)) + 1e-12):
            self.items.append(f"{what}: reference {ref!r} library {lib!r}")

    def cent(self, what: str, ref: Any, lib: Any) -> None:
        r = Decimal(repr(float(ref))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        x = Decimal(repr(float(lib))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if r != x:
            self.items.append(f"{what}: reference {r} library {x}")

    def eq(self, what: str, ref: Any, lib: Any) -> None:
        if ref != lib:
            self.items.append(f"{what}: reference {ref!r} library {lib!r}")

    def check(self) -> None:
        if self.items:
            raise AssertionError(f"{len(self.items)} difference(s); first: "
                                 + "; ".join(self.items[:4]))


def compare_weights(d: Diff, ref: RefWeights, lib: payment.Weights) -> None:
    d.num("region_mean_cost", ref.region_mean, lib.region_mean_cost)
    d.num("budget_point_value", ref.budget_pv, lib.budget_point_value)
    g = lib.groups.set_index("group")
    d.eq("groups", sorted(ref.groups), sorted(g.index))
    for name, r in ref.groups.items():
        if name not in g.index:
            continue
        row = g.loc[name]
        for col in ("mean_cost", "rw", "base_points"):
            d.num(f"{name}.{col}", r[col], row[col])
        for col in ("cases", "kept_cases", "small", "stable"):
            d.eq(f"{name}.{col}", bool(r[col]) if col in ("small", "stable") else int(r[col]),
                 bool(row[col]) if col in ("small", "stable") else int(row[col]))
    hg = {(str(r["hospital_id"]), str(r["group"])): r["coefficient"]
          for r in lib.hospital_groups.to_dict("records")}
    for key, r in ref.hospital_groups.items():
        d.num(f"coefficient{key}", r["coefficient"], hg.get(key, math.nan))


def compare_pricing(d: Diff, ref: list[dict[str, Any]], lib: pd.DataFrame) -> None:
    for o, row in zip(ref, lib.to_dict("records"), strict=True):
        cid = o["case_id"]
        d.eq(f"{cid}.case_class", o["case_class"], str(row["case_class"]))
        d.num(f"{cid}.points", o["points"], row["points"])
        if o["case_class"] not in ("excluded", "ungroupable"):
            d.num(f"{cid}.coefficient", o["coefficient"], row["coefficient"])
        for col in ("sr_candidate", "sr_applied", "sr_approved"):
            d.eq(f"{cid}.{col}", bool(o[col]), bool(row[col]))
        d.eq(f"{cid}.sr_reasons", "|".join(o["sr_reasons"]), str(row["sr_reasons"]))
        d.cent(f"{cid}.sr_amount", o["sr_amount"], row["sr_amount"])
        d.cent(f"{cid}.payment", o["payment"], row["payment"])


def compare_settlement(d: Diff, ref: dict[str, Any], lib: Any) -> None:
    s, rs = lib.summary, ref["summary"]
    d.num("point_value", rs["point_value"], s["point_value"])
    for k in ("budget", "reserve", "paid", "reserve_kept", "returned", "sharing", "recovered"):
        d.cent(k, rs[k], s[k])
    stmt = lib.statement.set_index("hospital_id")
    d.eq("hospitals", sorted(ref["hospitals"]), sorted(stmt.index))
    for h, r in ref["hospitals"].items():
        if h not in stmt.index:
            continue
        row = stmt.loc[h]
        for col in ("entitlement", "ffs_amount", "sharing", "recovered", "deposit", "release",
                    "final_amount", "advances", "clearing"):
            d.cent(f"{h}.{col}", r[col], row[col])
        if "cmi" in stmt.columns:
            d.num(f"{h}.cmi", r["cmi"], row["cmi"])
    adv = lib.advances.set_index("hospital_id")
    for h, months in ref["advances"].items():
        for m, v in enumerate(months, start=1):
            d.cent(f"{h}.advance m{m:02d}", v, adv.loc[h, f"m{m:02d}"])


# ------------------------------------------------------------------------------------ tests


def _params() -> list[Any]:
    out = []
    for name, option, layer in OPTIONS:
        for stage in LAYER_STAGES[layer]:
            reason = KNOWN_DIFFERENCES.get(name) if ISSUE11_MERGED else XFAIL_REASON
            marks = [pytest.mark.xfail(strict=False, reason=reason)] if reason else []
            out.append(pytest.param(name, option, stage, len(out), marks=marks,
                                    id=f"{name}-{stage}"))
    return out


@pytest.mark.parametrize(("name", "option", "stage", "salt"), _params())
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],  # no shrinking: xfail cases stay cheap
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_library_agrees_with_reference(name, option, stage, salt, data):
    region = data.draw(regions(salt), label="region")
    over = overrides_for(option, region)
    rpol = ref_policy(over)
    lpol = library_policy(over)
    d = Diff()
    lw = payment.compute_weights(pd.DataFrame(region["history"]), lpol)
    if stage == "weights":
        compare_weights(d, ref_weights(region["history"], rpol), lw)
    elif stage == "pricing":
        rw = ref_from_library_weights(lw)
        compare_pricing(d, ref_price(region["cases"], rw, rpol),
                        library_priced(region["cases"], lw, lpol))
    elif stage == "settlement":
        lp = library_priced(region["cases"], lw, lpol)
        rw = ref_from_library_weights(lw)
        compare_settlement(d, ref_settle(ref_from_library_priced(lp, region["cases"]), rw, rpol),
                           payment.settle(lp, lpol))
    else:
        w = ref_weights(region["history"], rpol)
        rp = ref_price(region["cases"], w, rpol)
        compare_settlement(d, ref_settle(rp, w, rpol),
                           payment.settle(library_priced(region["cases"], lw, lpol), lpol))
    d.check()


@pytest.mark.parametrize(("name", "option", "salt"),
                         [(o[0], o[1], i) for i, o in enumerate(OPTIONS)],
                         ids=[o[0] for o in OPTIONS])
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_reference_invariants(name, option, salt, data):
    """The reference itself: budget = paid + reserve kept + returned, advances + clearing =
    final, advances never negative, pro-rata sharing never above the reserve."""
    region = data.draw(regions(salt), label="region")
    over = overrides_for(option, region)
    pol = ref_policy(over)
    w = ref_weights(region["history"], pol)
    r = ref_settle(ref_price(region["cases"], w, pol), w, pol)
    s = r["summary"]
    assert s["budget"] == s["paid"] + s["reserve_kept"] + s["returned"]
    assert s["reserve_kept"] >= 0
    for h, x in r["hospitals"].items():
        assert x["advances"] + x["clearing"] == x["final_amount"], h
        assert sum(r["advances"][h]) == x["advances"]
        assert all(v >= 0 for v in r["advances"][h])
    if pol["settlement"]["sharing_beyond_reserve"] == "pro_rata":
        assert s["sharing"] <= s["reserve"]


def _reference_outcome(option: dict[str, Any], region: dict[str, Any]) -> tuple:
    pol = ref_policy(overrides_for(option, region))
    w = ref_weights(region["history"], pol)
    p = ref_price(region["cases"], w, pol)
    r = ref_settle(p, w, pol)
    return ([(o["case_class"], round(o["points"], 9), o["payment"], o["sr_approved"]) for o in p],
            r["hospitals"], r["advances"], r["summary"])


def test_every_option_changes_some_outcome():
    """No comparison above is vacuous: on up to 200 drawn regions every option changes the
    reference's classes, points, payments or settlement somewhere (else its comparison could
    not tell the option from the default). Derandomized hypothesis still draws other regions
    after the first two when other modules are imported (``import grouper`` is enough) and
    repeats regions, so the sweep draws until every option has acted (examples after that only
    draw) instead of stopping at 10, which sufficed for the whole suite on main but not for
    this file run with test_published_weights.py."""
    idle = {name for name, _, _ in OPTIONS[1:]}

    @settings(max_examples=200, deadline=None, derandomize=True, database=None,
              phases=[Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def sweep(data: st.DataObject) -> None:
        region = data.draw(regions(), label="region")
        if not idle:
            return
        base = _reference_outcome({}, region)
        for name, option, _ in OPTIONS[1:]:
            if name in idle and _reference_outcome(option, region) != base:
                idle.discard(name)

    sweep()
    assert sorted(idle) == []
