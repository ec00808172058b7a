"""Property tests: the vectorised DIP build and grouping agree with the pure-Python reference
(``tests/naive_dip.py``, which reads the saved catalogue files itself), and every core case of a history groups back to its own
combination."""

from __future__ import annotations

import math
import tempfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from naive_dip import key_code, naive_build, naive_group

from grouper.dip import DipConfig, build_catalogue, group
from grouper.dip.synth import tiny_scheme

SCHEME = tiny_scheme()
DX = list(SCHEME["diagnoses"]["code"])
PR = list(SCHEME["procedures"]["code"])

case = st.fixed_dictionaries({
    "principal": st.sampled_from(DX[:4] + ["K80.100"] * 3),
    "secondary": st.lists(st.sampled_from(DX), max_size=3),
    "procedures": st.lists(st.sampled_from(PR), max_size=4),
    "cost": st.floats(1, 1e5, allow_nan=False).map(lambda x: round(x, 2)),
    "year": st.sampled_from([2022, 2023, 2024, 2025]),
    "age": st.sampled_from([0, 5, 30, 80]),
    "sep": st.sampled_from(["|", ","]),
    "noise": st.sampled_from(["none"] * 8 + ["sex", "dx", "pr"]),
})
config = st.builds(
    DipConfig,
    dx_level=st.sampled_from([0, 3, 4]),
    proc_level=st.sampled_from([0, 3, 4]),
    procedures=st.sampled_from(["all", "or", "non_diagnostic"]),
    core_threshold=st.integers(1, 4),
    scale=st.sampled_from([100, 1000]),
    year_weights=st.sampled_from([(), (1.0, 2.0, 7.0), (1.0, 1.0)]),
    year_weighting=st.sampled_from(["yearly_means", "per_case"]),
    aux_min_cases=st.integers(1, 3),
)


def to_frame(cases: list[dict]) -> pd.DataFrame:
    rows = []
    for i, c in enumerate(cases):
        dx = c["sep"].join([c["principal"], *c["secondary"]])
        pr = c["sep"].join(c["procedures"])
        if c["noise"] == "dx":
            dx += "|X99.999"
        if c["noise"] == "pr":
            pr = "00.0000"
        rows.append({"case_id": f"c{i}", "sex": 9 if c["noise"] == "sex" else 1 + i % 2, "age": c["age"],
                     "age_days": 10 if c["age"] == 0 else None, "birth_weight": 3000 if c["age"] == 0 else None,
                     "diagnoses": dx, "procedures": pr, "total_cost": c["cost"], "year": c["year"]})
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(case, min_size=1, max_size=40), config)
def test_build_and_group_match_reference(cases, cfg):
    df = to_frame(cases)
    cat = build_catalogue(df, cfg, SCHEME)
    ref = naive_build(df, cfg, SCHEME)
    got = cat.groups.set_index("group_code")
    assert set(got.index) == set(ref) - {"__all__"}
    if len(got):
        assert cat.all_case_mean == pytest.approx(ref["__all__"]["mean"], rel=1e-9)
    for code, r in got.iterrows():
        assert r["type"] == ref[code]["type"]
        assert r["cases"] == ref[code]["cases"]
        assert r["mean"] == pytest.approx(ref[code]["mean"], rel=1e-9)
        assert r["score"] == pytest.approx(ref[code]["score"], rel=1e-9)
    out = group(df, cat, SCHEME)
    with tempfile.TemporaryDirectory() as tmp:
        exp = naive_group(df, cat.save(tmp), SCHEME)
    assert len(out) == len(exp)
    for (_, o), e in zip(out.iterrows(), exp, strict=True):
        for k in ("status", "dip_group", "dip_type", "aux_level"):
            assert o[k] == e.get(k, ""), (k, o.to_dict(), e)
        for k in ("score", "aux_coefficient", "final_score"):
            if k in e:
                assert o[k] == pytest.approx(e[k], rel=1e-12)
            else:
                assert math.isnan(o[k])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(case, min_size=1, max_size=60), config, st.sampled_from(["none", "iqr", "sd", "percentile"]))
def test_core_cases_group_back_to_their_own_combination(cases, cfg, trim):
    cfg = DipConfig(**{**cfg.to_dict(), "year_weights": tuple(cfg.year_weights), "trim": trim, "trim_min_cases": 3})
    df = to_frame(cases)
    cat = build_catalogue(df, cfg, SCHEME)
    out = group(df, cat, SCHEME)
    ok = out["status"] == "SUCCESS"
    codes = set(cat.groups["group_code"])
    # Recompute each valid case's combination by hand from its text.
    or_codes = set(SCHEME["or_procedures"]["code"])
    diag = ("45.13", "87.41")
    combo = []
    for c in cases:
        procs = c["procedures"]
        if cfg.procedures == "or":
            procs = [p for p in procs if p in or_codes]
        elif cfg.procedures == "non_diagnostic":
            procs = [p for p in procs if not p.startswith(diag)]
        keys = sorted({key_code(p, cfg.proc_level, 2) for p in procs})
        combo.append(f"{key_code(c['principal'], cfg.dx_level, 3)}/{'+'.join(keys) or 'none'}")
    combo = np.array(combo, dtype=object)
    # Cases the build used: valid and inside the year window (the newest k calendar years).
    years = np.array([c["year"] for c in cases])
    used = ok.to_numpy(dtype=bool).copy()
    if cfg.year_weights and used.any():
        used &= years > years[used].max() - len(cfg.year_weights)
    counts = pd.Series(combo[used]).value_counts()
    for i in np.flatnonzero(used):
        if counts.get(combo[i], 0) >= cfg.core_threshold:
            assert combo[i] in codes
            assert out["dip_type"].iloc[i] == "core" and out["dip_group"].iloc[i] == combo[i]
        else:
            assert out["dip_type"].iloc[i] == "comprehensive"
            assert out["dip_group"].iloc[i].startswith(cases[i]["principal"][:3] + "/")
    # Every case the build used finds a group, with a finite final score.
    assert (out.loc[used, "dip_type"] != "unmatched").all()
    assert np.isfinite(out.loc[used, "final_score"]).all()


def test_reference_imports_nothing_from_the_dip_package():
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).parent / "naive_dip.py").read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert names and not [m for m in names if m.startswith("grouper") or m.startswith(".")], names
