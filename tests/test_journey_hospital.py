"""A hospital DRG office's journey (issue 13, "Done when"): last month's 300 discharges exported
to Excel with settlement-list headers and the usual mistakes, grouped, priced and analysed with
one run of each command; then ``supervise`` and ``simulate`` read the Chinese-headed workbooks
drgsim wrote.

The export is built here from the sample region: Chinese headers, 性别 as 男/女, 年龄 as
``45岁``, 总费用 as ``12,345.60``, full-width digits, a lower-case code, a bad date
``2025-10-32`` and two unreadable cells.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

import grouper
import payment
from drgsim.cli import app
from drgsim.cli.headers import read_output
from payment.columns import PRICED_BY_NAME

runner = CliRunner()
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
N = 300
BAD_AGE, BAD_COST, BAD_DATE, FW_LOS, FW_AGE, LOWER = 20, 30, 57, 10, 11, 12  # data rows (0-based)


def _export(cur: pd.DataFrame) -> pd.DataFrame:
    """The settlement-list export a hospital's system gives (all cells as text or numbers)."""
    dx = cur["diagnoses"].astype(str).str.split("|")
    px = cur["procedures"].fillna("").astype(str).str.split("|")
    x = pd.DataFrame({
        "病案号": cur["case_id"], "医疗机构编码": cur["hospital_id"],
        "医院等级": cur["hospital_level"].astype(int), "科室": cur["dept"],
        "性别": cur["sex"].map({1: "男", 2: "女"}).astype(object).where(cur["sex"].isin([1, 2]),
                                                                     cur["sex"]),  # 9 as it is
        "年龄": cur["age"].astype(int).astype(str) + "岁",
        "年龄(天)": cur["age_days"].astype("Int64"), "新生儿出生体重": cur["birth_weight"].astype("Int64"),
        "住院天数": cur["los"].astype(int), "离院方式": cur["discharge_mode"].astype(int),
        "主要诊断": dx.str[0], "其他诊断": dx.str[1:].str.join("；"),
        "主要手术": px.str[0], "其他手术": px.str[1:].str.join("；"),
        "总费用": cur["total_cost"].map(lambda v: f"{v:,.2f}"),
        "入院日期": cur["admission_date"].dt.strftime("%Y-%m-%d"),
        "出院日期": cur["discharge_date"].dt.strftime("%Y-%m-%d"),
    }).astype(object)
    x.loc[BAD_AGE, "年龄"] = "abc"
    x.loc[BAD_COST, "总费用"] = "约5000元"
    x.loc[BAD_DATE, "出院日期"] = "2025-10-32"
    x.loc[FW_LOS, "住院天数"] = str(int(cur["los"][FW_LOS])).translate(FULL_WIDTH)
    x.loc[FW_AGE, "年龄"] = str(int(cur["age"][FW_AGE])).translate(FULL_WIDTH) + " 岁"
    x.loc[LOWER, "主要诊断"] = x.loc[LOWER, "主要诊断"].lower()
    return x


@pytest.fixture(scope="module")
def journey(sample_cases, demo_scheme, tmp_path_factory):
    d = tmp_path_factory.mktemp("journey")
    pol = payment.load_policy("zhejiang_drg")
    g = grouper.group(sample_cases, demo_scheme, keep_columns=True)
    payment.compute_weights(g[g["year"] < 2025], pol).save(d / "w")  # the region's weights
    cur = sample_cases[(sample_cases["year"] == 2025) & (sample_cases["hospital_id"] == "H001")]
    cur = cur.head(N).reset_index(drop=True)
    assert len(cur) == N and cur["age"].notna().all()
    assert cur["diagnoses"][LOWER][0].isalpha() and cur["diagnoses"][LOWER][0].isupper()
    _export(cur).to_excel(d / "export.xlsx", index=False)
    runs = {}
    for name, args in (
        ("group", ["group", str(d / "export.xlsx"), "-s", str(demo_scheme.path), "-o", str(d / "grouped.xlsx")]),
        ("price", ["price", str(d / "grouped.xlsx"), "-w", str(d / "w"), "-p", "zhejiang_drg",
                   "-o", str(d / "priced.xlsx")]),
        ("analyse", ["analyse", str(d / "grouped.xlsx"), "-w", str(d / "w"), "-p", "zhejiang_drg",
                     "-s", str(demo_scheme.path), "-o", str(d / "analysis")]),
    ):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, (name, r.output)
        runs[name] = " ".join(r.output.split())
    return d, cur, runs


def _same(a: pd.Series, b: pd.Series) -> None:
    pd.testing.assert_series_equal(a.reset_index(drop=True).astype("Float64"),
                                   b.reset_index(drop=True).astype("Float64"), check_names=False)


