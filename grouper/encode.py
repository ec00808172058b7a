"""Code text -> integer ids, vectorised.

The diagnosis and procedure columns are read straight from their Arrow buffers by a numba
tokenizer that splits on ``|`` and ``,`` and looks every token up in an open-addressing hash
table of the scheme's vocabulary (FNV-1a over the UTF-8 bytes). Only the rare tokens that are
not found come back to Python, where the default (normalising) mode repairs what hospital
exports get wrong and records each change.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ._jit import kernel

FNV_OFFSET = np.uint64(14695981039346656037)
FNV_PRIME = np.uint64(1099511628211)
PIPE, COMMA = 124, 44


@kernel
def _fnv(data, s, e):
    h = FNV_OFFSET
    for k in range(s, e):
        h ^= np.uint64(data[k])
        h *= FNV_PRIME
    return h


@kernel
def _build_table(kdata, koff, size):
    """Open addressing; a slot holds (hash, id, offset << 16 | length) in one cache line, so a
    probe rejects a different key without touching the key bytes."""
    table = np.full((size, 3), -1, dtype=np.int64)
    mask = np.uint64(size - 1)
    for i in range(koff.shape[0] - 1):
        h = _fnv(kdata, koff[i], koff[i + 1])
        slot = h & mask
        while table[slot, 1] >= 0:
            slot = (slot + np.uint64(1)) & mask
        table[slot, 0] = np.int64(h)
        table[slot, 1] = i
        table[slot, 2] = (koff[i] << 16) | (koff[i + 1] - koff[i])
    return table


@kernel
def _lookup(data, s, e, kdata, table):
    mask = np.uint64(table.shape[0] - 1)
    h = _fnv(data, s, e)
    hs = np.int64(h)
    slot = h & mask
    n = e - s
    while True:
        i = table[slot, 1]
        if i < 0:
            return -1
        if table[slot, 0] == hs:
            packed = table[slot, 2]
            ks = packed >> 16
            if packed & 0xFFFF == n:
                same = True
                for k in range(n):
                    if kdata[ks + k] != data[s + k]:
                        same = False
                        break
                if same:
                    return np.int32(i)
        slot = (slot + np.uint64(1)) & mask


@kernel
def _tokenize(data, offs, valid, empty_is_none, kdata, table, accept, ids, row_off, rstart, rend):
    """Split each row on | and , and look tokens up.

    Only tokens the caller may need to repair (not in the vocabulary, or ``accept[id]`` false)
    have their byte range recorded, compactly, so the common case writes one int per token.
    Returns (tokens written, rejected tokens recorded).
    """
    t = 0
    nb = 0
    n = offs.shape[0] - 1
    for i in range(n):
        row_off[i] = t
        s = offs[i]
        e = offs[i + 1]
        if not valid[i]:
            e = s
        if s == e and empty_is_none:
            continue
        a = s
        for k in range(s, e + 1):
            if k == e or data[k] == PIPE or data[k] == COMMA:
                x = _lookup(data, a, k, kdata, table)
                ids[t] = x
                if x < 0 or not accept[x]:
                    rstart[nb] = a
                    rend[nb] = k
                    nb += 1
                t += 1
                a = k + 1
    row_off[n] = t
    return t, nb


@kernel
def _count_seps(data, lo, hi):
    n = 0
    for k in range(lo, hi):
        b = data[k]
        if b == PIPE or b == COMMA:
            n += 1
    return n


@kernel
def _gather(data, tstart, tend, idx, out, out_off):
    k = 0
    for j in range(idx.shape[0]):
        t = idx[j]
        out_off[j] = k
        for b in range(tstart[t], tend[t]):
            out[k] = data[b]
            k += 1
    out_off[idx.shape[0]] = k


@dataclass
class Vocab:
    """A string vocabulary packed for the numba lookup."""

    strings: list[str]
    kdata: np.ndarray
    koff: np.ndarray
    table: np.ndarray

    @classmethod
    def build(cls, strings: list[str]) -> Vocab:
        enc = [s.encode("utf-8") for s in strings]
        koff = np.zeros(len(enc) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in enc], out=koff[1:])
        kdata = np.frombuffer(b"".join(enc), dtype=np.uint8) if enc else np.zeros(0, np.uint8)
        if any(len(b) >= 1 << 16 for b in enc):
            raise ValueError("a code of 64 KiB or more cannot be a scheme code")
        size = 1
        while size < 1.5 * max(1, len(enc)):
            size *= 2
        return cls(strings, kdata, koff, _build_table(kdata, koff, size))


@dataclass
class Tokens:
    """Token ids of one text column: ``ids[row_off[i]:row_off[i+1]]`` belong to row i.

    ``rstart``/``rend`` are the byte ranges of the rejected tokens (not in the vocabulary or not
    accepted), in token order.
    """

    ids: np.ndarray  # int32, -1 = not in vocabulary
    row_off: np.ndarray  # int64[n+1]
    data: np.ndarray  # the column's UTF-8 bytes (to recover rejected token text)
    rstart: np.ndarray
    rend: np.ndarray

    def rejected_texts(self) -> pa.Array:
        """The text of every rejected token, in token order, as one Arrow string array."""
        idx = np.arange(len(self.rstart), dtype=np.int64)
        lens = self.rend - self.rstart
        out = np.empty(int(lens.sum()), dtype=np.uint8)
        off = np.empty(len(idx) + 1, dtype=np.int64)
        _gather(self.data, self.rstart, self.rend, idx, out, off)
        # tokens are cut at ASCII separators of valid UTF-8 text, so each is valid UTF-8
        return pa.LargeStringArray.from_buffers(len(idx), pa.py_buffer(off), pa.py_buffer(out))


#: a column of at least this many rows is dictionary-encoded first ...
DICT_MIN_ROWS = 4096
#: ... and tokenised once per distinct text when at most this share of its rows are distinct
DICT_MAX_SHARE = 0.5


@kernel
def _expand(idx, d_ids, d_off, d_start, d_end, accept, ids, row_off, rstart, rend):
    """Row i takes the tokens of distinct text ``idx[i]``; rejected ones keep their byte range
    in the dictionary's data. Returns (tokens written, rejected tokens recorded)."""
    t = 0
    nb = 0
    n = idx.shape[0]
    for i in range(n):
        row_off[i] = t
        d = idx[i]
        for k in range(d_off[d], d_off[d + 1]):
            x = d_ids[k]
            ids[t] = x
            if x < 0 or not accept[x]:
                rstart[nb] = d_start[k]
                rend[nb] = d_end[k]
                nb += 1
            t += 1
    row_off[n] = t
    return t, nb


