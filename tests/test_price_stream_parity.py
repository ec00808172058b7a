"""``drgsim price`` streamed (CSV / Parquet in and out, small chunks) gives what it gives in
memory (a workbook in): the same columns and values, ``final_amount`` included, the same
missing-hospital warning and summary; a published table is read once and the cases are never
read whole for it (issue 13 items 3 and 5, issue 12 item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import grouper
import payment
from drgsim.cli import app
from payment.policy import preset_path

runner = CliRunner()


@pytest.fixture(scope="module")
def region(sample_cases, demo_scheme, tmp_path_factory):
    d = tmp_path_factory.mktemp("parity")
    # a quota large enough that special review approves cases (final_amount != payment)
    text = preset_path("zhejiang_drg").read_text(encoding="utf-8")
    assert "quota_rate = 0.005" in text
    (d / "pol.toml").write_text(text.replace("quota_rate = 0.005", "quota_rate = 0.25"),
                                encoding="utf-8")
    pol = payment.load_policy(d / "pol.toml")
    g = grouper.group(sample_cases, demo_scheme, keep_columns=True)
    w = payment.compute_weights(g[g["year"] < 2025], pol)
    w.save(d / "w")
    cur = sample_cases[sample_cases["year"] == 2025].drop(columns=["read_status", "read_warnings"])
    cur = cur.head(600).copy()
    cur.loc[cur.index[:7], "hospital_id"] = "H_NEW"
    cur.to_csv(d / "cases.csv", index=False)
    cur.to_excel(d / "cases.xlsx", index=False)
    cur.to_parquet(d / "cases.parquet", index=False)
    return d, demo_scheme, w


def _price(d, scheme, src, out, *extra):
    r = runner.invoke(app, ["price", str(d / src), "-s", str(scheme.path), "-w", str(d / "w"),
                            "-p", str(d / "pol.toml"), "-o", str(d / out), *extra])
    assert r.exit_code == 0, r.output
    return " ".join(r.output.split())


def _read(path):
    if str(path).endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_streamed_equals_in_memory(region, fmt):
    d, scheme, _ = region
    mem_text = _price(d, scheme, "cases.xlsx", f"mem.{fmt}")            # a workbook: in memory
    st_text = _price(d, scheme, f"cases.{fmt}", f"st.{fmt}", "--chunk-rows", "37")  # streamed
    assert "cases/s" in st_text and "yuan/point" in mem_text  # the two paths were taken
    mem, st = _read(d / f"mem.{fmt}"), _read(d / f"st.{fmt}")
    assert list(st.columns) == list(mem.columns) and list(st.columns)[-1] == "final_amount"
    if fmt == "csv":  # the text written, cell by cell
        pd.testing.assert_frame_equal(st, mem)
    else:
        pd.testing.assert_frame_equal(st, mem, check_dtype=False, check_categorical=False)
    # final amount = the approved special-review amount, else the payment; some approved
    p = st
    ok = p["sr_approved"].astype(str).str.lower() == "true"
    assert ok.sum() > 0
    want = np.where(ok, p["sr_amount"].astype(float), p["payment"].astype(float))
    np.testing.assert_array_equal(p["final_amount"].astype(float).to_numpy(), want)
    assert (p["final_amount"].astype(float) != p["payment"].astype(float)).any()
    # the same warning and the same summary numbers on both paths
    for text in (mem_text, st_text):
        assert "1 hospital(s)" in text and "H_NEW" in text and "new-group coefficient" in text
    tail = lambda t: t[t.index("┏"):]  # noqa: E731 - the class table and special-review line
    assert tail(st_text) == tail(mem_text)


def test_streamed_lang_headers_equal_in_memory(region):
    d, scheme, _ = region
    _price(d, scheme, "cases.xlsx", "mem_en.csv", "--lang", "en", "-q")
    _price(d, scheme, "cases.csv", "st_en.csv", "--lang", "en", "-q", "--chunk-rows", "50")
    mem, st = _read(d / "mem_en.csv"), _read(d / "st_en.csv")
    assert "final amount (yuan)" in st.columns
    pd.testing.assert_frame_equal(st, mem)


def test_streamed_warning_even_quiet(region):
    d, scheme, _ = region
    text = _price(d, scheme, "cases.parquet", "q.parquet", "-q", "--chunk-rows", "100")
    assert "H_NEW" in text and "┏" not in text


def test_streamed_published_table_read_once(region, monkeypatch):
    d, scheme, w = region
    table = w.groups[w.groups["rw"].notna()][["group", "rw", "mean_cost", "mean_los"]]
    table.set_axis(["DRG编码", "权重", "次均费用", "平均住院日"], axis=1).to_csv(d / "pub.csv", index=False)
    import grouper.cases as gc

    seen: list[str] = []
    real = gc.read_raw

    def counting(path, *a, **k):
        seen.append(str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(gc, "read_raw", counting)
    monkeypatch.setattr(grouper, "read_table", lambda p, **k: pytest.fail(f"read whole: {p}"))
    for src in ("cases.csv", "cases.xlsx"):
        out = "pub_st.csv" if src.endswith(".csv") else "pub_mem.csv"
        r = runner.invoke(app, ["price", str(d / src), "-s", str(scheme.path), "-w", str(d / "pub.csv"),
                                "-p", str(d / "pol.toml"), "--coefficient", "1.1", "--point-value", "80",
                                "-o", str(d / out), "-q", "--chunk-rows", "64"])
        assert r.exit_code == 0, r.output
        assert "hospital(s)" not in r.output  # every hospital of the file has the coefficient
    assert seen.count(str(d / "pub.csv")) == 2 and seen.count(str(d / "cases.csv")) == 0, seen
    assert seen.count(str(d / "cases.xlsx")) == 1, seen
    st, mem = _read(d / "pub_st.csv"), _read(d / "pub_mem.csv")
    pd.testing.assert_frame_equal(st, mem)
    grouped = st["case_class"] != "ungroupable"
    assert set(st.loc[grouped, "coefficient"].astype(float)) == {1.1}
