"""Tokenising once per distinct text (Arrow dictionary) gives what tokenising every row gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from shared_data import read_corpus, require_shared

import grouper
from grouper import encode
from grouper.engine import _text_column, engine_for


def _repeated(n: int) -> pd.DataFrame:
    sh = require_shared()
    base = read_corpus(sh / "schemes" / "chs-drg-1.1" / "conformance" / "cases.csv").iloc[:500]
    df = pd.concat([base] * (-(-n // len(base))), ignore_index=True).iloc[:n].copy()
    # the texts the repair path sees: spaces, case, full width, empty tokens, missing cells
    rng = np.random.default_rng(7)
    rows = rng.choice(n, 300, replace=False)
    noisy = ["  ", "", None, "j18.900", "Ｊ18.900|", "I10.x00x002||E11.900", "XXX.999|A00.000"]
    df.loc[rows, "diagnoses"] = [noisy[k % len(noisy)] for k in range(len(rows))]
    df.loc[rows[:150], "procedures"] = [noisy[k % len(noisy)] for k in range(150)]
    df["case_id"] = np.arange(n).astype(str)
    return df


@pytest.fixture(scope="module")
def scheme():
    sh = require_shared()
    return grouper.load_scheme(sh / "schemes" / "chs-drg-1.1")


def test_tokens_equal_row_by_row(scheme):
    df = _repeated(20_000)
    e = engine_for(scheme)
    for col, vocab, empty_none, acc in (("diagnoses", e.dx_vocab, False, e.c.dx_map >= 0),
                                        ("procedures", e.pr_vocab, True, e.c.pr_map >= 0)):
        x = _text_column(df, col)
        assert len(pa.chunked_array([x]).unique()) <= encode.DICT_MAX_SHARE * len(df)  # dict path taken
        a = encode.tokenize(x, vocab, empty_none, acc)
        b = encode._tokenize_rows(encode._text(x), vocab, empty_none, acc)
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_array_equal(a.row_off, b.row_off)
        assert a.rejected_texts().equals(b.rejected_texts())
        assert len(b.rstart) > 0  # the repair path is exercised


@pytest.mark.parametrize("strict", [False, True])
def test_group_equal_row_by_row(scheme, strict, monkeypatch):
    df = _repeated(12_000)
    fast = grouper.group(df, scheme, strict=strict)
    monkeypatch.setattr(encode, "DICT_MIN_ROWS", 10**12)
    slow = grouper.group(df, scheme, strict=strict)
    pd.testing.assert_frame_equal(fast, slow)
    # the noisy rows reach the repair path (default) or fail the mapping (strict)
    assert slow["status"].isin(["ZD_NOT_MAPPING", "SS_NOT_MAPPING"]).any()
    assert strict or (slow["warnings"] != "").any()
