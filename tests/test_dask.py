"""drgsim.dask_engine on a real 2-process LocalCluster: results equal the pandas path exactly."""

from __future__ import annotations

import pandas as pd
import pytest
from shared_data import ROOT

pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import dask.dataframe as dd  # noqa: E402

from drgsim import dask_engine  # noqa: E402
from grouper import group  # noqa: E402

CASES = ROOT / "sample_cases" / "cases.csv"


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, worker_dashboard_address=None) as cl, \
            distributed.Client(cl) as c:
        yield c


@pytest.fixture(scope="module")
def grouped(sample_cases, demo_scheme):
    return group(sample_cases, demo_scheme, keep_columns=True)


def test_group_equals_pandas(client, sample_cases, demo_scheme):
    ddf = dd.from_pandas(sample_cases, npartitions=5)
    out = dask_engine.group(ddf, demo_scheme)
    got = out.compute()
    want = group(sample_cases, demo_scheme)
    pd.testing.assert_frame_equal(got, want)
    assert len(client.scheduler_info()["workers"]) == 2
    again = dask_engine.group(ddf, demo_scheme.path, keep_columns=True).compute()
    pd.testing.assert_frame_equal(again, group(sample_cases, demo_scheme, keep_columns=True))


def test_scheme_scattered_once_per_worker(client, demo_scheme):
    dask_engine._SCATTERED.clear()
    a = dask_engine.shared(demo_scheme)
    b = dask_engine.shared(demo_scheme)
    fut_a = next(iter(a.dask.values()))
    fut_b = next(iter(b.dask.values()))
    assert fut_a.key == fut_b.key  # reused, not sent again
    who = client.who_has([fut_a])[fut_a.key]
    assert len(who) == 2  # broadcast: one copy on each worker


def test_read_cases_parquet_dataset_and_csv(client, tmp_path, sample_cases, demo_scheme):
    d = tmp_path / "ds"
    d.mkdir()
    for i, (a, b) in enumerate([(0, 5000), (5000, 9000), (9000, len(sample_cases))]):
        sample_cases.iloc[a:b].to_parquet(d / f"part-{i}.parquet", index=False)
    want = group(sample_cases, demo_scheme)
    got = dask_engine.group(dask_engine.read_cases(d), demo_scheme).compute()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want)
    got_csv = dask_engine.group(dask_engine.read_cases(CASES, blocksize=200_000), demo_scheme).compute()
    assert got_csv["drg"].tolist() == want["drg"].tolist()
    assert got_csv["case_id"].tolist() == want["case_id"].tolist()


def test_price_and_aggregates_equal_pandas(client, grouped):
    from payment import compute_weights, load_policy, price

    pol = load_policy("national_drg")
    w = compute_weights(grouped, pol)
    want = price(grouped, w, pol, special_review=False)
    want.attrs = {}
    dg = dd.from_pandas(grouped, npartitions=4)
    got = dask_engine.price_rows(dg, w, pol).compute()
    got.attrs = {}
    pd.testing.assert_frame_equal(got, want)

    sums = dask_engine.hospital_month_sums(dd.from_pandas(want, npartitions=3))
    ref = want.groupby(["hospital_id", "month"], observed=True).agg(
        total_cost=("total_cost", "sum"), points=("points", "sum"), payment=("payment", "sum"),
        cases=("case_id", "size")).reset_index()
    pd.testing.assert_frame_equal(sums[ref.columns.tolist()], ref, check_dtype=False, rtol=1e-12)
    counts = dask_engine.group_counts(dg, by=["drg"])
    vc = grouped.groupby("drg", observed=True).size()
    assert dict(zip(counts["drg"], counts["cases"])) == vc.to_dict()

    w2 = dask_engine.compute_weights(dg, pol)
    pd.testing.assert_frame_equal(w2.groups, w.groups)


def test_settlement_inputs_equal_prepare(client, grouped):
    import numpy as np

    from payment import compute_weights, load_policy, price
    from payment.settlement import encode, prepare, settle_inputs

    pol = load_policy("national_drg")
    priced = price(grouped, compute_weights(grouped, pol), pol)
    priced.attrs = {}
    want = prepare(priced, pol)
    got = dask_engine.settlement_inputs(dd.from_pandas(priced, npartitions=4), pol)
    assert list(got.hospital_ids) == list(want.hospital_ids)
    np.testing.assert_array_equal(got.n_cases, want.n_cases)
    np.testing.assert_allclose(got.hd, want.hd, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(got.md, want.md, rtol=1e-12, atol=1e-6)
    a = settle_inputs(got, encode(got, pol)).cents
    b = settle_inputs(want, encode(want, pol)).cents
    for k in b:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_price_with_special_review_equals_pandas(client, grouped):
    from payment import compute_weights, load_policy, price

    pol = load_policy("national_drg").with_overrides(
        {"special_review": {"approval_rate": 0.5, "quota_rate": 0.02}})
    w = compute_weights(grouped, pol)
    want = price(grouped, w, pol)
    want.attrs = {}
    assert {"approved", "not_approved", "over_quota"} <= set(want["sr_status"].astype(str))
    got = dask_engine.price(dd.from_pandas(grouped, npartitions=5), w, pol).compute()
    got.attrs = {}
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize(("preset", "overrides"), [
    ("zhejiang_drg", {}),
    ("jinhua_drg", {}),
    ("zhejiang_drg", {"point_value": {"source": "budget", "budget": 5e8, "reserve_rate": 0.05}}),
])
def test_price_readmission_and_budget_equal_pandas(client, grouped, preset, overrides):
    """Readmission (a patient's stays across partitions) and a budget point value (Σ points
    of all partitions) are exact: the same table as payment.price on the whole."""
    from payment import compute_weights, load_policy, price

    pol = load_policy(preset).with_overrides(overrides) if overrides else load_policy(preset)
    w = compute_weights(grouped, pol)
    want = price(grouped, w, pol)
    want.attrs = {}
    assert (want["case_class"] == "readmission").any()
    got = dask_engine.price(dd.from_pandas(grouped, npartitions=5), w, pol, batch=2).compute()
    got.attrs = {}
    pd.testing.assert_frame_equal(got, want)
    with pytest.raises(ValueError, match="readmission"):
        dask_engine.price_rows(dd.from_pandas(grouped, npartitions=2), w, pol)
