"""DIP pricing rules of docs/dip.md section 3 that the worked examples do not reach: the
auxiliary coefficient in every path (in memory, chunked, Dask, one case), its edge values,
the history's points in the budget point value, the previous-year means through save/load,
and the catalogue's and the policy's trimming defaults held to one another."""

from __future__ import annotations

import inspect
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

import payment
from grouper.dip import DipConfig

HISTORY = pd.DataFrame({
    "case_id": [f"h{i}" for i in range(6)], "year": [2024, 2024, 2025, 2025, 2025, 2025],
    "hospital_id": ["H1", "H2", "H1", "H1", "H2", "H2"], "hospital_level": [3, 2, 3, 3, 2, 2],
    "los": [5] * 6, "dip_group": ["G"] * 6,
    "total_cost": [9000.0, 7000.0, 10000.0, 14000.0, 12000.0, 8000.0],
    "aux_coefficient": [0.8, 0.8, 0.8, 1.25, 1.25, 0.8],
})
CASES = pd.DataFrame({
    "case_id": ["c1", "c2", "c3", "c4", "c5", "c6"], "hospital_id": ["H1", "H2", "H1", "H2", "H1", "H2"],
    "hospital_level": [3, 2, 3, 2, 3, 2], "los": [5] * 6, "month": [1, 2, 3, 4, 5, 6],
    "dip_group": ["G", "G", "G", "G", "G", ""],
    "total_cost": [12000.0, 25000.0, 5000.0, 10000.0, 12000.0, 3000.0],
    "aux_coefficient": [1.1, 0.9, 1.2, np.nan, -1.0, np.nan],
})


def policy(**over):
    return payment.load_policy("national_dip", over)


def test_trimming_defaults_of_the_catalogue_the_cli_and_the_policy_agree():
    from drgsim.cli.dip import build

    cfg = {f.name: f.default for f in fields(DipConfig)}
    wp = payment.policy.WeightsPolicy.model_fields
    cli = {p.name: p.default for p in inspect.signature(build).parameters.values()}
    for key in ("trim", "trim_k", "trim_lower", "trim_upper", "trim_min_cases"):
        assert cfg[key] == wp[key].default == cli[key], key
    assert (cfg["trim_k"], cfg["trim_lower"], cfg["trim_upper"]) == (3.0, 0.025, 0.975)
    assert list(cfg["year_weights"]) == wp["year_weights"].default
    assert cfg["year_weighting"] == wp["year_weighting"].default
    # every DipConfig key is a `dip build` option with the same default (docs/dip.md says so)
    cli["year_weights"] = tuple(float(x) for x in cli["year_weights"].split(":"))
    assert {k: cli[k] for k in cfg} == cfg


def test_aux_coefficient_multiplies_the_score_and_edge_values_count_one():
    pol = policy()
    w = payment.compute_weights(HISTORY, pol)
    out = payment.price(CASES, w, pol)
    # nan and -1 (not a positive number) count 1.0; the unmatched case has none
    assert out["aux_coefficient"].tolist() == [1.1, 0.9, 1.2, 1.0, 1.0, 1.0]
    base = w.groups.set_index("group").loc["G", "base_points"]
    k3 = w.level_groups.set_index("hospital_level").loc[3, "coefficient"]
    # c1: r = 12,000 ÷ 12,000 (level 3, 2025) = 1: score × 1.1 × k
    assert out.loc[0, "r"] == 1.0 and out.loc[0, "points"] == pytest.approx(base * 1.1 * k3)
    # c2: r = 25,000 ÷ 10,000 = 2.5 → score × 0.9 × 1.5 (no coefficient on deviation points)
    assert out.loc[1, "case_class"] == "high"
    assert out.loc[1, "points"] == pytest.approx(base * 0.9 * 1.5)
    # c3: r = 5,000 ÷ 12,000 → score × 1.2 × r
    assert out.loc[2, "points"] == pytest.approx(base * 1.2 * 5000 / 12000)
    ignored = payment.price(CASES, w, policy(dip={"aux_coefficients": "ignore"}))
    assert ignored["aux_coefficient"].tolist() == [1.0] * 6
    assert ignored.loc[0, "points"] == pytest.approx(base * k3)
    with_k = payment.price(CASES, w, policy(deviation={"with_coefficient": True}))
    k2 = w.level_groups.set_index("hospital_level").loc[2, "coefficient"]
    assert with_k.loc[1, "points"] == pytest.approx(base * 0.9 * k2 * 1.5)


def test_cases_without_the_column_are_priced_at_one_with_a_note():
    pol = policy()
    w = payment.compute_weights(HISTORY, pol)
    out = payment.price(CASES.drop(columns=["aux_coefficient"]), w, pol)
    assert out["aux_coefficient"].tolist() == [1.0] * 6
    assert any("aux_coefficient" in n for n in out.attrs["notes"])
    assert payment.price(CASES, w, pol).attrs["notes"] == []


