"""DIP validation statuses agree with the DRG grouper case by case (shared conformance corpus)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import grouper
from grouper.dip import DipConfig, build_catalogue, group

CHS = Path(__file__).resolve().parents[2] / "shared" / "schemes" / "chs-drg-1.1"
pytestmark = pytest.mark.skipif(not CHS.exists(), reason="shared CHS-DRG 1.1 scheme not present")


@pytest.fixture(scope="module")
def corpus():
    scheme = grouper.load_scheme(CHS)
    cases = pd.read_csv(CHS / "conformance" / "cases.csv", dtype=str, keep_default_na=False, na_values=[""])
    expected = pd.read_csv(CHS / "conformance" / "expected.csv", dtype=str, keep_default_na=False)
    return scheme, cases, expected


def _as_dip(status: pd.Series) -> np.ndarray:
    # DRG outcomes after validation (QY, FAIL) are valid cases for DIP.
    return status.replace({"QY": "SUCCESS", "FAIL": "SUCCESS"}).to_numpy(dtype=object)


def test_strict_statuses_match_the_reference_corpus(corpus):
    scheme, cases, expected = corpus
    cat = build_catalogue(cases, DipConfig(core_threshold=5), scheme, strict=True)
    out = group(cases, cat, scheme, strict=True)
    assert (out["status"].to_numpy(dtype=object) == _as_dip(expected["status"])).all()
    # The package's own exact-match validation (scheme given as plain tables) agrees too.
    tables = dict(scheme.tables)
    own = group(cases, cat, tables)
    assert (own["status"].to_numpy(dtype=object) == _as_dip(expected["status"])).all()
    ok = (out["status"] == "SUCCESS").to_numpy()
    pd.testing.assert_frame_equal(own[ok].reset_index(drop=True), out[ok].reset_index(drop=True))


def test_default_mode_statuses_match_the_drg_grouper(corpus):
    scheme, cases, _ = corpus
    drg = grouper.group(cases, scheme)
    cat = build_catalogue(cases, DipConfig(core_threshold=5), scheme)
    out = group(cases, cat, scheme)
    assert (out["status"].to_numpy(dtype=object) == _as_dip(drg["status"])).all()
    # Repaired codes are grouped: more valid cases than in strict mode.
    assert (out["status"] == "SUCCESS").sum() > (group(cases, cat, scheme, strict=True)["status"] == "SUCCESS").sum()
