"""The on-disk cache of compiled schemes: plain arrays and JSON, never a pickle.

A compiled scheme is stored as one ``.npz`` file (read with ``allow_pickle=False``) holding
every numeric array of :class:`~grouper.compile.CompiledScheme` plus a ``__meta__`` byte array:
UTF-8 JSON with the format version, the scheme's content hash, the string lists and a SHA-256
checksum over all of it. On load every check must pass — format version, source hash, checksum,
field names, dtypes, shapes and every index the kernel follows (jump targets, list ids, step,
rule and branch ranges, CSR offsets) — or the file is discarded with a one-line warning and the
scheme is recompiled. The bounds checks are what keeps a hand-crafted file (one whose checksum
was recomputed) from crashing the kernel or looping: jump targets must point strictly backwards
(the compiler emits children before parents), so every program terminates.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Protocol

import numpy as np

from .compile import (
    ACCEPT,
    CMP_INDEX,
    FIELD_INDEX,
    FORMAT_VERSION,
    OP_ANY_DX_IN,
    OP_ANY_PROC_IN,
    OP_ANY_SDX_IN,
    OP_ANY_SPROC_IN,
    OP_CMP,
    OP_DEPT_CMP,
    OP_INT_CMP,
    OP_MAIN_PROC_IN,
    OP_NAMES,
    OP_NONZERO,
    OP_PDX_IN,
    OP_PRESENT,
    OP_REGIONS,
    REJECT,
    RETIRED_OPS,
    STEP_QY,
    STEP_RULE,
    CompiledScheme,
    compile_scheme,
    result_labels,
    vocabularies,
)
from .errors import SchemeError
from .textkey import text_literals, text_slot, text_slots


class Scheme(Protocol):
    """What the cache reads of a loaded scheme (not imported: grouper.scheme imports this module)."""

    content_hash: str
    meta: dict
    tables: dict

#: dtype of every array field, as :func:`compile_scheme` builds it (a test pins this)
ARRAY_DTYPES: dict[str, str] = {
    "dx_map": "int32", "pr_map": "int32", "dx_chain": "bool", "pr_chain": "bool",
    "dx_bits": "uint64", "pr_bits": "uint64", "cc_level": "int8", "cc_excl": "int32",
    "pdx_excl": "int32", "region_of": "int16", "prog": "int32", "prog_val": "float64",
    "mdc": "int32", "steps": "int32", "rules": "int32", "branches": "int32", "retry": "int32",
    "pdx_steps_off": "int64", "pdx_steps": "int32", "main_steps_off": "int64",
    "main_steps": "int32", "open_steps": "int32", "pdx_mdcs_off": "int64", "pdx_mdcs": "int32",
    "main_mdcs_off": "int64", "main_mdcs": "int32", "open_mdcs": "int32",
}
TEXT_FIELDS = ("dx_vocab", "pr_vocab", "dx_list_names", "pr_list_names", "region_tables",
               "region_names", "dept_literals", "text_fields", "text_literals", "mdc_letters",
               "rule_ids", "results")
_NESTED_TEXT = ("region_names", "text_literals")  # lists of lists of text


class CacheRejected(ValueError):
    """A cache file failed a check; the message says which."""


def cache_dir() -> Path:
    """Where compiled schemes are cached: ``$DRGSIM_CACHE`` or ``~/.cache/drgsim``."""
    d = os.environ.get("DRGSIM_CACHE")
    return Path(d) if d else Path.home() / ".cache" / "drgsim"


def cache_path(content_hash: str) -> Path:
    """The cache file of a scheme with this content hash."""
    return cache_dir() / f"scheme-{content_hash[:32]}-v{FORMAT_VERSION}.npz"


def _checksum(meta: dict, arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(meta, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_compiled(c: CompiledScheme, path: Path) -> None:
    """Write ``c`` atomically (temporary file beside ``path``, then rename)."""
    arrays = {name: getattr(c, name) for name in ARRAY_DTYPES}
    meta = {"format_version": FORMAT_VERSION, "content_hash": c.content_hash,
            **{name: getattr(c, name) for name in TEXT_FIELDS}}
    meta["checksum"] = _checksum(meta, arrays)
    blob = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, __meta__=blob, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_compiled(path: Path, s: Scheme) -> CompiledScheme:
    """Read and verify the cache file of scheme ``s``; :class:`CacheRejected` names the failed check."""
    content_hash = s.content_hash
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise CacheRejected(f"unreadable ({type(e).__name__})") from None
    blob = data.pop("__meta__", None)
    if blob is None or blob.dtype != np.uint8 or blob.ndim != 1:
        raise CacheRejected("no metadata")
    try:
        meta = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CacheRejected("metadata is not JSON") from None
    if not isinstance(meta, dict):
        raise CacheRejected("metadata is not an object")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CacheRejected("format version differs")
    if meta.get("content_hash") != content_hash:
        raise CacheRejected("built from another scheme")
    stored = meta.pop("checksum", None)
    if set(data) != set(ARRAY_DTYPES):
        raise CacheRejected("array fields differ")
    if set(meta) != {"format_version", "content_hash", *TEXT_FIELDS}:
        raise CacheRejected("metadata fields differ")
    if stored != _checksum(meta, data):
        raise CacheRejected("checksum mismatch")
    for name, dt in ARRAY_DTYPES.items():
        if data[name].dtype != np.dtype(dt):
            raise CacheRejected(f"{name}: dtype {data[name].dtype}, expected {dt}")
    for name in TEXT_FIELDS:
        v = meta[name]
        ok = isinstance(v, list) and all(
            isinstance(x, str) or (name in _NESTED_TEXT and isinstance(x, list)
                                   and all(isinstance(y, str) for y in x)) for x in v)
        if not ok:
            raise CacheRejected(f"{name}: not a list of text")
    c = CompiledScheme(content_hash=content_hash,
                       **{k: meta[k] for k in TEXT_FIELDS}, **data)
    check_bounds(c)
    check_labels(c, s)
    return c


def check_labels(c: CompiledScheme, s: Scheme) -> None:
    """The labels an id decodes to are the scheme's own (cheap to rebuild, so never trusted)."""
    (dx, _), (pr, _) = vocabularies(s)
    m = s.meta
    for name, want in (("dx_vocab", dx), ("pr_vocab", pr), ("results", result_labels(m)),
                       ("mdc_letters", list(m["grouping"]["mdc_order"])),
                       ("rule_ids", list(m["adrg_rules"]))):
        if getattr(c, name) != want:
            raise CacheRejected(f"{name}: labels differ from the scheme")
    fields, lits = text_literals(m)
    for name, want in (("text_fields", fields), ("text_literals", lits)):
        if getattr(c, name) != want:
            raise CacheRejected(f"{name}: labels differ from the scheme")


