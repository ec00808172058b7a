"""A what-if with no change is ``payment.settle`` to the cent (issue 11, §13 advances).

The what-if basis builds monthly advances by settlement's own rule (one rounding per month from
unrounded points × the pricing's yuan per point, no special-review money), so a what-if row of
zeros must give every hospital-month advance, entitlement, final amount and clearing of
``payment.settle`` — and of the independent reference (tests/ref_payment) — on random regions
under every §13 option of tests/test_payment_reference.py.
"""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from ref_payment import ref_policy, ref_settle
from test_payment_reference import (
    OPTIONS,
    Diff,
    compare_settlement,
    library_policy,
    library_priced,
    overrides_for,
    ref_from_library_priced,
    ref_from_library_weights,
    regions,
)

import payment
from payment import _settle_kernels as K
from payment.whatif import build_cells, run_whatifs, settle_whatif

SETTLEMENT_OPTIONS = [o for o in OPTIONS if o[2] in ("all", "settlement", "pricing")]

CENT_TABLES = ("hospital", "advances")


def _assert_same_cents(a: payment.settlement.SettlementResult,
                       b: payment.settlement.SettlementResult) -> None:
    assert list(a.statement["hospital_id"]) == list(b.statement["hospital_id"])
    for t in CENT_TABLES:
        np.testing.assert_array_equal(a.cents[t], b.cents[t], err_msg=t)
    for k in ("budget", "reserve", "paid", "reserve_kept", "returned", "sharing", "recovered"):
        assert a.summary[k] == b.summary[k], k
    assert a.summary["point_value"] == pytest.approx(b.summary["point_value"], rel=1e-12,
                                                     nan_ok=True)


@pytest.mark.parametrize(("name", "option", "salt"),
                         [(o[0], o[1], 100 + i) for i, o in enumerate(SETTLEMENT_OPTIONS)],
                         ids=[o[0] for o in SETTLEMENT_OPTIONS])
@settings(max_examples=4, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_whatif_without_change_is_settle_and_the_reference(name, option, salt, data):
    region = data.draw(regions(salt), label="region")
    over = overrides_for(option, region)
    lpol = library_policy(over)
    lw = payment.compute_weights(pd.DataFrame(region["history"]), lpol)
    lp = library_priced(region["cases"], lw, lpol)
    direct = payment.settle(lp, lpol)
    cells = build_cells(lp, lpol)
    via = settle_whatif(cells, lpol)
    _assert_same_cents(direct, via)
    # the summary path of the what-ifs (Monte Carlo, sweeps) agrees too
    summ, res = run_whatifs(cells, payment.settlement.encode(cells.inputs, lpol),
                            np.zeros((1, K.W)))
    assert summ.loc[0, "paid"] == direct.summary["paid"]
    np.testing.assert_array_equal(np.round(res[0] * 100).astype(np.int64),
                                  direct.cents["hospital"][:, K.OH_FINAL]
                                  - direct.cents["hospital"][:, K.OH_FFS])
    d = Diff()
    rw = ref_from_library_weights(lw)
    compare_settlement(d, ref_settle(ref_from_library_priced(lp, region["cases"]), rw,
                                     ref_policy(over)), via)
    d.check()


def test_advance_is_one_rounding_per_month_not_a_sum_of_case_cents():
    """Three cases of 1.0 point each in January at 0.333 yuan/point: each case's payment rounds
    to 0.33, so summing cents gives 0.99 × 0.85 = 0.8415 → 0.84; §13 rounds once:
    3 × 0.333 = 0.999 × 0.85 = 0.84915 → 0.85."""
    lp = pd.DataFrame({"case_id": ["a", "b", "c"], "hospital_id": "H1", "hospital_level": 3,
                       "total_cost": 0.333, "month": 1, "points": 1.0, "payment": 0.33,
                       "case_class": "normal", "base_points": 1.0, "group": "A1"})
    lp.attrs["yuan_per_point"] = 0.333
    pol = payment.settlement_policy.SettlementPolicy.model_validate(
        {"advance_ratio": 0.85, "budget": {"mode": "amount", "amount": 1.0}})
    via = settle_whatif(build_cells(lp, pol), pol)
    assert via.advances.loc[0, "m01"] == 0.85
    assert payment.settle(lp, pol).advances.loc[0, "m01"] == 0.85
