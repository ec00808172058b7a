"""Same output whatever the chunk size, thread count or engine (pandas, streaming, Dask).

Uses the CHS-DRG 1.1 conformance cases when ../shared is present, else the demo scheme with
the sample cases (so the test always runs).
"""

from __future__ import annotations

import pandas as pd
import pytest
from shared_data import ROOT, shared_dir

from drgsim import stream
from grouper import demo_scheme_path, group, load_scheme
from grouper.cases import read_cases


@pytest.fixture(scope="module")
def corpus():
    sh = shared_dir()
    if sh is not None:
        d = sh / "schemes" / "chs-drg-1.1"
        return load_scheme(d), d / "conformance" / "cases.csv"
    return load_scheme(demo_scheme_path()), ROOT / "sample_cases" / "cases.csv"


@pytest.fixture(scope="module")
def reference(corpus):
    scheme, path = corpus
    return group(read_cases(path), scheme, threads=1)


@pytest.fixture(scope="module")
def small(tmp_path_factory, corpus):
    """The first 301 cases as a Parquet file (chunk size 1 on all of them would be slow)."""
    scheme, path = corpus
    df = read_cases(path).head(301)
    p = tmp_path_factory.mktemp("small") / "small.parquet"
    df.to_parquet(p, index=False)
    return p, group(df, scheme, threads=1)


@pytest.mark.parametrize("threads", [1, 2])
def test_pandas_threads(corpus, reference, threads):
    scheme, path = corpus
    pd.testing.assert_frame_equal(group(read_cases(path), scheme, threads=threads), reference)


@pytest.mark.parametrize("chunk_rows", [1, 2, 7, 300, 301, 1000])
def test_stream_chunk_sizes_small(tmp_path, corpus, small, chunk_rows):
    scheme, _ = corpus
    src, want = small
    out = tmp_path / "o.parquet"
    st = stream.group_file(src, out, scheme, chunk_rows=chunk_rows, threads=1)
    assert st.chunks == -(-301 // chunk_rows)
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)


@pytest.mark.parametrize(("chunk_rows", "threads"), [(4_999, 1), (4_999, 2), (1 << 20, 2)])
def test_stream_chunk_sizes_and_threads(tmp_path, corpus, reference, chunk_rows, threads):
    # 4,999 leaves a short last chunk for both corpora
    scheme, path = corpus
    assert len(reference) % chunk_rows != 0
    out = tmp_path / "o.parquet"
    stream.group_file(path, out, scheme, chunk_rows=chunk_rows, threads=threads)
    pd.testing.assert_frame_equal(pd.read_parquet(out), reference)


@pytest.mark.parametrize("npartitions", [1, 3, 8])
def test_dask_partitions(corpus, reference, npartitions):
    dd = pytest.importorskip("dask.dataframe")
    import dask

    from drgsim import dask_engine

    scheme, path = corpus
    ddf = dd.from_pandas(read_cases(path), npartitions=npartitions)
    with dask.config.set(scheduler="threads", num_workers=2):
        got = dask_engine.group(ddf, scheme).compute()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), reference)


def test_stream_and_dask_outputs_identical_files(tmp_path, corpus, reference):
    """Streaming to a Parquet dataset, read back by Dask, is the same table again."""
    dd = pytest.importorskip("dask.dataframe")
    scheme, path = corpus
    out = tmp_path / "parts"
    stream.group_file(path, out, scheme, chunk_rows=6_000)
    files = sorted(out.glob("*.parquet"))
    got = dd.read_parquet([str(f) for f in files]).compute().reset_index(drop=True)
    assert got["case_id"].tolist() == reference["case_id"].tolist()
    assert got["drg"].tolist() == reference["drg"].tolist()
    assert got["warnings"].tolist() == reference["warnings"].tolist()


@pytest.fixture(scope="module")
def pricing(corpus):
    from payment import compute_weights, load_policy

    scheme, path = corpus
    g = group(read_cases(path), scheme, keep_columns=True)
    pol = load_policy("national_drg").with_overrides(
        {"special_review": {"approval_rate": 0.5, "quota_rate": 0.02}})
    return pol, compute_weights(g, pol)