def test_history_points_carry_their_aux_coefficient_in_the_budget_point_value():
    # 2024: cost 16,000, points 100·(0.8 + 0.8); 2025: 44,000, 100·(0.8 + 1.25 + 1.25 + 0.8)
    # (score 100: one group). PV = (2·16,000 + 7·44,000) ÷ (2·160 + 7·410)
    w = payment.compute_weights(HISTORY, policy())
    assert w.budget_point_value == pytest.approx((2 * 16000 + 7 * 44000) / (2 * 160 + 7 * 410))
    w0 = payment.compute_weights(HISTORY, policy(dip={"aux_coefficients": "ignore"}))
    assert w0.budget_point_value == pytest.approx((2 * 16000 + 7 * 44000) / (2 * 200 + 7 * 400))
    # DRG policies never read it
    drg = payment.load_policy("national_drg")
    wd = payment.compute_weights(HISTORY.rename(columns={"dip_group": "drg"}), drg)
    wd0 = payment.compute_weights(HISTORY.drop(columns=["aux_coefficient"]).rename(
        columns={"dip_group": "drg"}), drg)
    assert wd.budget_point_value == wd0.budget_point_value


def test_previous_year_means_survive_save_and_old_weights_fall_back(tmp_path):
    pol = policy()
    w = payment.compute_weights(HISTORY, pol)
    lg = w.level_groups.set_index("hospital_level")["prev_year_mean_cost"]
    assert lg.to_dict() == {2: 10000.0, 3: 12000.0}
    assert w.groups["prev_year_mean_cost"].tolist() == [11000.0]
    w.save(tmp_path / "w")
    back = payment.load_weights(tmp_path / "w")
    r = payment.price(CASES, back, pol)["r"].tolist()
    assert r[:4] == [1.0, 2.5, 5000 / 12000, 1.0]
    # weights written before the column existed: the level's weighted mean, as "weighted" does
    from dataclasses import replace

    back = replace(back, **{name: getattr(back, name).drop(columns=["prev_year_mean_cost"])
                            for name in ("groups", "level_groups")})
    old = payment.price(CASES, back, pol)["r"].tolist()
    weighted = payment.price(CASES, w, policy(deviation={"comparison_years": "weighted"}))["r"]
    assert old[:5] == weighted.tolist()[:5]
    assert old[0] == pytest.approx(12000 / ((2 * 9000 + 7 * 12000) / 9))


def test_one_case_preview_path_and_dask_path_apply_it():
    pol = policy()
    w = payment.compute_weights(HISTORY, pol)
    whole = payment.price(CASES, w, pol)
    from payment.prepared import PreparedPrices
    from payment.pricing import status_codes

    prep = PreparedPrices(w, pol)

    for i in range(len(CASES)):
        row = CASES.iloc[i:i + 1]
        one = prep.price_alone(row["dip_group"].to_numpy(object), row["hospital_id"].to_numpy(object),
                               row["hospital_level"].to_numpy(np.int64),
                               row["total_cost"].to_numpy(), row["los"].to_numpy(np.float64),
                               np.array([-1]), status_codes(np.array([""], object)),
                               w.budget_point_value, aux=row["aux_coefficient"].to_numpy())
        assert one["aux_coefficient"][0] == whole.loc[i, "aux_coefficient"]
        assert one["points"][0] == whole.loc[i, "points"]
    dd = pytest.importorskip("dask.dataframe")
    from drgsim import dask_engine

    got = dask_engine.price(dd.from_pandas(CASES, npartitions=3), w, pol).compute()
    assert got["points"].tolist() == whole["points"].tolist()
    assert got["aux_coefficient"].tolist() == whole["aux_coefficient"].tolist()


def test_a_history_without_one_usable_case_gives_empty_weights():
    h = HISTORY.assign(dip_group="", status="SUCCESS")
    w = payment.compute_weights(h, policy())
    assert len(w.groups) == 0 and w.years == [] and np.isnan(w.budget_point_value)
    out = payment.price(CASES, w, policy())
    assert (out["case_class"] == "ungroupable").all() and len(out) == len(CASES)


def test_dip_build_passes_every_option_to_the_catalogue(tmp_path):
    import json

    from test_dip_cli_chain import HISTORY as CHAIN_HISTORY
    from typer.testing import CliRunner

    import grouper
    from drgsim.cli import app

    (tmp_path / "h.csv").write_text(CHAIN_HISTORY, encoding="utf-8")
    res = CliRunner().invoke(app, [
        "dip", "build", str(tmp_path / "h.csv"), "-o", str(tmp_path / "cat"), "--scheme",
        str(grouper.demo_scheme_path()), "--trim", "sd", "--trim-min-cases", "3", "--severity-cap", "2",
        "--adult-age", "16", "--elderly-age", "60", "-q"])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "cat" / "manifest.json").read_text(encoding="utf-8"))["config"]
    assert (m["trim"], m["trim_k"], m["trim_min_cases"], m["severity_cap"], m["adult_age"],
            m["elderly_age"]) == ("sd", 3.0, 3, 2, 16, 60)
