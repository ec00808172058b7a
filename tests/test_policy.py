"""Policy TOML: presets load, bad files are rejected with file, dotted key and allowed values."""

from __future__ import annotations

import pytest

import payment
from payment.policy import PRESETS, preset_path


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_and_every_key_is_sourced(name):
    p = payment.load_policy(name)
    assert p.name == name and p.source.endswith(f"{name}.toml")
    for line in preset_path(name).read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if s.split(" ")[0] in ("name", "description", "region"):
            continue  # labels, not rules
        if s and not s.startswith("#") and "=" in s and not s.startswith("["):
            assert "#" in s and ("§" in s or "assumption" in s), f"unsourced key: {s}"


def test_preset_semantics():
    zj, jh = payment.load_policy("zhejiang_drg"), payment.load_policy("jinhua_drg")
    assert zj.incomplete.with_coefficient and not jh.incomplete.with_coefficient
    assert (zj.readmission.window_days, jh.readmission.window_days) == (15, 10)
    assert zj.special_review.quota_rate == 0.005 and zj.special_review.newborn_max_weight_g == 1500
    nat = payment.load_policy("national_drg")
    assert nat.special_review.quota_rate == 0.05
    assert [b.multiple for b in nat.outliers.high_bands] == [3.0, 2.0, 1.5]
    dip = payment.load_policy("national_dip")
    assert (dip.kind, dip.group_col, dip.deviation.low, dip.deviation.high,
            dip.deviation.review) == ("dip", "dip_group", 0.5, 2.0, 5.0)
    assert "(unverified)" in preset_path("national_drg").read_text(encoding="utf-8")


def write(tmp_path, body):
    path = tmp_path / "p.toml"
    path.write_text('name = "t"\nkind = "drg"\n' + body, encoding="utf-8")
    return path


def err(tmp_path, body):
    with pytest.raises(payment.PolicyError) as info:
        payment.load_policy(write(tmp_path, body))
    return str(info.value)


def test_unknown_key_names_file_key_and_allowed(tmp_path):
    msg = err(tmp_path, "[outliers]\nlow_multipel = 0.3\n")
    assert msg == (f"{tmp_path / 'p.toml'}: outliers.low_multipel: unknown key (allowed: "
                   "enabled, high_bands, low_multiple, low_rule, low_with_coefficient, "
                   "comparison_base, high_over_incomplete)")


def test_wrong_type_and_literal(tmp_path):
    msg = err(tmp_path, '[outliers]\nlow_multiple = "a lot"\n')
    assert "p.toml: outliers.low_multiple: Input should be a valid number" in msg
    assert "(allowed: a number >= 0 and < 1)" in msg
    msg = err(tmp_path, '[coefficients]\nmode = "ward"\n')
    assert "coefficients.mode: Input should be 'hospital', 'level' or 'none'" in msg
    assert "(allowed: 'hospital', 'level', 'none')" in msg


def test_unsorted_or_overlapping_bands(tmp_path):
    bands = ("[[outliers.high_bands]]\nmax_base_points = 300\nmultiple = 2.0\n"
             "[[outliers.high_bands]]\nmax_base_points = 100\nmultiple = 3.0\n"
             "[[outliers.high_bands]]\nmultiple = 1.5\n")
    msg = err(tmp_path, bands)
    assert msg.endswith("outliers.high_bands: bands overlap or are unsorted: max_base_points "
                        "[300.0, 100.0] (allowed: strictly increasing max_base_points)")
    dup = bands.replace("max_base_points = 100", "max_base_points = 300")
    assert "bands overlap or are unsorted" in err(tmp_path, dup)
    closed = "[[outliers.high_bands]]\nmax_base_points = 100\nmultiple = 3.0\n"
    assert "the last band must be open" in err(tmp_path, closed)
    mid_open = "[[outliers.high_bands]]\nmultiple = 3.0\n" + closed
    assert "band 1 has no max_base_points but is not the last" in err(tmp_path, mid_open)


def test_low_threshold_not_below_high(tmp_path):
    body = ("[outliers]\nlow_multiple = 0.9\n[[outliers.high_bands]]\nmultiple = 1.5\n")
    assert payment.load_policy(write(tmp_path, body)).outliers.low_multiple == 0.9
    body = ("[outliers]\nlow_multiple = 0.9\n[[outliers.high_bands]]\nmultiple = 0.8\n")
    msg = err(tmp_path, body)
    assert "outliers.high_bands.0.multiple: Input should be greater than 1" in msg
    dip = err(tmp_path, "[deviation]\nhigh = 5.0\nreview = 4.0\n")
    assert "deviation.review: review threshold 4.0 not above high 5.0" in dip