def _sheet(path):
    return openpyxl.load_workbook(path).worksheets[0]


def test_every_case_once_in_input_order(journey):
    d, cur, _ = journey
    ids = cur["case_id"].tolist()
    grouped = read_output(d / "grouped.xlsx")
    priced = read_output(d / "priced.xlsx", kinds=PRICED_BY_NAME)
    assert grouped["case_id"].tolist() == ids and priced["case_id"].tolist() == ids
    by_drg = pd.read_csv(d / "analysis" / "by_drg.csv")
    assert by_drg["cases"].sum() == N
    q = pd.read_csv(d / "analysis" / "quality.csv", dtype=str)["case_id"].tolist()
    assert q == [i for i in ids if i in set(q)]  # a subset, in input order


def test_bad_cells_are_row_statuses_named_as_the_user_sees_them(journey):
    d, cur, runs = journey
    g = read_output(d / "grouped.xlsx")
    bad = g.index[g["read_status"] == "BAD_VALUE"].tolist()
    assert bad == [BAD_AGE, BAD_COST, BAD_DATE]
    for i, head, value in ((BAD_AGE, "年龄", "abc"), (BAD_COST, "总费用", "约5000元"),
                           (BAD_DATE, "出院日期", "2025-10-32")):
        w = g["read_warnings"][i]
        assert head in w and value in w and f"row {i + 2}" in w  # the spreadsheet's row
        assert f"column '{head}'" in runs["group"] and f"row {i + 2} '{value}'" in runs["group"]
    assert pd.isna(g["age"][BAD_AGE]) and g["status"][BAD_AGE] == "CHECK_FAILED"
    assert pd.isna(g["total_cost"][BAD_COST]) and pd.isna(g["discharge_date"][BAD_DATE])
    ok = g["read_status"] == "OK"
    assert ok.sum() == N - 3


def test_readable_forms_are_read(journey):
    d, cur, _ = journey
    g = read_output(d / "grouped.xlsx")
    assert cur["sex"].isin([1, 2]).sum() > N - 5
    _same(g["sex"], cur["sex"])                                           # 男 / 女
    keep = [i for i in range(N) if i != BAD_AGE]
    _same(g["age"][keep], cur["age"][keep])                               # '45岁', '６８ 岁'
    assert g["age"][FW_AGE] == cur["age"][FW_AGE] and g["los"][FW_LOS] == cur["los"][FW_LOS]
    _same(g["los"], cur["los"])                                           # full-width '１３'
    keep = [i for i in range(N) if i != BAD_COST]                         # '12,345.60'
    _same(g["total_cost"][keep].round(2), cur["total_cost"][keep].round(2))
    dx = g["diagnoses"].tolist()                                          # 主要 + 其他诊断 joined
    assert dx[LOWER] != cur["diagnoses"][LOWER] and dx[LOWER].upper() == cur["diagnoses"][LOWER].upper()
    dx[LOWER] = cur["diagnoses"][LOWER]
    assert dx == cur["diagnoses"].tolist()
    assert g["procedures"].fillna("").tolist() == cur["procedures"].fillna("").tolist()
    # the lower-case code is repaired (and said), and groups as the upper-case one does
    assert "letter case corrected" in g["warnings"][LOWER]
    assert g["status"][LOWER] == "SUCCESS"
    want = grouper.group(cur.iloc[[LOWER]], grouper.load_scheme(grouper.demo_scheme_path()))
    assert g["drg"][LOWER] == want["drg"].iloc[0]


def test_workbooks_have_chinese_headers_formats_and_a_frozen_header(journey):
    d, _, _ = journey
    ws = _sheet(d / "grouped.xlsx")
    heads = [c.value for c in ws[1]]
    assert {"病案号", "性别", "年龄", "住院天数", "总费用", "分组状态", "DRG编码", "读取状态", "读取警告"} <= set(heads)
    assert "drg" not in heads and ws.freeze_panes == "A2"
    assert ws.cell(row=2, column=heads.index("总费用") + 1).number_format == "#,##0.00"
    ws = _sheet(d / "priced.xlsx")
    heads = [c.value for c in ws[1]]
    assert ws.freeze_panes == "A2" and ws.max_row == N + 1
    for h in ("总费用", "支付金额", "盈亏", "特例单议金额", "最终支付金额"):
        assert ws.cell(row=2, column=heads.index(h) + 1).number_format == "#,##0.00", h
    assert ws.column_dimensions["A"].width >= 10
    book = openpyxl.load_workbook(d / "analysis" / "analysis.xlsx")
    ws = book.worksheets[0]
    heads = [c.value for c in ws[1]]
    assert {"例均费用(元)", "例均支付(元)", "盈亏(元)", "盈亏率"} <= set(heads) and ws.freeze_panes == "A2"
    assert ws.cell(row=2, column=heads.index("盈亏(元)") + 1).number_format == "#,##0.00"
    assert ws.cell(row=2, column=heads.index("盈亏率") + 1).number_format == "0.0%"
    html = (d / "analysis" / "analysis.html").read_text(encoding="utf-8")
    assert "医院DRG运行分析" in html and "例均费用" in html