def _within(name: str, a: np.ndarray, lo: int, hi: int) -> None:
    if a.size and (int(a.min()) < lo or int(a.max()) >= hi):
        raise CacheRejected(f"{name}: index out of range [{lo}, {hi})")


def _shape(name: str, a: np.ndarray, shape: tuple) -> None:
    if a.shape != shape:
        raise CacheRejected(f"{name}: shape {a.shape}, expected {shape}")


def _csr(name: str, off: np.ndarray, items: np.ndarray, n_rows: int, n_targets: int) -> None:
    _shape(name + "_off", off, (n_rows + 1,))
    if off[0] != 0 or off[-1] != len(items) or (np.diff(off) < 0).any():
        raise CacheRejected(f"{name}_off: not a valid offset array")
    _within(name, items, 0, n_targets)


def check_bounds(c: CompiledScheme) -> None:
    """Every index the kernel follows lies inside the array it indexes (raises CacheRejected)."""
    nd, npr = len(c.dx_vocab), len(c.pr_vocab)
    ndl, npl = len(c.dx_list_names), len(c.pr_list_names)
    for name, n in (("dx_map", nd), ("dx_chain", nd), ("cc_level", nd), ("cc_excl", nd),
                    ("pdx_excl", nd), ("pr_map", npr), ("pr_chain", npr)):
        _shape(name, getattr(c, name), (n,))
    _within("dx_map", c.dx_map, -1, nd)
    _within("pr_map", c.pr_map, -1, npr)
    _within("cc_level", c.cc_level, 0, 3)
    _shape("dx_bits", c.dx_bits, (nd, max(1, (ndl + 63) // 64) + 1))
    _shape("pr_bits", c.pr_bits, (npr, max(1, (npl + 63) // 64)))
    nt = len(c.region_tables)
    if len(c.region_names) != nt:
        raise CacheRejected("region_names: one list per region table expected")
    _shape("region_of", c.region_of, (max(1, nt), nd))
    for t in range(nt):
        _within("region_of", c.region_of[t], -1, len(c.region_names[t]))
    n_instr = len(c.prog)
    _shape("prog", c.prog, (n_instr, 5))
    _shape("prog_val", c.prog_val, (n_instr,))
    ops = c.prog[:, 0]
    _within("prog op", ops, 0, len(OP_NAMES))
    pcs = np.arange(n_instr)
    for col in (3, 4):  # jump targets: ACCEPT, REJECT or an earlier instruction
        t = c.prog[:, col]
        if ((t != ACCEPT) & (t != REJECT) & ((t < 0) | (t >= pcs))).any():
            raise CacheRejected("prog: a jump target is not an earlier instruction")
    a, b = c.prog[:, 1], c.prog[:, 2]
    ncmp = len(CMP_INDEX)
    for op_set, arg, hi in (((OP_PDX_IN, OP_ANY_DX_IN, OP_ANY_SDX_IN), a, ndl),
                            ((OP_MAIN_PROC_IN, OP_ANY_PROC_IN, OP_ANY_SPROC_IN), a, npl),
                            ((OP_CMP, OP_PRESENT, OP_NONZERO), a, len(FIELD_INDEX)),
                            ((OP_CMP, OP_INT_CMP), b, ncmp),
                            ((OP_REGIONS,), a, nt)):
        _within(f"prog argument of {'/'.join(OP_NAMES[o] for o in op_set)}",
                arg[np.isin(ops, op_set)], 0, hi)
    if np.isin(ops, RETIRED_OPS).any():
        raise CacheRejected(f"prog: retired opcode {OP_NAMES[OP_DEPT_CMP]} / present(dept)")
    # text key: one slot per text field, each within 31 bits; an OP_INT_CMP names one of them
    if len(c.text_literals) != len(c.text_fields) or len(set(c.text_fields)) != len(c.text_fields):
        raise CacheRejected("text_literals: one list per text field expected")
    try:
        slots = {text_slot(*sl) for sl in text_slots(c.text_literals)}
    except SchemeError as e:
        raise CacheRejected(f"text_literals: {e.problem}") from None
    int_a = a[ops == OP_INT_CMP]
    if not np.isin(int_a, sorted(slots | {-1})).all():
        raise CacheRejected("prog argument of int_cmp: not the procedure count or a text slot")
    want = c.text_literals[c.text_fields.index("dept")] if "dept" in c.text_fields else []
    if c.dept_literals != want:
        raise CacheRejected("dept_literals: differ from the dept text literals")

    def entry(name: str, pc: np.ndarray) -> None:
        _within(name, pc, min(ACCEPT, REJECT), n_instr)

    n_steps, n_rules, n_br, n_res = len(c.steps), len(c.rules), len(c.branches), len(c.results)
    _shape("mdc", c.mdc, (len(c.mdc_letters), 3))
    _shape("steps", c.steps, (n_steps, 5))
    _shape("rules", c.rules, (len(c.rule_ids), 5))
    _shape("branches", c.branches, (n_br, 2))
    _shape("retry", c.retry, (2,))
    entry("mdc entry", c.mdc[:, 0])
    if ((c.mdc[:, 1] < 0) | (c.mdc[:, 1] > c.mdc[:, 2]) | (c.mdc[:, 2] > n_steps)).any():
        raise CacheRejected("mdc: step range out of bounds")
    kind = c.steps[:, 0]
    _within("steps kind", kind, min(STEP_RULE, STEP_QY), max(STEP_RULE, STEP_QY) + 1)
    _within("steps rule", c.steps[kind == STEP_RULE, 1], 0, n_rules)
    entry("steps pc", c.steps[kind == STEP_QY, 3])
    _within("steps result", c.steps[kind == STEP_QY, 4], 0, n_res)
    entry("rules entry", c.rules[:, 0])
    if ((c.rules[:, 1] < 0) | (c.rules[:, 1] > c.rules[:, 2]) | (c.rules[:, 2] > n_br)).any():
        raise CacheRejected("rules: branch range out of bounds")
    _within("rules mode", c.rules[:, 3], 0, 2)
    _within("rules result", c.rules[:, 4], 0, n_res)
    entry("branches pc", c.branches[:, 0])
    _within("branches result", c.branches[:, 1], 0, n_res)
    _csr("pdx_steps", c.pdx_steps_off, c.pdx_steps, nd, n_steps)
    _csr("main_steps", c.main_steps_off, c.main_steps, npr, n_steps)
    _within("open_steps", c.open_steps, 0, n_steps)
    n_mdc = len(c.mdc_letters)
    _csr("pdx_mdcs", c.pdx_mdcs_off, c.pdx_mdcs, nd, n_mdc)
    _csr("main_mdcs", c.main_mdcs_off, c.main_mdcs, npr, n_mdc)
    _within("open_mdcs", c.open_mdcs, 0, n_mdc)


def compile_scheme_cached(s: Scheme) -> CompiledScheme:
    """Compile, or load the verified compiled form cached under the scheme's content hash.

    A cache file that fails any check is discarded with a one-line warning and rebuilt; a cache
    directory that cannot be written only costs the recompilation.
    """
    path = cache_path(s.content_hash)
    if path.exists():
        try:
            return load_compiled(path, s)
        except CacheRejected as e:
            warnings.warn(f"drgsim: discarded scheme cache {path}: {e}; rebuilding",
                          RuntimeWarning, stacklevel=2)
            try:
                path.unlink()
            except OSError:
                pass
    c = compile_scheme(s)
    try:
        save_compiled(c, path)
    except OSError:
        pass  # a read-only home still works, just without the cache
    return c

