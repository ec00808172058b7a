"""Measured detection (issue 15 item 5): patterns injected by benchmarks/inject_supervision.py
into the sample region put the injected hospitals first for their signal, the injected split
pairs and restricted-code cases are all found, and the clean region flags few hospitals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import inject_supervision as inj  # noqa: E402


@pytest.fixture(scope="module")
def run():
    return inj.sample_run(seed=15)


def test_injected_hospitals_rank_first(run):
    _, injected, truth = run
    hs = injected.hospital_signals
    for sig, hospitals in truth.hospitals.items():
        top = (hs[hs.signal == sig].sort_values("score", ascending=False)
               .hospital_id.head(len(hospitals) + 1).tolist())
        # every injected hospital is among the first len(injected) + 1 (levels are scored apart)
        assert hospitals <= set(top), (sig, top)
        flagged = set(hs[(hs.signal == sig) & hs.flagged].hospital_id)
        assert hospitals <= flagged, (sig, flagged)


def test_injected_cases_found(run):
    clean, injected, truth = run
    cf = injected.case_flags
    split = cf[cf.signal == "split_admission"]
    found = set(zip(split.case_id, split.other_case_id))
    assert truth.split_pairs <= found
    restricted = set(cf[cf.signal == "restricted_code"].case_id)
    assert restricted == truth.restricted_cases
    up = set(cf[cf.signal == "upcoding"].case_id)
    # the cases listed behind upcoding are mostly ones that were upcoded
    assert len(up & truth.upcoded_cases) >= 0.5 * len(up) > 0


def test_clean_region_flags_few(run):
    clean, _, _ = run
    hs = clean.hospital_signals
    n_h = hs.hospital_id.nunique()
    per_signal = hs.groupby("signal").flagged.sum()
    assert per_signal.max() <= 1 and per_signal.sum() <= 2, per_signal.to_dict()
    assert n_h == 32


def test_scores_table(run):
    clean, injected, truth = run
    s = inj.scores(injected.hospital_signals, injected.case_flags, truth, clean.case_flags)
    hosp = s[s.level == "hospital"]
    assert (hosp.recall == 1.0).all()
    assert (hosp.precision >= 0.5).all()
