"""The supervision kernels (payment/_signals_kernels.py) against the numpy / Arrow / pandas
expressions they replace: each must give the same result to the element."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from payment import _signals_kernels as K
from payment.signals_codes import _stem_table
from payment.signals_facts import iso_days, joint_codes, text_buffers
from payment.supervision import _pair_class, _pairs


@pytest.mark.parametrize("hi", [1, 2, 7, 1000, 2**20, 2**41, 2**62 - 1])
def test_radix_argsort_is_the_stable_argsort(hi):
    rng = np.random.default_rng(hi % 97)
    for n in (0, 1, 2, 17, 5000):
        keys = rng.integers(0, hi, n, dtype=np.int64)
        assert np.array_equal(K.radix_argsort(keys), np.argsort(keys, kind="stable"))


def test_radix_sort_carries_the_payload():
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 2**35, 4000, dtype=np.int64)
    payload = rng.integers(-5, 10**9, 4000, dtype=np.int64)
    skeys, spay = K.radix_sort(keys, payload)
    o = np.argsort(keys, kind="stable")
    assert np.array_equal(skeys, keys[o]) and np.array_equal(spay, payload[o])


def test_radix_argsort_ties_keep_row_order():
    keys = np.array([5, 3, 5, 0, 3, 5, 0], dtype=np.int64)
    assert K.radix_argsort(keys).tolist() == [3, 6, 1, 4, 0, 2, 5]


def _pairs_numpy(order, pat, adm, dis, ok, key, exempt, nh, window):
    a, b = order[:-1], order[1:]
    gap = adm[b] - dis[a]
    pair = (pat[a] == pat[b]) & (gap >= 0) & (gap <= window)
    pair &= ok[a] & ok[b] & (key[a] >= 0) & (key[a] == key[b]) & ~exempt[a] & ~exempt[b]
    pair &= (a >= nh) | (b >= nh)
    return a[pair], b[pair], gap[pair].astype(np.int64)


@pytest.mark.parametrize("seed", range(5))
def test_split_pairs_is_the_numpy_test(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    pat = rng.integers(-1, 300, n)
    adm = rng.integers(0, 60, n).astype(np.float64)
    dis = adm + rng.integers(0, 5, n)
    ok, exempt = rng.random(n) < 0.9, rng.random(n) < 0.1
    key = rng.integers(-1, 4, n)
    order = np.lexsort((dis, adm, pat))
    nh = int(rng.integers(0, n))
    got = K.split_pairs(order, pat, adm, dis, _pair_class(ok, exempt, key), nh, 14)
    want = _pairs_numpy(order, pat, adm, dis, ok, key, exempt, nh, 14)
    assert len(want[0]) > 0
    for g, w in zip(got, want):
        assert np.array_equal(g, w)


def _iso_days_before(s: pd.Series) -> np.ndarray:
    """iso_days as it was before the kernel: Arrow's strptime, then pandas for the rest."""
    s = s.reset_index(drop=True)
    arr = pa.array(s.astype("str").to_numpy(object), type=pa.string(), from_pandas=True)
    ts = pc.strptime(arr, format="%Y-%m-%d", unit="s", error_is_null=True)
    out = pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64)
    out = np.where(pc.is_null(ts).to_numpy(zero_copy_only=False), np.nan, out / 86400.0)
    retry = np.isnan(out) & s.notna().to_numpy(bool)
    d = pd.to_datetime(s[retry], errors="coerce", format="mixed")
    out[retry] = (d - pd.Timestamp("1970-01-01")).dt.days.to_numpy(np.float64, na_value=np.nan)
    return out


def test_iso_days_plain_and_other_text():
    s = pd.Series(["1970-01-01", "1970-01-02", "2024-02-29", "2000-02-29", "2023/01/05",
                   "2023-1-5", None, "", "nan", "2023-13-01", "2023-00-10", "2023-01-00",
                   "1969-12-31", "2023-03-04 10:00:00", "abcd-ef-gh", "2023-01-31"],
                  dtype=object)
    want = [0, 1, 19782, 11016, 19362, 19362, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan,
            -1, 19420, np.nan, 19388]
    np.testing.assert_array_equal(iso_days(s), np.array(want, dtype=np.float64))
    # days 29-31 past a month's end and years before 1000 are left to Arrow as before (it rolls
    # 2023-02-30 over to 2023-03-02): the same numbers as the previous implementation
    odd = pd.Series(["2023-02-29", "2023-02-30", "2023-04-31", "1900-02-29", "0999-12-31",
                     "2023-02-32", "2023-05-06"] * 3, dtype=object)
    np.testing.assert_array_equal(iso_days(odd), _iso_days_before(odd))


def test_iso_day_numbers_parse_only_plain_dates():
    text = ["2023-05-06", "2023-5-06", "2023-05-06 ", "0999-12-31", "9999-12-31", "2023-02-29"]
    out, done = K.iso_day_numbers(*text_buffers(pa.array(text)))
    assert done.tolist() == [True, False, False, False, True, False]
    assert out[0] == 19483.0 and out[4] == 2932896.0


