"""The re-pricing path's case-constant cache (payment.case_codes, the dashboard's held cases):
what it gives equals what the table gives, and a re-pricing lever answers as a run from scratch
(``payment.price`` + ``payment.settle``) does, to the cent, in any order of levers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import payment

pytest.importorskip("fastapi")
from dashboard_shared import same_amounts  # noqa: E402

from drgsim.dashboard import Dashboard, Settings, scenario_from_args  # noqa: E402
from drgsim.pipeline import price_grouped  # noqa: E402
from payment.case_codes import text_codes  # noqa: E402
from payment.overrides import override_policy  # noqa: E402
from payment.settlement import prepare  # noqa: E402


@pytest.fixture(scope="module")
def dash() -> Dashboard:
    # cache_size=1: going back to a setting re-prices it instead of answering from the cache
    return Dashboard(scenario_from_args(None, None, None), cache_size=1)


def _answer(d: Dashboard, levers: dict) -> dict:
    out = d.answer(Settings.parse({"levers": levers}))
    out.pop("elapsed_ms")
    return out


def _from_scratch(d: Dashboard, levers: dict):
    pol = override_policy(d.base_policy, levers)
    return payment.settle(price_grouped(d.grouped, pol, d.scenario.year).priced, pol)


def _same(answer: dict, res) -> None:
    assert answer["summary"]["point_value"] == res.summary["point_value"]
    same_amounts(answer, res)
    for row in answer["ledger"]:
        assert row["yuan"] == round(float(res.ledger.set_index("item").loc[row["item"], "yuan"]),
                                    2), row["item"]


def test_lever_then_back_gives_the_original_numbers(dash: Dashboard) -> None:
    first = _answer(dash, {})
    moved = _answer(dash, {"special_review.quota_rate": 0.02})
    assert moved["path"] == "repricing"
    assert moved["summary"]["point_value"] != first["summary"]["point_value"]
    assert "{}" not in dash._cache  # evicted: the next answer re-prices through the cache
    assert _answer(dash, {}) == first


def test_two_levers_in_sequence_equal_a_run_from_scratch(dash: Dashboard) -> None:
    a = {"special_review.quota_rate": 0.03}
    b = {"outliers.low_multiple": 0.5, "exclusions.los_max": 40}  # held weights, then re-weigh
    got_a = _answer(dash, a)
    got_b = _answer(dash, b)
    _same(got_a, _from_scratch(dash, a))
    _same(got_b, _from_scratch(dash, b))
    both = {**a, **b}
    _same(_answer(dash, both), _from_scratch(dash, both))


def test_prepare_with_codes_equals_prepare_from_the_table(dash: Dashboard) -> None:
    codes = text_codes(dash.base.priced)
    pol = override_policy(dash.base_policy, {"exclusions.los_max": 30})
    priced = price_grouped(dash.grouped, pol, dash.scenario.year).priced
    assert (priced["case_class"] == "excluded").sum() > (
        dash.base.priced["case_class"] == "excluded").sum()  # other rows kept than at load
    a, b = prepare(priced, pol), prepare(priced, pol, codes=codes)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
        else:
            assert x == y or (x != x and y != y), f.name
    assert len(a.alliance_ids) and a.ad.any()  # the alliance path is exercised


def test_codes_hand_made_table_and_wrong_rows() -> None:
    """Patient payment missing only on an excluded row: settled with patient payments, as
    from the table; hospital None is the empty id; month 13 is unknown."""
    policy = payment.SettlementPolicy.model_validate({"budget": {"amount": 1000.0}})
    priced = pd.DataFrame({
        "hospital_id": ["H2", "H1", None, "H1"],
        "hospital_level": [3, 2, 1, 2],
        "case_class": pd.Categorical(["normal", "excluded", "normal", "high"]),
        "points": [100.0, 50.0, 20.0, 30.0], "payment": [1000.0, 500.0, 200.0, 300.0],
        "total_cost": [900.0, 700.0, 150.0, 320.0],
        "patient_paid": [90.0, np.nan, 15.0, 32.0], "month": [1, 2, 13, 12],
    })
    codes = text_codes(priced)
    a, b = prepare(priced, policy), prepare(priced, policy, codes=codes)
    assert a.has_patient_paid and b.has_patient_paid
    assert list(b.hospital_ids) == ["", "H1", "H2"]
    assert np.array_equal(b.hd, a.hd) and np.array_equal(b.md, a.md)
    assert b.hd[:, payment.settlement.K.HD_PP].tolist() == [15.0, 32.0, 90.0]
    assert b.md[0].sum() == 0.0  # the month-13 case gets no advance
    with pytest.raises(ValueError, match="prepare: codes are for 4 rows, the table has 2"):
        prepare(priced.head(2), policy, codes=codes)