def _half_up(x: Decimal, q: str) -> Decimal:
    return x.quantize(Decimal(q), rounding=ROUND_HALF_UP)


def test_payment_is_weight_times_base_rate_by_hand(journey):
    """A normal case: RW × 100 × hospital coefficient × point value (the budget point value of
    the weights, unrounded: pricing does not round it), half-up to the cent, from the weights
    files; final amount = payment when not approved for special review."""
    d, _, _ = journey
    p = read_output(d / "priced.xlsx", kinds=PRICED_BY_NAME)
    groups = pd.read_csv(d / "w" / "groups.csv", dtype=str).set_index("group")
    coef = pd.read_csv(d / "w" / "hospital_groups.csv", dtype=str).set_index(["hospital_id", "group"])
    pv = Decimal(str(json.loads((d / "w" / "manifest.json").read_text())["budget_point_value"]))
    normal = p[(p["case_class"] == "normal") & (p["incentive"] == 1)]
    checked = 0
    for r in normal.head(40).itertuples():
        if (r.hospital_id, r.group) not in coef.index:
            continue
        rw = Decimal(groups.loc[r.group, "rw"])
        c = Decimal(coef.loc[(r.hospital_id, r.group), "coefficient"])
        want = _half_up(rw * 100 * c * pv, "0.01")
        assert Decimal(str(r.payment)) == want, (r.case_id, r.payment, want)
        assert r.final_amount == r.payment and not r.sr_approved
        checked += 1
    assert checked >= 20
    # every case: final = approved special-review amount, else payment; summed as analyse did
    want_final = p["sr_amount"].where(p["sr_approved"], p["payment"])
    assert (p["final_amount"] == want_final).all()
    by_drg = pd.read_csv(d / "analysis" / "by_drg.csv")
    assert round(by_drg["final_amount"].sum(), 2) == round(p["final_amount"].sum(), 2)


def test_each_step_is_shown_unless_quiet(journey):
    """price and analyse name their steps (drgsim.chunks.step_progress) with the case count."""
    _, _, runs = journey
    for name, steps in (("price", ("reading", "pricing", "writing")),
                        ("analyse", ("reading", "pricing", "profit/loss", "quality", "reports"))):
        for s in steps:
            assert f"{s} " in runs[name] and f"{N}/{N} cases" in runs[name], (name, s)


def test_supervise_reads_the_grouped_workbook(journey, demo_scheme):
    d, _, _ = journey
    r = runner.invoke(app, ["supervise", str(d / "grouped.xlsx"), "-s", str(demo_scheme.path),
                            "-w", str(d / "w"), "-o", str(d / "sup"), "-q"])
    assert r.exit_code == 0, r.output
    assert r.output == ""  # -q: no progress, no summary
    r = runner.invoke(app, ["supervise", str(d / "grouped.xlsx"), "-s", str(demo_scheme.path),
                            "-w", str(d / "w"), "-o", str(d / "sup"), "--max-explained", "5"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    for s in ("reading", "grouping", "indices", "signals", "explaining", "reports"):
        assert f"{s} " in text, s
    idx = pd.read_csv(d / "sup" / "indices.csv", dtype={"hospital_id": str})
    assert idx["hospital_id"].tolist() == ["H001"] and int(idx["cases"].iloc[0]) == N


def test_simulate_reads_the_priced_workbook(journey):
    d, _, _ = journey
    (d / "scn.toml").write_text('name = "H001 2025"\npolicy = "zhejiang_drg"\n'
                                'priced_cases = "priced.xlsx"\nyear = 2025\n', encoding="utf-8")
    r = runner.invoke(app, ["simulate", str(d / "scn.toml"), "-o", str(d / "sim"), "-q"])
    assert r.exit_code == 0, r.output
    s = pd.read_csv(d / "sim" / "scenarios.csv")
    assert s["hospitals_surplus"].iloc[0] + s["hospitals_overspend"].iloc[0] == 1
    st = pd.read_csv(d / "sim" / "statements.csv", dtype={"hospital_id": str})
    assert "H001" in set(st["hospital_id"])