def _arrow_codes(*cols):
    whole = pa.concat_arrays([pa.array(c, type=pa.string(), from_pandas=True) for c in cols])
    enc = whole.dictionary_encode()
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    bad = {i for i, v in enumerate(enc.dictionary.to_pylist()) if v in ("", "nan", "None",
                                                                        "<NA>")}
    idx = np.array([-1 if (c < 0 or c in bad) else c for c in idx], dtype=np.int64)
    return idx, enc.dictionary.to_pylist()


@pytest.mark.parametrize("kind", ["short", "long", "nul", "unicode"])
def test_joint_codes_are_arrows_dictionary_codes(kind):
    rng = np.random.default_rng(3)
    ids = [f"P{i:05d}" for i in rng.integers(0, 400, 3000)]
    ids[5], ids[9], ids[40], ids[41], ids[77] = None, "", "nan", "None", "<NA>"
    if kind == "long":
        ids[100] = "330102199001011234"
    if kind == "nul":
        ids[100] = "P\x00"
    if kind == "unicode":
        ids[100], ids[101] = "病人", "病人"
    cur = pd.Series(ids[:2000], dtype=object)
    hist = pd.Series(ids[2000:], dtype=object)
    (c, h), names = joint_codes(cur, hist)
    want, want_names = _arrow_codes(ids[:2000], ids[2000:])
    assert np.array_equal(np.concatenate([c, h]), want)
    assert names.to_pylist() == want_names
    if kind == "unicode":
        assert c[100] == c[101] >= 0


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("days", ["whole", "fractional"])
def test_pairs_is_the_numpy_test(seed, days):
    """supervision._pairs (history and period apart; sorted bit-field keys, pairs read back from
    them) against the numpy test on a lexsort by patient, admission, discharge, position."""
    rng = np.random.default_rng(seed)
    n = 4000
    pat = rng.integers(-1, 400, n)
    adm = rng.integers(18000, 18100, n).astype(np.float64)
    dis = adm + rng.integers(0, 6, n)
    adm[rng.random(n) < 0.02] = np.nan
    dis[rng.random(n) < 0.02] = np.nan
    if days == "fractional":
        adm[5] += 0.5  # not whole days: the plain sort and the array test
    ok, exempt = rng.random(n) < 0.9, rng.random(n) < 0.1
    key = rng.integers(-1, 4, n)
    nh = int(rng.integers(0, n))
    cls = _pair_class(ok, exempt, key)
    got = _pairs([(pat[:nh], adm[:nh], dis[:nh], cls[:nh]),
                  (pat[nh:], adm[nh:], dis[nh:], cls[nh:])], nh, 14)
    dated = np.flatnonzero((pat >= 0) & np.isfinite(adm) & np.isfinite(dis))
    a_int, d_int = adm[dated].astype(np.int64), dis[dated].astype(np.int64)
    order = dated[np.lexsort((d_int, a_int, pat[dated]))]
    want = _pairs_numpy(order, pat, adm, dis, ok, key, exempt, nh, 14)
    assert len(want[0]) > 20
    for g, w in zip(got, want):
        assert np.array_equal(g, w)


@pytest.mark.parametrize("n, distinct", [(0, 1), (50, 3), (5000, 40), (60000, 50000),
                                         (200000, 30000)])
def test_factorize_keys_is_pandas_factorize(n, distinct):
    """Few keys take the one-table pass, many the partitioned one; both are pd.factorize."""
    rng = np.random.default_rng(n)
    keys = rng.integers(0, distinct, n).astype(np.uint64) * np.uint64(2654435761)
    valid = rng.random(n) < 0.97
    codes, first = K.factorize_keys(keys, valid)
    want = np.full(n, -1, np.int64)
    want[valid], uniq = pd.factorize(keys[valid])
    assert np.array_equal(codes, want)
    assert np.array_equal(keys[first], uniq)
    seen, at = np.unique(codes, return_index=True)  # first row of each code
    assert np.array_equal(first, at[seen >= 0])


def test_stem_rows_is_the_regex():
    text = ["N40.1", "A01|N40.1", "A01| N40.1", "AN40", "O80.0|Z00", None, "", "C61",
            "B02|C6", "病人|N41.0", "N4", "X|Y|O"]
    stems = ["C61", "N40", "N41", "O"]
    arr = pa.array(text, type=pa.string())
    rows = np.arange(len(text), dtype=np.int64)
    got = K.stem_rows(*text_buffers(arr), rows, *_stem_table(stems))
    pat = "(?:^|\\|)(?:" + "|".join(stems) + ")"
    want = pc.match_substring_regex(arr, pat).fill_null(False).to_numpy(zero_copy_only=False)
    assert got.tolist() == want.tolist()
    assert got.tolist() == [True, True, False, False, True, False, False, True, False, True,
                            False, True]
