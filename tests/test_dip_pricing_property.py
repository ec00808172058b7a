"""DIP from history to points: the code against the independent references, on random regions.

Catalogue and grouping: :mod:`naive_dip` (written from ``grouper/dip/README.md``, imports
nothing from ``grouper.dip``); weights and prices: :mod:`ref_payment` (written from
domain.md §4–§7 and docs/dip.md section 3, imports nothing from ``payment``). The code runs
``build_catalogue`` → ``group`` (history and current cases) → ``compute_weights`` → ``price``;
the references run ``naive_group`` on the saved catalogue → ``ref_weights`` → ``ref_price``.
Random options cover every DIP pricing key (``dip.aux_coefficients``,
``deviation.comparison_years``, ``deviation.with_coefficient``, ``deviation.comparison_base``),
trimming, year weighting, coefficients and special review.
"""

from __future__ import annotations

import math
import tempfile
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from naive_dip import naive_group
from ref_payment import ref_policy, ref_price, ref_weights
from test_dip_property import SCHEME, case, to_frame

import payment
from grouper.dip import DipConfig, build_catalogue, group

place = st.tuples(st.sampled_from(["H1", "H2", "H3", "H4"]), st.integers(1, 3),
                  st.integers(1, 40), st.integers(1, 12))
options = st.fixed_dictionaries({
    "deviation": st.fixed_dictionaries({
        "comparison_years": st.sampled_from(["previous_year", "weighted"]),
        "with_coefficient": st.booleans(),
        "comparison_base": st.sampled_from(["same_level", "region"]),
    }),
    "dip": st.fixed_dictionaries({"aux_coefficients": st.sampled_from(["apply"] * 3 + ["ignore"])}),
    "coefficients": st.fixed_dictionaries({"mode": st.sampled_from(["level", "hospital", "none"])}),
    "weights": st.fixed_dictionaries({
        "trim": st.sampled_from(["none", "iqr", "sd", "percentile"]),
        "trim_min_cases": st.integers(2, 5),
        "year_weighting": st.sampled_from(["yearly_means", "per_case"]),
        "min_cases": st.integers(1, 5),
    }),
    "special_review": st.fixed_dictionaries({
        "enabled": st.booleans(), "quota_rate": st.sampled_from([0.0, 0.2, 1.0]),
        "small_groups": st.just(False)}),
})
catalogue_options = st.builds(DipConfig, core_threshold=st.integers(1, 4),
                              aux_min_cases=st.integers(1, 3),
                              year_weights=st.sampled_from([(1.0, 2.0, 7.0), (1.0, 1.0)]))


def _frame(cases: list[dict], places: list[tuple], prefix: str) -> pd.DataFrame:
    df = to_frame(cases)
    df["case_id"] = [f"{prefix}{i}" for i in range(len(df))]
    df["hospital_id"] = [places[i % len(places)][0] for i in range(len(df))]
    df["hospital_level"] = [places[i % len(places)][1] for i in range(len(df))]
    df["los"] = [places[i % len(places)][2] for i in range(len(df))]
    df["month"] = [places[i % len(places)][3] for i in range(len(df))]
    return df


def _ref_rows(df: pd.DataFrame, grouped: list[dict]) -> list[dict]:
    rows = []
    for r, g in zip(df.to_dict("records"), grouped, strict=True):
        rows.append({"case_id": r["case_id"], "hospital_id": r["hospital_id"],
                     "hospital_level": int(r["hospital_level"]), "los": float(r["los"]),
                     "month": int(r["month"]), "year": int(r["year"]),
                     "total_cost": float(r["total_cost"]), "discharge_mode": 1,
                     "status": g["status"], "drg": g.get("dip_group", ""),
                     "aux_coefficient": g.get("aux_coefficient")})
    return rows


def _cents(x) -> Decimal:
    return Decimal(repr(float(x))).quantize(Decimal("0.01"), ROUND_HALF_UP)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(history=st.lists(case, min_size=4, max_size=50), current=st.lists(case, min_size=1, max_size=25),
       reuse=st.integers(0, 25), places=st.lists(place, min_size=1, max_size=6),
       cfg=catalogue_options, over=options)
def test_build_group_weigh_price_equal_the_references(history, current, reuse, places, cfg, over):
    hist = _frame(history, places, "h")
    # current cases: some like history cases (so that they meet its groups), some new
    cur = _frame(history[:reuse] + current, places[::-1], "c")
    cat = build_catalogue(hist, cfg, SCHEME)
    gh, gc = group(hist, cat, SCHEME), group(cur, cat, SCHEME)
    with tempfile.TemporaryDirectory() as tmp:
        folder = cat.save(tmp)
        nh, nc = naive_group(hist, folder, SCHEME), naive_group(cur, folder, SCHEME)
    # the grouping the two chains start from is the same (test_dip_property checks it in full)
    assert list(gh["dip_group"]) == [e.get("dip_group", "") for e in nh]
    assert list(gc["dip_group"]) == [e.get("dip_group", "") for e in nc]

    pol = payment.Policy.model_validate({"name": "dip-reference-check", "kind": "dip", **over})
    dip_cols = ["status", "dip_group", "aux_coefficient"]
    w = payment.compute_weights(pd.concat([hist, gh[dip_cols]], axis=1), pol)
    lib = payment.price(pd.concat([cur, gc[dip_cols]], axis=1), w, pol)

    rpol = ref_policy({"kind": "dip", **over})
    rw = ref_weights(_ref_rows(hist, nh), rpol)
    assert math.isnan(rw.budget_pv) == math.isnan(w.budget_point_value)
    assume(math.isfinite(rw.budget_pv))  # a history with no kept case prices nothing
    assert w.budget_point_value == pytest.approx(rw.budget_pv, rel=1e-9)
    ref = ref_price(_ref_rows(cur, nc), rw, rpol)

    assert len(lib) == len(ref) == len(cur)
    for o, row in zip(ref, lib.to_dict("records"), strict=True):
        where = (o["case_id"], over)
        assert str(row["case_class"]) == o["case_class"], where
        if not math.isnan(o["r"]):
            assert math.isclose(row["r"], o["r"], rel_tol=1e-9), where
        assert math.isclose(row["points"], o["points"], rel_tol=1e-9, abs_tol=1e-9), where
        assert abs(_cents(row["payment"]) - _cents(o["payment"])) <= Decimal("0.01"), where
        assert str(row["sr_reasons"]) == "|".join(o["sr_reasons"]), where
        assert bool(row["sr_approved"]) == bool(o["sr_approved"]), where
