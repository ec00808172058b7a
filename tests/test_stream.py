"""drgsim.stream: chunked readers and writers, group_file and group_price_file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from shared_data import ROOT

import grouper
from drgsim import stream
from grouper import CaseFileError, group
from grouper.cases import read_cases

CASES = ROOT / "sample_cases" / "cases.csv"


@pytest.fixture(scope="module")
def cases_df():
    return read_cases(CASES)


@pytest.fixture(scope="module")
def expected(cases_df, demo_scheme):
    return group(cases_df, demo_scheme)


def test_csv_to_parquet_equals_in_memory(tmp_path, demo_scheme, expected):
    out = tmp_path / "g.parquet"
    st = stream.group_file(CASES, out, demo_scheme, chunk_rows=1000)
    assert st.rows == len(expected) and st.chunks == -(-len(expected) // 1000)
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    assert pq.ParquetFile(out).metadata.num_row_groups == st.chunks


def test_dataset_dir_natural_order_to_csv(tmp_path, demo_scheme, cases_df):
    # part-10 must come after part-2: a plain string sort would put it first
    d = tmp_path / "ds"
    d.mkdir()
    cuts = [0, 100, 2500, 2501, 9000, len(cases_df)]
    names = ["part-0", "part-2", "part-10", "part-11", "part-100"]
    for name, a, b in zip(names, cuts[:-1], cuts[1:]):
        cases_df.iloc[a:b].to_parquet(d / f"{name}.parquet", index=False)
    (d / "_SUCCESS").write_text("")  # marker files are not data
    out = tmp_path / "g.csv"
    stream.group_file(d, out, demo_scheme, chunk_rows=777)
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    want = group(cases_df, demo_scheme)
    assert got["case_id"].tolist() == cases_df["case_id"].tolist()
    assert got["drg"].tolist() == want["drg"].tolist()
    assert got["status"].tolist() == want["status"].astype(str).tolist()


def test_keep_columns_to_parquet_dir(tmp_path, demo_scheme, cases_df):
    src = tmp_path / "in.parquet"
    cases_df.to_parquet(src, index=False)
    out = tmp_path / "outdir"
    st = stream.group_file(src, out, demo_scheme, chunk_rows=4000, keep_columns=True)
    assert len(list(out.glob("part-*.parquet"))) == st.chunks == 4
    got = pd.read_parquet(out)
    pd.testing.assert_frame_equal(got, group(cases_df, demo_scheme, keep_columns=True))


def test_chunks_have_exact_size(cases_df):
    src = stream.CaseSource(CASES, chunk_rows=5000)
    sizes = [len(t) for t in src.tables()]
    assert sizes == [5000, 5000, len(cases_df) - 10000]
    with pytest.raises(ValueError):
        stream.CaseSource(CASES, chunk_rows=0)


def test_only_grouper_columns_read():
    src = stream.CaseSource(CASES, chunk_rows=100, columns=stream.GROUP_INPUT_COLUMNS)
    t = next(src.tables())
    assert "total_cost" not in t.column_names and "diagnoses" in t.column_names


def test_csv_codes_stay_text(tmp_path, demo_scheme):
    p = tmp_path / "z.csv"
    p.write_text("case_id,sex,age,dept,diagnoses\n007,1,40,01,K35.800\n", encoding="utf-8")
    df = next(iter(stream.CaseSource(p, chunk_rows=10)))
    assert df["case_id"].tolist() == ["007"] and df["dept"].tolist() == ["01"]


def test_gb18030_and_chinese_headers(tmp_path, demo_scheme, cases_df):
    head = cases_df.head(50)
    cn = pd.DataFrame({"病案号": head["case_id"], "性别": head["sex"].map({1: "男", 2: "女"}),
                       "年龄": head["age"], "主要诊断": head["diagnoses"].str.split("|").str[0],
                       "其他诊断": head["diagnoses"].str.split("|").str[1:].str.join("；"),
                       "手术操作": head["procedures"]})
    p = tmp_path / "cn.csv"
    cn.to_csv(p, index=False, encoding="gb18030")
    out = tmp_path / "o.parquet"
    stream.group_file(p, out, demo_scheme, chunk_rows=7)
    got = pd.read_parquet(out)
    want = group(read_cases(p), demo_scheme)
    pd.testing.assert_frame_equal(got, want)


def test_error_rows_count_from_file_start(tmp_path):
    lines = ["case_id,sex,age,diagnoses"] + [f"c{i},1,30,K35.800" for i in range(25)]
    lines[21] = "c20,1,thirty,K35.800"  # data row 21
    p = tmp_path / "bad.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # a bad cell is a row status and a warning (issue 13 item 1); rows are the spreadsheet's
    # (data row 21 is row 22), counted from the file start in every chunk
    with pytest.warns(grouper.CaseValueWarning, match=r"column 'age'.*row 22 'thirty'"):
        chunks = list(stream.CaseSource(p, chunk_rows=8))
    got = pd.concat(chunks, ignore_index=True)
    assert len(got) == 25 and list(got.index[got["read_status"] != "OK"]) == [20]
    assert got["read_warnings"].iloc[20] == "age 'thirty' is not a number, treated as missing (row 22)"


def test_missing_input_and_unknown_type(tmp_path):
    with pytest.raises(CaseFileError):
        stream.CaseSource(tmp_path / "nope.parquet")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(CaseFileError):
        stream.CaseSource(tmp_path / "x.json")


def test_writer_error_surfaces(tmp_path, demo_scheme):
    def boom(res):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        stream.group_file(CASES, None, demo_scheme, chunk_rows=500, on_chunk=boom)


def test_compute_error_surfaces(tmp_path):
    src = stream.CaseSource(CASES, chunk_rows=500)

    def bad(df):
        raise ZeroDivisionError("x")

    with pytest.raises(ZeroDivisionError):
        stream.run_chunks(src, bad, tmp_path / "o.parquet")


def test_bounded_chunks_seen(demo_scheme):
    seen = []
    st = stream.group_file(CASES, None, demo_scheme, chunk_rows=3000, on_chunk=lambda r: seen.append(len(r)),
                           progress=True)
    assert max(seen) == 3000 and sum(seen) == st.rows


def test_writer_casts_later_chunks(tmp_path):
    w = stream.ChunkWriter(tmp_path / "a.parquet")
    w.write(pa.table({"x": pa.array(["a"], pa.string())}))
    w.write(pa.table({"x": pa.nulls(2)}))
    w.close()
    assert pd.read_parquet(tmp_path / "a.parquet")["x"].tolist()[0] == "a"


# --- pricing ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def priced_setup(cases_df, demo_scheme):
    from payment import compute_weights, load_policy

    g = group(cases_df, demo_scheme, keep_columns=True)
    # approval below 1 so "not_approved" occurs, a small quota so "over_quota" occurs
    pol = load_policy("national_drg").with_overrides(
        {"special_review": {"approval_rate": 0.5, "quota_rate": 0.02}})
    return g, pol, compute_weights(g, pol)


@pytest.mark.parametrize("chunk_rows", [997, 20000])
def test_group_price_file_equals_price(tmp_path, demo_scheme, priced_setup, chunk_rows):
    from payment import price

    g, pol, w = priced_setup
    want = price(g, w, pol)
    want.attrs = {}
    assert {"approved", "not_approved", "over_quota"} <= set(want["sr_status"].astype(str))
    out = tmp_path / "p.parquet"
    stream.group_price_file(CASES, out, demo_scheme, w, pol, chunk_rows=chunk_rows)
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)
    assert not list(tmp_path.glob(".drgsim-price-*"))  # scratch removed


def test_price_grouped_input_from_weights_dir(tmp_path, priced_setup):
    from payment import price

    g, pol, w = priced_setup
    src = tmp_path / "grouped.parquet"
    g.to_parquet(src, index=False)
    w.save(tmp_path / "w")
    out = tmp_path / "p.parquet"
    stream.group_price_file(src, out, None, tmp_path / "w", pol, grouped=True, chunk_rows=3001,
                            special_review=False)
    want = price(g, w, pol, special_review=False)
    want.attrs = {}
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)


def test_row_wise_check_names_cross_case_keys(priced_setup):
    """Only price_rows (chunks priced independently) refuses them; group_price_file does them
    exactly (tests/test_determinism.py)."""
    _, pol, _ = priced_setup
    stream.check_row_wise(pol)
    readm = pol.with_overrides({"readmission": {"enabled": True},
                                "point_value": {"source": "budget", "budget": 1e6}})
    with pytest.raises(ValueError, match='readmission.*"budget"'):
        stream.check_row_wise(readm)
    assert stream.needs_first_pass(readm) and not stream.needs_first_pass(pol)


def test_cross_case_ledger_spills_by_patient(tmp_path, cases_df, demo_scheme):
    """Facts spilled to buckets by patient give the whole-table flags and Σ points."""
    import numpy as np

    from payment import compute_weights, load_policy, price
    from payment.pricing import total_points

    g = group(cases_df, demo_scheme, keep_columns=True)
    pol = load_policy("zhejiang_drg").with_overrides(
        {"point_value": {"source": "budget", "budget": 5e8}})
    w = compute_weights(g, pol)
    want = price(g, w, pol)
    led = stream.CrossCaseLedger(w, pol, spill_dir=tmp_path, buckets=5)
    for off in range(0, len(g), 4000):
        part = g.iloc[off:off + 4000]
        led.add(price(part, w, pol, readmit_flags=np.zeros(len(part), bool)), part, off)
    assert len(list(tmp_path.glob("readmit-*.arrow"))) == 5
    led.decide()
    assert not list(tmp_path.glob("readmit-*.arrow"))
    np.testing.assert_array_equal(
        led.flag_rows, np.flatnonzero((want["case_class"] == "readmission").to_numpy()))
    assert led.points_total == total_points(want["points"].to_numpy())
    assert led.flags(10, 5).shape == (5,)


# --- DIP and the CLI -------------------------------------------------------------------------------


def test_dip_group_file_equals_dip_group(tmp_path, cases_df, demo_scheme):
    from grouper.dip import DipConfig, build_catalogue
    from grouper.dip import group as dip_group

    cat = build_catalogue(cases_df, DipConfig(core_threshold=5), demo_scheme)
    want = dip_group(cases_df, cat, demo_scheme)
    out = tmp_path / "dip.parquet"
    st = stream.dip_group_file(CASES, out, cat, demo_scheme, chunk_rows=3001)
    assert st.chunks == 5
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)


def test_cli_group_streams_parquet(tmp_path, cases_df, demo_scheme):
    from typer.testing import CliRunner

    from drgsim.cli import app

    src = tmp_path / "in.parquet"
    cases_df.to_parquet(src, index=False)
    out = tmp_path / "out.parquet"
    r = CliRunner().invoke(app, ["group", str(src), "-s", str(demo_scheme.path), "-o", str(out),
                                 "--chunk-rows", "2500", "--threads", "1"])
    assert r.exit_code == 0, r.output
    assert "13,887 cases" in r.output
    # The CLI keeps the input columns by default (issue 13: its output must be priceable).
    pd.testing.assert_frame_equal(pd.read_parquet(out),
                                  group(cases_df, demo_scheme, keep_columns=True))
    assert pq.ParquetFile(out).metadata.num_row_groups == 6


def test_cli_price_streams_grouped_file(tmp_path, priced_setup):
    from typer.testing import CliRunner

    from drgsim.cli import app
    from drgsim.priced_output import finish_priced
    from payment import price

    g, pol, w = priced_setup
    nat = w  # fitted under national_drg with SR overrides; the CLI uses the plain preset
    src = tmp_path / "grouped.parquet"
    g[["case_id", "hospital_id", "hospital_level", "total_cost", "los", "discharge_mode", "year",
       "discharge_date", "status", "drg"]].to_parquet(src, index=False)
    nat.save(tmp_path / "w")
    out = tmp_path / "p.parquet"
    r = CliRunner().invoke(app, ["price", str(src), "-w", str(tmp_path / "w"), "-p", "national_drg",
                                 "-o", str(out), "--chunk-rows", "4000"])
    assert r.exit_code == 0, r.output
    from payment import load_policy

    # the command line adds the final amount per case (drgsim.priced_output), in memory too
    want = finish_priced(price(pd.read_parquet(src), w, load_policy("national_drg")))
    want.attrs = {}
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)


def test_cli_price_streams_readmission_preset(tmp_path, priced_setup):
    """A readmission preset streams too (no fall-back to the in-memory path)."""
    from typer.testing import CliRunner

    from drgsim.cli import app
    from drgsim.priced_output import finish_priced
    from payment import load_policy, price

    g, _, w = priced_setup
    src = tmp_path / "grouped.parquet"
    g[["case_id", "hospital_id", "hospital_level", "patient_id", "total_cost", "los",
       "discharge_mode", "year", "admission_date", "discharge_date", "status",
       "drg"]].to_parquet(src, index=False)
    w.save(tmp_path / "w")
    out = tmp_path / "p.parquet"
    r = CliRunner().invoke(app, ["price", str(src), "-w", str(tmp_path / "w"), "-p", "zhejiang_drg",
                                 "-o", str(out), "--chunk-rows", "5000"])
    assert r.exit_code == 0, r.output
    assert "cases/s" in r.output  # the streaming summary
    # the command line adds the final amount per case (drgsim.priced_output), in memory too
    want = finish_priced(price(pd.read_parquet(src), w, load_policy("zhejiang_drg")))
    want.attrs = {}
    assert (want["case_class"] == "readmission").any()
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)


def test_dataset_files_with_different_columns(tmp_path, demo_scheme, cases_df):
    d = tmp_path / "ds"
    d.mkdir()
    a, b = cases_df.iloc[:4000], cases_df.iloc[4000:]
    a.drop(columns=["dept", "birth_weight"]).to_parquet(d / "part-0.parquet", index=False)
    b.assign(age=b["age"].astype("float64")).to_parquet(d / "part-1.parquet", index=False)
    stream.group_file(d, tmp_path / "o.parquet", demo_scheme, chunk_rows=3000)
    got = pd.read_parquet(tmp_path / "o.parquet")
    want = pd.concat([group(a.drop(columns=["dept", "birth_weight"]), demo_scheme),
                      group(b, demo_scheme)], ignore_index=True)
    pd.testing.assert_frame_equal(got, want)


def _assert_same_weights(a, b):
    for t in ("groups", "hospital_groups", "level_groups", "hospitals"):
        pd.testing.assert_frame_equal(getattr(a, t), getattr(b, t), obj=t)
    assert a.manifest() == b.manifest()


@pytest.mark.parametrize("policy", ["national_drg", "zhejiang_drg"])
def test_weights_file_equals_compute_weights(tmp_path, demo_scheme, cases_df, policy):
    from payment import compute_weights, load_policy

    pol = load_policy(policy)
    g = group(cases_df, demo_scheme, keep_columns=True)
    want = compute_weights(g, pol)
    # ungrouped CSV, grouped on the way
    _assert_same_weights(stream.weights_file(CASES, pol, demo_scheme, chunk_rows=4001), want)
    # an already grouped Parquet file: no scheme needed
    src = tmp_path / "hist.parquet"
    g.to_parquet(src, index=False)
    _assert_same_weights(stream.weights_file(src, policy, chunk_rows=5000), want)
    with pytest.raises(ValueError, match="group it first"):
        stream.weights_file(CASES, pol)


# --- settlement aggregates -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_region_policy():
    import tomllib

    from payment import load_policy

    scen = tomllib.loads((ROOT / "sample_cases" / "scenario_demo.toml").read_text(encoding="utf-8"))
    return load_policy(scen["policy"]).with_overrides(scen["overrides"])


def _priced_with_columns(g, pol, w):
    from payment import price

    p = price(g, w, pol)
    p.attrs = {}
    return p.assign(patient_paid=g["patient_paid"].to_numpy(), alliance_id=g["alliance_id"].to_numpy())


def test_settlement_inputs_file_equals_prepare(tmp_path, demo_region_policy, cases_df, demo_scheme):
    from payment import compute_weights
    from payment.settlement import encode, prepare, settle_inputs

    pol = demo_region_policy
    g = group(cases_df, demo_scheme, keep_columns=True)
    priced = _priced_with_columns(g, pol, compute_weights(g, pol))
    src = tmp_path / "priced.parquet"
    priced.to_parquet(src, index=False)
    want = prepare(priced, pol)
    assert len(want.alliance_ids) == 2 and want.ad.sum() > 0 and want.has_patient_paid
    got = stream.settlement_inputs_file(src, pol, chunk_rows=997)
    assert list(got.hospital_ids) == list(want.hospital_ids)
    for f in ("hospital_level", "member_of", "n_cases", "n_sr"):
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f)
    for f in ("hd", "md", "ad", "base_points"):
        np.testing.assert_allclose(getattr(got, f), getattr(want, f), rtol=1e-12, atol=1e-6, err_msg=f)
    a = settle_inputs(got, encode(got, pol)).cents
    b = settle_inputs(want, encode(want, pol)).cents
    for k in b:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)  # integer cents: identical


def test_settlement_merge_patient_paid_missing_in_one_chunk(demo_region_policy, cases_df, demo_scheme):
    from drgsim.aggregate import merge_settlement_inputs
    from payment import compute_weights
    from payment.settlement import prepare

    pol = demo_region_policy
    g = group(cases_df, demo_scheme, keep_columns=True)
    priced = _priced_with_columns(g, pol, compute_weights(g, pol))
    priced.loc[5000, "patient_paid"] = np.nan
    want = prepare(priced, pol)
    got = merge_settlement_inputs([prepare(priced.iloc[:4000], pol), prepare(priced.iloc[4000:], pol)])
    assert not got.has_patient_paid and not want.has_patient_paid
    np.testing.assert_allclose(got.hd, want.hd, rtol=1e-12, atol=1e-6)
    with pytest.raises(ValueError):
        merge_settlement_inputs([])


def test_special_review_ties_broken_by_case_id(tmp_path, demo_scheme, cases_df, priced_setup):
    """Every case twice (same gain, other id): the quota must pick by case id, as review does."""
    from payment import price

    _, pol, w = priced_setup
    twin = cases_df.assign(case_id="A" + cases_df["case_id"].astype(str))
    both = pd.concat([cases_df, twin], ignore_index=True)
    src = tmp_path / "both.parquet"
    both.to_parquet(src, index=False)
    want = price(group(both, demo_scheme, keep_columns=True), w, pol)
    want.attrs = {}
    out = tmp_path / "p.parquet"
    stream.group_price_file(src, out, demo_scheme, w, pol, chunk_rows=5000)
    got = pd.read_parquet(out)
    pd.testing.assert_frame_equal(got, want)
    # a twin pair split by the quota exists, so the tie-break mattered
    st = got["sr_status"].astype(str).to_numpy()
    n = len(cases_df)
    assert ((st[:n] == "over_quota") != (st[n:] == "over_quota")).any()


def test_pandas_index_column_is_not_a_case_column(tmp_path, demo_scheme, cases_df):
    src = tmp_path / "idx.parquet"
    cases_df.head(500).set_index(pd.Index(range(1000, 1500))).to_parquet(src)  # index stored
    out = tmp_path / "o.parquet"
    stream.group_file(src, out, demo_scheme, keep_columns=True, chunk_rows=123)
    got = pd.read_parquet(out)
    assert not any(c.startswith("__index_level_") for c in got.columns)
    pd.testing.assert_frame_equal(got, group(cases_df.head(500), demo_scheme, keep_columns=True))


def _encodings(path) -> dict[str, set[str]]:
    md = pq.ParquetFile(path).metadata
    rg = md.row_group(0)
    return {rg.column(i).path_in_schema: set(rg.column(i).encodings) for i in range(rg.num_columns)}


def test_group_and_code_columns_dictionary_encoded(tmp_path, demo_scheme, priced_setup):
    """Group and code columns are written dictionary-encoded; the values read back are those
    of the in-memory result, for a file and for a dataset directory."""
    from payment import price

    g, pol, w = priced_setup
    out = tmp_path / "p.parquet"
    stream.group_price_file(CASES, out, demo_scheme, w, pol, chunk_rows=4000)
    enc = _encodings(out)
    for c in ("group", "hospital_id", "case_class", "sr_status", "priced_as"):
        assert "RLE_DICTIONARY" in enc[c], (c, enc[c])
    want = price(g, w, pol)
    want.attrs = {}
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)
    d = tmp_path / "gdir"
    stream.group_file(CASES, d, demo_scheme, chunk_rows=4000)
    part = sorted(d.glob("part-*.parquet"))[0]
    enc = _encodings(part)
    for c in ("drg", "adrg", "mdc", "status"):
        assert "RLE_DICTIONARY" in enc[c], (c, enc[c])
    pd.testing.assert_frame_equal(pd.read_parquet(d), group(read_cases(CASES), demo_scheme))


def test_stream_stats_cpu_by_thread(tmp_path, demo_scheme):
    st = stream.group_file(CASES, tmp_path / "g.parquet", demo_scheme, chunk_rows=2000)
    assert st.cpu_seconds > 0 and st.compute_cpu > 0 and st.write_cpu > 0
    assert st.compute_cpu + st.write_cpu <= st.cpu_seconds + 0.05
    assert st.cores_busy == pytest.approx(st.cpu_seconds / st.seconds)


def test_apply_selection_leaves_its_input_unchanged(tmp_path, demo_scheme, priced_setup):
    """apply_selection copies only the four columns it sets (a shallow copy)."""
    from payment import price
    from payment.review_selection import ReviewLedger, apply_selection

    g, pol, w = priced_setup
    pre = price(g, w, pol, special_review=True)
    ledger = ReviewLedger()
    ledger.add(pre, g, 0)
    sel = ledger.select(pol)
    before = pre.copy(deep=True)
    got = apply_selection(pre, sel, 0)
    pd.testing.assert_frame_equal(pre, before)
    assert got["sr_status"].dtype == pre["sr_status"].dtype
    pd.testing.assert_frame_equal(got, pre)  # the whole table at once: the same choice
