"""The reference's policy: a plain nested dict with the keys of ``docs/payment.md``.

Defaults are domain.md §13 (and, for keys §13 does not decide, the values a policy file must
state anyway; the comparison tests always state them). One override dict drives both the
reference and the library (``payment.Policy.model_validate({"name", "kind", **overrides})``).
"""

from __future__ import annotations

import copy
import math
from typing import Any

INF = math.inf

DEFAULTS: dict[str, Any] = {
    "kind": "drg",                           # "dip": deviation rules (§5) and [dip] (§7)
    "method": "points",
    "weights": {
        "year_weights": [1.0, 2.0, 7.0],
        "history_years": None,
        "year_weighting": "yearly_means",   # §13; option "per_case"
        "trim": "none",                      # none / iqr / sd / percentile
        "trim_k": 3.0,
        "trim_lower": 0.025,
        "trim_upper": 0.975,
        "trim_min_cases": 10,
        "min_cases": 5,
        "cv_threshold": 1.0,
        "points_scale": 100.0,
        "apply_los_exclusions": True,
        "rw_decimals": 4,                    # §13 Also default
        "rw_rounding": "half_up",            # option "none"
    },
    "coefficients": {"mode": "hospital", "new_group": 1.0, "min_cases": 1, "min": None,
                     "max": None},
    "outliers": {
        "enabled": True,
        "high_bands": [
            {"max_base_points": 100.0, "multiple": 3.0},
            {"max_base_points": 300.0, "multiple": 2.0},
            {"max_base_points": None, "multiple": 1.5},
        ],
        "low_multiple": 0.4,
        "low_rule": "ratio",
        "high_over_incomplete": False,
        "low_with_coefficient": True,        # §13; option false: base × r
        "comparison_base": "region",         # §13; option "same_level"
    },
    # §5 DIP deviation: r < low → score × r, r > high → score × (r − 1), r > review flagged;
    # r against the previous-year mean at the same level; no coefficient on deviation points
    "deviation": {"low": 0.5, "high": 2.0, "review": 5.0, "comparison_base": "same_level",
                  "comparison_years": "previous_year", "with_coefficient": False},
    "dip": {"aux_coefficients": "apply"},   # §7 score × the case's auxiliary coefficient
    "incomplete": {"enabled": False, "discharge_modes": [2, 3, 4, 5], "max_los": None,
                   "with_coefficient": True, "cap_at_base_points": True},
    "exclusions": {"los_min": None, "los_max": None, "payment": "fee_for_service"},
    "input_checks": {"max_cost": 50_000_000.0, "max_los": 3_650.0},
    "bed_day": {"groups": [], "prefixes": [], "daily_points": {}, "with_coefficient": False},
    "readmission": {"enabled": False, "window_days": 15, "factor": 0.5, "exempt_groups": [],
                    "exempt_prefixes": [], "same_hospital": False},
    "ungroupable": {"points": "fee_for_service"},  # §13; option "zero"
    "special_review": {
        "enabled": False,
        "los_limit": None,
        "cost_multiple": None,
        "newborn_max_weight_g": None,
        "newborn_region_multiple": 2.5,
        "newborn_group_multiple": 1.0,
        "newborn_max_age_days": 28,          # §13
        "new_tech": True,
        "ungroupable": True,
        "small_groups": True,
        "dip_review": True,                  # §5 DIP: r > review is a candidate
        "icu": False,
        "quota_rate": 0.05,
        "quota_period": "quarter",
        "quota_rounding": "floor",           # §13; half_up / ceiling
        "approval_rate": 1.0,
        "repricing": "fee_for_service",
        "deduction_share": 0.0,
        "review_coefficient": 1.0,
        "conversion": "settlement_pv",       # §13; budget_pv / mean_cost
    },
    "point_value": {
        "source": "history",
        "value": None,
        "base_rate": None,
        "budget": None,
        "reserve_rate": 0.05,
        "reserve_withheld": True,
        "reimbursement_ratio": 1.0,
        "decimals": 4,                       # §13 Also default
        "rounding": "half_up",               # option "none"
        "pool": "fund_over_ratio",           # §13; option "fund_plus_patient_paid"
    },
    "settlement": {
        "budget": {"mode": "growth", "amount": None, "prior_year_actual": None, "growth": 0.0},
        "reserve_rate": None,
        "advance_ratio": 0.85,
        "point_value_mode": "floating",
        "tier_ratio_base": "ffs",            # §13; option "entitlement"
        "tiers": [],
        "sharing_beyond_reserve": "pro_rata",  # §13; option "pay_in_full"
        "assessment": {
            "deposit_rate": 0.0,
            "deposit_base": "after_tiers",   # §13; option "entitlement"
            "forfeited": "returned",         # §13; option "reserve"
            "mapping": "table",
            "release": [{"min_score": 0.0, "release": 1.0}],
            "zero_score": 60.0,
            "full_score": 100.0,
            "default_score": 100.0,
            "scores": {},
        },
        "exclude_classes": ["excluded"],
    },
}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge, values (lists included) replace."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k not in ("daily_points",
                                                                                "scores"):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def ref_policy(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full reference policy: §13 defaults with ``overrides`` merged in."""
    return merge(DEFAULTS, overrides or {})


def high_threshold(pol: dict[str, Any], base_points: float) -> float:
    """§5/§13: the band whose max_base_points is ≥ base points (a band includes its max)."""
    for band in pol["outliers"]["high_bands"]:
        mx = band.get("max_base_points")
        if mx is None or base_points <= mx:
            return float(band["multiple"])
    raise AssertionError("last band must be open")