@pytest.mark.parametrize(("chunk_rows", "n"), [(1, 12), (7, 301), (300, 301)])
def test_group_price_chunk_sizes(tmp_path, corpus, small, pricing, chunk_rows, n):
    from payment import price

    scheme, _ = corpus
    df = pd.read_parquet(small[0]).head(n)  # a price call costs tens of ms: size 1 on 12 cases
    src = tmp_path / "in.parquet"
    df.to_parquet(src, index=False)
    pol, w = pricing
    want = price(group(df, scheme, keep_columns=True), w, pol)
    want.attrs = {}
    out = tmp_path / "p.parquet"
    stream.group_price_file(src, out, scheme, w, pol, chunk_rows=chunk_rows, threads=1)
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)


@pytest.mark.parametrize("threads", [1, 2])
def test_group_price_whole_corpus_threads(tmp_path, corpus, pricing, threads):
    from payment import price

    scheme, path = corpus
    pol, w = pricing
    want = price(group(read_cases(path), scheme, keep_columns=True), w, pol)
    want.attrs = {}
    out = tmp_path / "p.parquet"
    stream.group_price_file(path, out, scheme, w, pol, chunk_rows=4_999, threads=threads)
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)


# --- policies that look across cases: readmission (Zhejiang, Jinhua) and a budget point value ---

CROSS_POLICIES = {
    "zhejiang_drg": ("zhejiang_drg", {}),
    "jinhua_drg": ("jinhua_drg", {}),
    "national_budget": ("national_drg", {"point_value": {"source": "budget", "budget": 5e8,
                                                         "reserve_rate": 0.05}}),
    "zhejiang_budget": ("zhejiang_drg", {"point_value": {"source": "budget", "budget": 5e8}}),
}


@pytest.fixture(scope="module")
def sample_grouped():
    """The bundled sample cases (readmissions: same patient within 15 days), demo scheme."""
    scheme = load_scheme(demo_scheme_path())
    path = ROOT / "sample_cases" / "cases.csv"
    return scheme, path, group(read_cases(path), scheme, keep_columns=True)


def _cross_policy(name, grouped):
    from payment import compute_weights, load_policy

    preset, ov = CROSS_POLICIES[name]
    pol = load_policy(preset).with_overrides(ov) if ov else load_policy(preset)
    return pol, compute_weights(grouped, pol)


def _readmitted_subset(g, pol, w, patients: int, every: int) -> pd.DataFrame:
    """All stays of the first ``patients`` readmitted patients plus every ``every``-th case."""
    import numpy as np

    from payment import price

    p = price(g, w, pol)
    pts = g["patient_id"][(p["case_class"] == "readmission").to_numpy()].unique()[:patients]
    return g[g["patient_id"].isin(pts) | (np.arange(len(g)) % every == 0)].reset_index(drop=True)


@pytest.mark.parametrize("name", list(CROSS_POLICIES))
@pytest.mark.parametrize(("chunk_rows", "patients", "every"), [(1, 8, 500), (7, 30, 97)])
def test_cross_case_policies_chunk_sizes(tmp_path, sample_grouped, name, chunk_rows, patients,
                                         every):
    from payment import price

    _, _, g = sample_grouped
    pol, w = _cross_policy(name, g)
    zj = _cross_policy("zhejiang_drg", g)
    sub = _readmitted_subset(g, *zj, patients, every)
    assert chunk_rows == 1 or len(sub) % chunk_rows  # a short last chunk
    src = tmp_path / "grouped.parquet"
    sub.to_parquet(src, index=False)
    want = price(sub, w, pol)
    want.attrs = {}
    if pol.readmission.enabled:
        assert (want["case_class"] == "readmission").any()
    out = tmp_path / "p.parquet"
    stream.group_price_file(src, out, None, w, pol, grouped=True, chunk_rows=chunk_rows)
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)


@pytest.mark.parametrize(("name", "chunk_rows"), [("zhejiang_drg", 300), ("jinhua_drg", 4_000),
                                                  ("national_budget", 4_000),
                                                  ("zhejiang_budget", 4_000)])
def test_cross_case_policies_whole_sample(tmp_path, sample_grouped, name, chunk_rows):
    """Grouped on the way, whole sample (13,887 cases: the last chunk is short)."""
    from payment import price

    scheme, path, g = sample_grouped
    assert len(g) % chunk_rows
    pol, w = _cross_policy(name, g)
    want = price(g, w, pol)
    want.attrs = {}
    out = tmp_path / "p.parquet"
    stream.group_price_file(path, out, scheme, w, pol, chunk_rows=chunk_rows, threads=1)
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)
    assert not list(tmp_path.glob(".drgsim-price-*"))  # scratch removed
