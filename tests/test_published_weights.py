"""Pricing with a bureau's published table equals pricing with the same numbers from history."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import grouper
import payment
from drgsim.cli import app
from payment.published import published_weights


@pytest.fixture(scope="module")
def region(sample_cases, demo_scheme):
    pol = payment.load_policy("national_drg").with_overrides({"coefficients": {"mode": "none"}})
    g = grouper.group(sample_cases, demo_scheme, keep_columns=True)
    w = payment.compute_weights(g[g["year"] < 2025], pol)
    cur = g[g["year"] == 2025].reset_index(drop=True)
    table = w.groups[w.groups["rw"].notna()][["group", "rw", "mean_cost", "mean_los"]]
    table = table.set_axis(["DRG编码", "权重", "次均费用", "平均住院日"], axis=1)
    return pol, w, cur, table


def test_published_table_prices_like_the_fitted_weights(region):
    pol, w, cur, table = region
    pw = published_weights(table, point_value=w.budget_point_value, hospitals=cur["hospital_id"].unique(),
                           region_mean_cost=w.region_mean_cost)
    a, b = payment.price(cur, w, pol), payment.price(cur, pw, pol)
    assert (a["case_class"].astype(str) == b["case_class"].astype(str)).all()
    assert (a["payment"].round(2) == b["payment"].round(2)).all()
    # Base points from RW × 100, and the base rate is the point value × 100.
    pb = published_weights(table, base_rate=w.budget_point_value * 100, hospitals=["H001"])
    assert pb.budget_point_value == pytest.approx(w.budget_point_value)
    assert pb.groups["base_points"].tolist() == pytest.approx((table["权重"] * 100).tolist())


def test_published_table_errors_name_row_and_column(region):
    _, _, _, table = region
    bad = table.astype({"权重": object})
    bad.iloc[2, 1] = "x"
    with pytest.raises(ValueError, match=r"t.xlsx: row 4, column '权重' \(rw\): 'x'"):
        published_weights(bad, point_value=80.0, source="t.xlsx")
    with pytest.raises(ValueError, match="no column for \\['mean_los'\\]"):
        published_weights(table.drop(columns="平均住院日"), point_value=80.0)
    with pytest.raises(ValueError, match="point value or the base rate"):
        published_weights(table)


def test_cli_price_with_a_published_xlsx(region, tmp_path):
    pol, w, cur, table = region
    table.to_excel(tmp_path / "published.xlsx", index=False)
    cur.to_csv(tmp_path / "cases.csv", index=False)
    r = CliRunner().invoke(app, ["price", str(tmp_path / "cases.csv"), "-w",
                                 str(tmp_path / "published.xlsx"), "-p", "national_drg",
                                 "--coefficient", "1", "--point-value",
                                 repr(w.budget_point_value), "-o", str(tmp_path / "p.csv"), "-q"])
    assert r.exit_code == 0, r.output
    got = pd.read_csv(tmp_path / "p.csv")
    # The CLI prices exactly as the library does with the same table and numbers.
    pw = published_weights(table, coefficients=1.0, hospitals=cur["hospital_id"].unique(),
                           point_value=w.budget_point_value)
    want = payment.price(cur, pw, payment.load_policy("national_drg"))
    assert got["case_id"].astype(str).tolist() == want["case_id"].astype(str).tolist()
    assert (got["payment"].round(2).to_numpy() == want["payment"].round(2).to_numpy()).all()
    r = CliRunner().invoke(app, ["price", str(tmp_path / "cases.csv"), "-w",
                                 str(tmp_path / "published.xlsx"), "-p", "national_drg",
                                 "-o", str(tmp_path / "q.csv"), "-q"])
    assert r.exit_code == 2 and "point value" in " ".join(r.output.split())
