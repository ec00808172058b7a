"""Conformance: every shared corpus, strict and no-mapping modes, 100 % of cases.

On a mismatch the actual result is written beside the expected one (in the pytest temp dir)
so the difference can be read case by case.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shared_data import SCHEMES, read_corpus, require_shared

import grouper
from grouper.explain import explain_all

COLS = ["status", "mdc", "adrg", "drg"]
CORPORA = (("cases", "expected"), ("edge_cases", "edge_expected"))


def _load(name):
    base = require_shared() / "schemes" / name
    return grouper.load_scheme(base), base / "conformance"


def _mismatch(out: pd.DataFrame, exp: pd.DataFrame) -> np.ndarray:
    assert list(out["case_id"].astype(str)) == list(exp["case_id"]), "row order or ids differ"
    return (out[COLS].astype(str).to_numpy() != exp[COLS].to_numpy()).any(axis=1)


@pytest.mark.parametrize("scheme_name", SCHEMES)
@pytest.mark.parametrize("corpus,expected", CORPORA)
@pytest.mark.parametrize("mode,suffix", [({"strict": True}, ""), ({"strict": True, "mapping": False}, "_nomap"), ({"mapping": False}, "_nomap")])
def test_corpus_matches_reference(scheme_name, corpus, expected, mode, suffix, tmp_path):
    scheme, conf = _load(scheme_name)
    cases = read_corpus(conf / f"{corpus}.csv")
    exp = read_corpus(conf / f"{expected}{suffix}.csv").fillna("")
    out = grouper.group(cases, scheme, **mode)
    bad = _mismatch(out, exp)
    if bad.any():
        side = pd.concat([out[bad].reset_index(drop=True), exp[bad][COLS].reset_index(drop=True).add_prefix("expected_")], axis=1)
        side.to_csv(tmp_path / f"{scheme_name}-{corpus}{suffix}.mismatch.csv", index=False)
    assert int(bad.sum()) == 0, f"{bad.sum()} of {len(bad)} cases differ; see {tmp_path}"
    assert len(out) == len(cases)


@pytest.mark.parametrize("scheme_name", SCHEMES)
@pytest.mark.parametrize("corpus,expected", CORPORA)
def test_default_mode_differs_only_where_codes_were_corrected(scheme_name, corpus, expected):
    scheme, conf = _load(scheme_name)
    cases = read_corpus(conf / f"{corpus}.csv")
    exp = read_corpus(conf / f"{expected}.csv").fillna("")
    out = grouper.group(cases, scheme)
    strict = grouper.group(cases, scheme, strict=True)
    bad = _mismatch(out, exp)
    warned = (out["warnings"].astype(str) != "").to_numpy()
    # exactly: every difference carries a warning, and no unwarned case changed
    assert not (bad & ~warned).any()
    assert (out.loc[~warned, COLS].astype(str).to_numpy() == strict.loc[~warned, COLS].astype(str).to_numpy()).all()
    assert (strict["warnings"].astype(str) == "").all()
    if corpus == "cases":
        # the noisy tenth of the corpus gives the normaliser real work: it must rescue cases
        rescued = (strict["status"].astype(str) != "SUCCESS") & (out["status"].astype(str) == "SUCCESS")
        assert rescued.sum() > 0


@pytest.mark.parametrize("scheme_name", SCHEMES)
def test_explain_agrees_with_group_on_every_conformance_case(scheme_name):
    scheme, conf = _load(scheme_name)
    for corpus, _ in CORPORA:
        cases = read_corpus(conf / f"{corpus}.csv")
        out = grouper.group(cases, scheme)
        xs = explain_all(cases, scheme)
        got = np.array([[x.status, x.mdc, x.adrg, x.drg] for x in xs])
        assert (got == out[COLS].astype(str).to_numpy()).all()


def test_threads_give_identical_results():
    scheme, conf = _load("zhejiang-2022")
    cases = read_corpus(conf / "cases.csv")
    one = grouper.group(cases, scheme, threads=1)
    two = grouper.group(cases, scheme, threads=2)
    pd.testing.assert_frame_equal(one, two)