def _text(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if not (pa.types.is_large_string(col.type) or pa.types.is_string(col.type)):
        col = col.cast(pa.large_string())
    return col


def tokenize(col: pa.Array | pa.ChunkedArray | list[str | None], vocab: Vocab,
             empty_is_none: bool, accept: np.ndarray | None = None) -> Tokens:
    """Split a text column into vocabulary ids (no Python loop per row).

    ``accept`` (bool per vocabulary id, default all) marks the ids that need no repair.
    A long column whose texts repeat (at most ``DICT_MAX_SHARE`` of its rows distinct) is
    dictionary-encoded by Arrow and each distinct text tokenised once; the result is the
    same as tokenising every row (a missing text is an empty one either way). ``col`` may
    also be a short list of texts (``None`` missing), e.g. one case: its UTF-8 bytes go to
    the same tokenizer without building an Arrow array.
    """
    if accept is None:
        accept = np.ones(max(1, len(vocab.strings)), dtype=np.bool_)
    if isinstance(col, list):
        return _tokenize_texts(col, vocab, empty_is_none, accept)
    col = _text(col)
    n = len(col)
    if n >= DICT_MIN_ROWS:
        enc = (col.fill_null("") if col.null_count else col).dictionary_encode()
        if len(enc.dictionary) <= DICT_MAX_SHARE * n:
            # accept nothing: every token of the dictionary records its byte range
            d = _tokenize_rows(enc.dictionary, vocab, empty_is_none, np.zeros(len(accept), np.bool_))
            idx = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
            cap = int(np.diff(d.row_off)[idx].sum()) if n else 0
            ids = np.empty(cap, dtype=np.int32)
            rstart = np.empty(cap, dtype=np.int64)
            rend = np.empty(cap, dtype=np.int64)
            row_off = np.empty(n + 1, dtype=np.int64)
            t, nb = _expand(idx, d.ids, d.row_off, d.rstart, d.rend, accept, ids, row_off, rstart, rend)
            return Tokens(ids[:t], row_off, d.data, rstart[:nb].copy(), rend[:nb].copy())
    return _tokenize_rows(col, vocab, empty_is_none, accept)


def _tokenize_rows(col: pa.Array, vocab: Vocab, empty_is_none: bool, accept: np.ndarray) -> Tokens:
    """:func:`tokenize` row by row over the column's Arrow buffers, read in place."""
    n = len(col)
    # read the offsets in place, 32- or 64-bit (numba compiles one tokenizer for each)
    width = 8 if pa.types.is_large_string(col.type) else 4
    offs = np.frombuffer(col.buffers()[1], dtype=np.int64 if width == 8 else np.int32, count=n + 1,
                         offset=col.offset * width)
    dbuf = col.buffers()[2]
    data = np.frombuffer(dbuf, dtype=np.uint8) if dbuf is not None else np.zeros(1, np.uint8)
    if col.null_count:
        valid = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    else:
        valid = np.ones(n, dtype=np.bool_)
    lo, hi = int(offs[0]), int(offs[-1])
    seps = int(_count_seps(data, lo, hi))
    return _tokenize_buffers(data, offs, valid, seps, vocab, empty_is_none, accept)


def _tokenize_texts(texts: list[str | None], vocab: Vocab, empty_is_none: bool,
                    accept: np.ndarray) -> Tokens:
    """:func:`tokenize` of a list of texts: the bytes an Arrow string array of them holds,
    laid out as its buffers (one case costs no Arrow array)."""
    enc = [b"" if t is None else t.encode("utf-8") for t in texts]
    offs = np.zeros(len(enc) + 1, dtype=np.int64)
    if len(enc) == 1:
        offs[1] = len(enc[0])
    else:
        np.cumsum([len(b) for b in enc], out=offs[1:])
    raw = b"".join(enc)
    data = np.frombuffer(raw, dtype=np.uint8) if raw else np.zeros(1, np.uint8)
    valid = np.array([t is not None for t in texts], dtype=np.bool_)
    seps = raw.count(b"|") + raw.count(b",")
    return _tokenize_buffers(data, offs, valid, seps, vocab, empty_is_none, accept)


def _tokenize_buffers(data: np.ndarray, offs: np.ndarray, valid: np.ndarray, seps: int,
                      vocab: Vocab, empty_is_none: bool, accept: np.ndarray) -> Tokens:
    """The tokenizer over UTF-8 ``data`` cut by ``offs`` (``seps`` separators in it)."""
    n = len(valid)
    cap = seps + n + 1
    ids = np.empty(cap, dtype=np.int32)
    # untouched pages of these are never faulted in: only rejected tokens are written
    rstart = np.empty(cap, dtype=np.int64)
    rend = np.empty(cap, dtype=np.int64)
    row_off = np.empty(n + 1, dtype=np.int64)
    t, nb = _tokenize(data, offs, valid, empty_is_none, vocab.kdata, vocab.table, accept, ids,
                      row_off, rstart, rend)
    return Tokens(ids[:t], row_off, data, rstart[:nb].copy(), rend[:nb].copy())


# --- default-mode normalisation ---------------------------------------------------------------

_SPACE = re.compile(r"\s+")


class Normaliser:
    """Repairs a code that is not accepted as given, if the repair is unambiguous.

    Tried in order: a code the scheme's own tables use (accepted as is); after NFKC folding
    (full-width -> ASCII) and removing white space; ignoring letter case; ignoring dots.
    Input-map codes win over table-only codes; a key that fits two codes is left alone.
    """

    def __init__(self, vocab: list[str], is_input: np.ndarray, acceptable: np.ndarray):
        self.vocab = vocab
        self.is_input = is_input
        self.acceptable = acceptable
        self.index = {s: i for i, s in enumerate(vocab)}
        self._case: dict[str, list[int]] = {}
        self._nodot: dict[str, list[int]] = {}
        for i, s in enumerate(vocab):
            if acceptable[i]:
                self._case.setdefault(s.casefold(), []).append(i)
                self._nodot.setdefault(s.casefold().replace(".", ""), []).append(i)
        self.memo: dict[str, tuple[int, str]] = {}

    def _pick(self, cands: list[int] | None) -> int:
        if not cands:
            return -1
        inputs = [c for c in cands if self.is_input[c]]
        pool = inputs or cands
        return pool[0] if len(pool) == 1 else -1

    def fix(self, token: str) -> tuple[int, str]:
        """(vocabulary id or -1, reason) for a token not accepted as given."""
        if token in self.memo:
            return self.memo[token]
        out = (-1, "")
        i = self.index.get(token, -1)
        if i >= 0 and self.acceptable[i]:
            out = (i, "not in the input code map; accepted because the scheme's tables use it")
        else:
            s = _SPACE.sub("", unicodedata.normalize("NFKC", token))
            j = self.index.get(s, -1)
            if s and j >= 0 and (self.is_input[j] or self.acceptable[j]):
                out = (j, "full-width characters or spaces removed")
            elif s:
                j = self._pick(self._case.get(s.casefold()))
                if j >= 0:
                    out = (j, "letter case corrected")
                else:
                    j = self._pick(self._nodot.get(s.casefold().replace(".", "")))
                    if j >= 0:
                        out = (j, "dot corrected")
        self.memo[token] = out
        return out
