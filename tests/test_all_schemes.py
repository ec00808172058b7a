"""Every scheme folder in ../shared/schemes, discovered (not listed): strict and strict
no-mapping grouping equal the independent grouper's answers on every corpus case.

The three schemes of test_conformance.py get the deeper checks there (default mode, explain);
here every other folder gets the 100 % corpus check, so a new scheme is tested by being added.
"""

from __future__ import annotations

import numpy as np
import pytest
from shared_data import SCHEMES, read_corpus, require_shared, shared_dir

import grouper

COLS = ["status", "mdc", "adrg", "drg"]
#: folders whose forms are not implemented yet, with the reason (xfail strict: fixing one fails
#: the test until it is removed here)
KNOWN_GAPS = {
    "changzhou-2022": "a code at two severity levels and field_in are not implemented yet",
}


def discovered() -> list[str]:
    d = shared_dir()
    if d is None:
        return []
    return sorted(p.name for p in (d / "schemes").iterdir()
                  if (p / "scheme.json").is_file() and (p / "conformance").is_dir()
                  and p.name not in SCHEMES)


def _params():
    out = []
    for name in discovered():
        marks = [pytest.mark.xfail(reason=KNOWN_GAPS[name], strict=True)] if name in KNOWN_GAPS else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("name", _params())
def test_scheme_corpora_match_reference(name):
    base = shared_dir() / "schemes" / name
    scheme = grouper.load_scheme(base)
    conf = base / "conformance"
    checked = 0
    for corpus, expected in (("cases", "expected"), ("edge_cases", "edge_expected")):
        if not (conf / f"{corpus}.csv").exists():
            continue
        cases = read_corpus(conf / f"{corpus}.csv")
        for mode, suffix in (({"strict": True}, ""), ({"strict": True, "mapping": False}, "_nomap")):
            exp = read_corpus(conf / f"{expected}{suffix}.csv").fillna("")
            out = grouper.group(cases, scheme, **mode)
            assert list(out["case_id"].astype(str)) == list(exp["case_id"])
            bad = (out[COLS].astype(str).to_numpy() != exp[COLS].to_numpy()).any(axis=1)
            assert int(bad.sum()) == 0, f"{name} {corpus}{suffix}: {bad.sum()} of {len(bad)} differ"
            checked += len(out)
    assert checked > 0


def test_discovery_finds_every_folder():
    d = require_shared()  # skips locally without ../shared, fails under CI=true
    names = {p.name for p in (d / "schemes").iterdir() if (p / "scheme.json").is_file()}
    assert names == set(discovered()) | set(SCHEMES) & names
    assert np.all([n in names for n in KNOWN_GAPS])
