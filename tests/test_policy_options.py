"""The §13 option keys (issue 11): defaults, validation messages, and docs/payment.md's table."""

from __future__ import annotations

import re

import pytest
from shared_data import ROOT

import payment

#: key → (default, a valid alternative, an invalid value, text the error's allowed list shows)
OPTIONS = {
    "weights.rw_decimals": (4, 2, 13, "<= 12"),
    "weights.rw_rounding": ("half_up", "none", "up", "'half_up', 'none'"),
    "ungroupable.points": ("fee_for_service", "zero", "none", "'fee_for_service', 'zero'"),
    "outliers.low_with_coefficient": (True, False, "yes", "true or false"),
    "outliers.comparison_base": ("region", "same_level", "level", "'region', 'same_level'"),
    "deviation.comparison_years": ("previous_year", "weighted", "last",
                                   "'previous_year', 'weighted'"),
    "deviation.with_coefficient": (False, True, "yes", "true or false"),
    "dip.aux_coefficients": ("apply", "ignore", "on", "'apply', 'ignore'"),
    "special_review.newborn_max_age_days": (28, 30, -1, ">= 0"),
    "special_review.quota_rounding": ("floor", "ceiling", "round",
                                      "'floor', 'half_up', 'ceiling'"),
    "special_review.conversion": ("settlement_pv", "mean_cost", "pv",
                                  "'settlement_pv', 'budget_pv', 'mean_cost'"),
    "point_value.decimals": (4, 0, 20, "<= 12"),
    "point_value.rounding": ("half_up", "none", "floor", "'half_up', 'none'"),
    "point_value.pool": ("fund_over_ratio", "fund_plus_patient_paid", "fund",
                         "'fund_over_ratio', 'fund_plus_patient_paid'"),
    "settlement.sharing_beyond_reserve": ("pro_rata", "pay_in_full", "cap",
                                          "'pro_rata', 'pay_in_full'"),
    "settlement.assessment.deposit_base": ("after_tiers", "entitlement", "ffs",
                                           "'after_tiers', 'entitlement'"),
    "settlement.assessment.forfeited": ("returned", "reserve", "kept", "'returned', 'reserve'"),
}


def nested(key: str, value) -> dict:
    *tables, last = key.split(".")
    out: dict = {last: value}
    for t in reversed(tables):
        out = {t: out}
    return out


def get(policy, key: str):
    obj = policy
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def base():
    return payment.load_policy("national_drg", {"settlement": {}})


@pytest.mark.parametrize("key", sorted(OPTIONS))
def test_option_default_alternative_and_error(key):
    default, alt, bad, allowed = OPTIONS[key]
    assert get(base(), key) == default
    assert get(base().with_overrides(nested(key, alt)), key) == alt
    with pytest.raises(payment.PolicyError) as info:
        base().with_overrides(nested(key, bad), "p.toml")
    msg = str(info.value)
    assert msg.startswith(f"p.toml: {key}:") and allowed in msg, msg


def test_docs_table_lists_every_option_with_its_default():
    text = (ROOT / "docs" / "payment.md").read_text("utf-8")
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| [^|]+ \| [^|]+ \| `?([^|`]+?)`? \|$", text, re.M))
    for key, (default, *_rest) in OPTIONS.items():
        assert key in rows, key
        shown = {True: "true", False: "false"}.get(default, default)
        assert rows[key].strip('"') == str(shown), (key, rows[key])


def test_unknown_new_key_is_refused_with_the_allowed_keys(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('name = "t"\nkind = "drg"\n[ungroupable]\npoint = "zero"\n', encoding="utf-8")
    with pytest.raises(payment.PolicyError) as info:
        payment.load_policy(path)
    assert str(info.value) == f"{path}: ungroupable.point: unknown key (allowed: points)"
