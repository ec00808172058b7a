"""The compiled-scheme cache: plain arrays + JSON, verified on load, never unpickled.

Each test plants a file where the cache lives and checks that no code runs, the groups are the
ones a fresh compile gives, a one-line warning names the file, and the cache is rebuilt.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from planted_caches import Payload, resign, rewrite
from shared_data import ROOT

import grouper
from grouper import scheme_cache
from grouper.compile import CompiledScheme, compile_scheme

MARKER = Path("/tmp") / "drgsim-planted-cache-ran"
  # unpickling a Payload(MARKER) writes it

@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DRGSIM_CACHE", str(tmp_path / "cache"))
    MARKER.unlink(missing_ok=True)
    yield tmp_path / "cache"
    assert not MARKER.exists(), "a planted cache file ran code"


@pytest.fixture(scope="module")
def truth():
    cases = grouper.read_cases(ROOT / "sample_cases" / "cases.csv").head(3000)
    s = grouper.load_scheme(grouper.demo_scheme_path())
    fresh = compile_scheme(s)
    return cases, fresh


def _group(cases):
    grouper.engine._ENGINES.clear()  # as a new process would: read the scheme and its cache again
    return grouper.group(cases, grouper.load_scheme(grouper.demo_scheme_path()))


def _path() -> Path:
    s = grouper.load_scheme(grouper.demo_scheme_path())
    return scheme_cache.cache_path(s.content_hash)


def test_layout_pins_every_field():
    s = grouper.load_scheme(grouper.demo_scheme_path())
    c = compile_scheme(s)
    names = {f.name for f in fields(CompiledScheme)}
    assert names == {"content_hash", *scheme_cache.ARRAY_DTYPES, *scheme_cache.TEXT_FIELDS}
    for name, dt in scheme_cache.ARRAY_DTYPES.items():
        assert getattr(c, name).dtype == np.dtype(dt), name


def test_round_trip_is_exact_and_not_a_pickle(cache, truth):
    cases, fresh = truth
    first = _group(cases)
    path = _path()
    assert path.exists() and zipfile.is_zipfile(path)
    with zipfile.ZipFile(path) as z:  # every member is a plain .npy, no object arrays
        for name in z.namelist():
            assert name.endswith(".npy")
            assert b"pickle" not in z.read(name)[:128].lower()
    loaded = scheme_cache.load_compiled(path, grouper.load_scheme(grouper.demo_scheme_path()))
    for f in fields(CompiledScheme):
        a, b = getattr(loaded, f.name), getattr(fresh, f.name)
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b, f.name
    assert _group(cases).equals(first)


def _planted(cache, truth, plant, reason: str):
    cases, _ = truth
    want = _group(cases)  # builds a good cache
    path = _path()
    plant(path)
    with pytest.warns(RuntimeWarning, match=reason) as rec:
        got = _group(cases)
    msg = str(rec[0].message)
    assert "\n" not in msg and str(path) in msg and "rebuilding" in msg
    assert got.equals(want)
    # rebuilt: the next run is silent and loads a valid file
    scheme_cache.load_compiled(path, grouper.load_scheme(grouper.demo_scheme_path()))


def test_pickle_with_payload_never_runs(cache, truth):
    _planted(cache, truth, lambda p: p.write_bytes(pickle.dumps(Payload(MARKER))), "unreadable")


def test_npz_holding_an_object_array_is_not_unpickled(cache, truth):
    def plant(p):
        buf = io.BytesIO()
        np.save(buf, np.array([Payload(MARKER)], dtype=object), allow_pickle=True)
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("__meta__.npy", buf.getvalue())
    _planted(cache, truth, plant, "unreadable")


def test_truncated_file(cache, truth):
    _planted(cache, truth, lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
             "unreadable")


def test_swapped_labels_detected_by_checksum(cache, truth):
    def edit(arrays, meta):
        r = meta["results"]
        r[1], r[2] = r[2], r[1]
    _planted(cache, truth, lambda p: rewrite(p, edit), "checksum")


def test_swapped_labels_with_a_forged_checksum(cache, truth):
    def edit(arrays, meta):
        r = meta["results"]
        r[1], r[2] = r[2], r[1]
        resign(arrays, meta)
    _planted(cache, truth, lambda p: rewrite(p, edit), "results: labels differ")


def test_swapped_vocabulary_with_a_forged_checksum(cache, truth):
    def edit(arrays, meta):
        v = meta["dx_vocab"]
        v[0], v[5] = v[5], v[0]
        resign(arrays, meta)
    _planted(cache, truth, lambda p: rewrite(p, edit), "dx_vocab: labels differ")


@pytest.mark.parametrize("field,row,col,value,reason", [
    ("prog", 0, 3, 10**6, "jump target"),
    ("prog", -1, 4, -1, None),  # a self-loop or forward jump: must be rejected (termination)
    ("prog", 0, 0, 99, "prog op"),
    ("prog", 0, 1, 10**6, "prog argument"),
    ("steps", 0, 1, 10**6, None),
    ("branches", 0, 1, 10**6, "branches result"),
    ("mdc", 0, 2, 10**6, "mdc"),
    ("dx_map", 0, None, 10**6, "dx_map"),
    ("pdx_steps_off", -1, None, 10**6, "pdx_steps_off"),
])
def test_out_of_range_index_with_a_forged_checksum(cache, truth, field, row, col, value, reason):
    def edit(arrays, meta):
        a = arrays[field]
        if field == "prog" and col == 4 and value == -1:
            # point the last instruction at itself
            a[row, col] = len(a) - 1
        elif col is None:
            a[row] = value
        else:
            a[row, col] = value
        resign(arrays, meta)
    _planted(cache, truth, lambda p: rewrite(p, edit), reason or "")


def test_wrong_dtype_and_missing_field(cache, truth):
    def edit(arrays, meta):
        arrays["prog"] = arrays["prog"].astype(np.int64)
        resign(arrays, meta)
    _planted(cache, truth, lambda p: rewrite(p, edit), "prog: dtype")

    def drop(arrays, meta):
        del arrays["rules"]
        resign(arrays, meta)
    _planted(cache, truth, lambda p: rewrite(p, drop), "array fields differ")


def test_unwritable_cache_dir_still_groups(tmp_path, monkeypatch, truth):
    cases, _ = truth
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("DRGSIM_CACHE", str(blocker / "sub"))  # cannot be created
    assert len(_group(cases)) == len(cases)


def test_nothing_in_the_package_unpickles():
    import subprocess
    out = subprocess.run(["grep", "-rnE", r"pickle\.(load|loads)\(|allow_pickle=True",
                          str(ROOT / "grouper"), str(ROOT / "payment"), str(ROOT / "drgsim")],
                         capture_output=True, text=True)
    assert out.stdout == ""
