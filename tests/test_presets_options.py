"""Every payment preset loads and spells the §13 option keys (docs/payment.md) at their defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

import payment

PRESETS = sorted(p for p in (Path(payment.__file__).parent / "presets").glob("*.toml")
                 if not p.name.startswith("benefits"))
#: (table, key) of the §13 options every preset states; outliers.* are DRG-only
OPTION_KEYS = [("weights", "rw_decimals"), ("weights", "rw_rounding"),
               ("ungroupable", "points"), ("special_review", "newborn_max_age_days"),
               ("special_review", "quota_rounding"), ("special_review", "conversion"),
               ("point_value", "decimals"), ("point_value", "rounding"), ("point_value", "pool")]
DRG_KEYS = [("outliers", "low_with_coefficient"), ("outliers", "comparison_base")]
#: the DIP options (§5 deviation, §7 auxiliary catalogue) every DIP preset states
DIP_KEYS = [("deviation", "comparison_years"), ("deviation", "with_coefficient"),
            ("dip", "aux_coefficients")]


@pytest.mark.parametrize("path", PRESETS, ids=[p.stem for p in PRESETS])
def test_preset_loads_and_states_the_13_defaults(path):
    pol = payment.load_policy(path.stem)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    keys = OPTION_KEYS + (DRG_KEYS if pol.kind == "drg" else DIP_KEYS)
    for table, key in keys:
        assert key in raw.get(table, {}), f"{path.name}: [{table}] {key} not spelled out"
        field = type(getattr(pol, table)).model_fields[key]
        assert raw[table][key] == field.default, f"{path.name}: {table}.{key}"
        assert getattr(getattr(pol, table), key) == field.default
    # the misleading comment is gone: the ratio line says when 1.0 is right
    line = next(x for x in path.read_text(encoding="utf-8").splitlines()
                if x.startswith("reimbursement_ratio"))
    assert "total-cost basis" in line and "fund_plus_patient_paid" in line
    assert pol.settlement is None  # settlement defaults apply (documented in a comment)