def test_weights_quota_and_exclusions_contradictions(tmp_path):
    msg = err(tmp_path, "[weights]\nyear_weights = [0.1, 0.2, 0.9]\n")
    assert "weights.year_weights: fractional year weights are shares and must sum to 1" in msg
    assert "weights.year_weights" in err(tmp_path, "[weights]\nyear_weights = [0, 0]\n")
    msg = err(tmp_path, "[weights]\nyear_weights = [1, 2]\nhistory_years = [2023, 2022]\n")
    assert "weights.history_years: years must be strictly increasing" in msg
    msg = err(tmp_path, "[special_review]\nquota_rate = 1.5\n")
    assert "special_review.quota_rate: Input should be less than or equal to 1" in msg
    assert "(allowed: a number >= 0 and <= 1)" in msg
    msg = err(tmp_path, "[exclusions]\nlos_min = 60\nlos_max = 2\n")
    assert "exclusions.los_min: los_min 60 is not below los_max 2 (allowed: los_min < los_max)" \
        in msg
    msg = err(tmp_path, '[point_value]\nsource = "fixed"\n')
    assert "point_value.value: source = 'fixed' needs a point value" in msg


def test_missing_required_key_bad_toml_and_missing_file(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('kind = "drg"\n', encoding="utf-8")
    with pytest.raises(payment.PolicyError, match=r"x.toml: name: required key is missing"):
        payment.load_policy(path)
    path.write_text("name = \n", encoding="utf-8")
    with pytest.raises(payment.PolicyError, match="x.toml: invalid TOML"):
        payment.load_policy(path)
    with pytest.raises(payment.PolicyError, match="no such policy file or preset"):
        payment.load_policy("nowhere_drg")


def test_with_overrides_revalidates_and_keeps_original():
    base = payment.load_policy("zhejiang_drg")
    new = base.with_overrides({"readmission": {"window_days": 10}})
    assert (base.readmission.window_days, new.readmission.window_days) == (15, 10)
    assert new.readmission.factor == base.readmission.factor
    with pytest.raises(payment.PolicyError, match=r"\+ overrides: readmission.factor"):
        base.with_overrides({"readmission": {"factor": 2}})


def test_settlement_table_is_carried():
    p = payment.load_policy("national_drg", {"settlement": {}})
    assert p.settlement is not None


@pytest.mark.parametrize(("body", "key", "got", "allowed"), [
    ('[outliers]\nlow_multiple = "0.4"\n', "outliers.low_multiple", "'0.4'", "a number >= 0 and < 1"),
    ('[readmission]\nenabled = "yes"\n', "readmission.enabled", "'yes'", "true or false"),
    ('[point_value]\nsource = "fixed"\nvalue = inf\n', "point_value.value", "inf",
     "a number > 0 and <= 1e+06 (or omit)"),
    ('[point_value]\nsource = "budget"\nbudget = inf\n', "point_value.budget", "inf",
     "a number > 0 and <= 1e+12 (or omit)"),
    ('[point_value]\nsource = "fixed"\nvalue = nan\n', "point_value.value", "nan",
     "a number > 0 and <= 1e+06 (or omit)"),
])
def test_strict_finite_bounded_values(tmp_path, body, key, got, allowed):
    """Text is never coerced to a number or a flag, and inf/nan never reach the money."""
    msg = err(tmp_path, body)
    assert msg.startswith(f"{tmp_path / 'p.toml'}: {key}: ")
    assert f"(got {got})" in msg and f"(allowed: {allowed})" in msg


def test_out_of_range_incentive_and_whole_number_float(tmp_path):
    msg = err(tmp_path, "[incentives.group]\nAB1 = 1e308\n")
    assert "incentives.group.AB1: Input should be less than or equal to 100 (got 1e+308)" in msg
    # a TOML integer is a valid yuan amount; a TOML date or ISO text a valid date
    p = payment.load_policy(write(tmp_path, '[point_value]\nsource = "fixed"\nvalue = 10\n'))
    assert p.point_value.value == 10.0
    p = payment.load_policy(write(tmp_path, 'effective_from = "2025-01-01"\n'))
    assert str(p.effective_from) == "2025-01-01"
