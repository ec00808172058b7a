"""Kernels of the decision cache (:mod:`grouper.decision_cache`): look a case's key up, walk
the decision tree of its residual leaves, graft the path of an interpreted case.

Layout (all arrays owned by one :class:`grouper.decision_cache.DecisionCache`):

* ``dx_class[code]`` / ``pr_class[code]``: class of a principal diagnosis / main procedure;
  two codes share a class when their list-membership rows are equal, so every
  ``pdx_in`` / ``main_proc_in`` leaf and every step / MDC index row answers the same for them.
* ``table[slot] = (key, root)``: open addressing, linear probing, ``EMPTY`` key when free;
  the key is :func:`case_key`.
* ``nodes[v] = (pc, child if false, child if true)``: a node tests the residual leaf
  ``prog[pc]`` (:func:`grouper._kernels.residual`), evaluated by the interpreter's own
  ``eval_program`` over ``leaf_prog`` (``prog`` with every jump ending the program). A child (or a root) is a node index
  (>= 0), ``UNKNOWN`` (not seen yet) or ``-2 - result`` (a leaf of the tree: the result id).
* ``meta = [n_keys, n_nodes, log2 table size, 0]``.
"""

from __future__ import annotations

import numba
import numpy as np

from . import _kernels as K
from ._jit import kernel

EMPTY = -1  # free table slot
UNKNOWN = -1  # a root or child not grown yet
HASH = np.uint64(0x9E3779B97F4A7C15)
MISS, MISS_RETRY, SKIPPED = 1, 2, 3  # miss[i]: 0 decided by a tree; 1, 2 by the interpreter; 3 not to group
GRAFT_OK, GRAFT_FULL, GRAFT_BAD = -1, -2, -3


@kernel(inline="always")
def case_key(pdx, mainpr, m, dx_class, pr_class, n_pc, n_mc):
    """The cache key of one group_one call: (principal class, main procedure class), where an
    unknown principal is class ``n_pc`` and a case without a known main procedure is
    ``n_mc`` (has procedures) or ``n_mc + 1`` (none)."""
    p = dx_class[pdx] if pdx >= 0 else n_pc
    if mainpr >= 0:
        q = pr_class[mainpr]
    elif m >= 1:
        q = n_mc
    else:
        q = n_mc + 1
    return np.int64(p) * (n_mc + 2) + q


@kernel(inline="always")
def _home(key, bits):
    return np.int64((np.uint64(key) * HASH) >> np.uint64(64 - bits))


@kernel(inline="always")
def probe(table, bits, key):
    """Root of ``key`` (``UNKNOWN`` when absent)."""
    mask = table.shape[0] - 1
    h = _home(key, bits)
    while True:
        k = table[h, 0]
        if k == key:
            return table[h, 1]
        if k == EMPTY:
            return UNKNOWN
        h = (h + 1) & mask


@kernel
def _decide_range(lo, hi, dx_ids, dx_off, pr_ids, pr_off, nums, depts, todo, dx_bits, pr_bits,
                  cc_level, cc_excl, pdx_excl, region_of, prog, prog_val, mdc, steps, rules,
                  branches, retry, out, pdx_off, pdx_steps, main_off, main_steps, open_steps,
                  pdx_mdc_off, pdx_mdcs, main_mdc_off, main_mdcs, open_mdcs,
                  dx_class, pr_class, n_pc, n_mc, table, bits, nodes, leaf_prog, miss):
    """Cases ``lo..hi-1`` by the decision trees; a case whose path is not grown yet (or that
    needs the whole-case retry) is grouped by the interpreter and flagged in ``miss``."""
    udx = np.zeros(dx_bits.shape[1], dtype=np.uint64)
    usdx = np.zeros(dx_bits.shape[1], dtype=np.uint64)
    upr = np.zeros(2 * pr_bits.shape[1], dtype=np.uint64)
    num = np.empty(K.N_FIELDS, dtype=np.float64)
    for i in range(lo, hi):
        miss[i] = 0
        if not todo[i]:
            out[i] = -1
            miss[i] = SKIPPED
            continue
        ds = dx_off[i]
        de = dx_off[i + 1]
        ps = pr_off[i]
        pe = pr_off[i + 1]
        m = pe - ps
        pdx = dx_ids[ds] if de > ds else -1
        mainpr = pr_ids[ps] if m > 0 else -1
        v = probe(table, bits, case_key(pdx, mainpr, m, dx_class, pr_class, n_pc, n_mc))
        # the facts a residual leaf reads, computed when the first such leaf asks
        have_dx = False
        have_pr = False
        have_num = False
        mcc = False
        cc = False
        while v >= 0:
            pc = nodes[v, 0]
            op = prog[pc, 0]
            if op == K.OP_ANY_DX_IN or op == K.OP_ANY_SDX_IN or op == K.OP_HAS_MCC or op == K.OP_HAS_CC:
                if not have_dx:
                    mcc, cc = K.fold_dx(dx_bits, dx_ids, ds, de, udx, usdx)
                    have_dx = True
            elif op == K.OP_ANY_PROC_IN or op == K.OP_ANY_SPROC_IN:
                if not have_pr:
                    K._fold_pr(pr_bits, pr_ids, ps, pe, upr)
                    have_pr = True
            elif op == K.OP_CMP or op == K.OP_PRESENT or op == K.OP_NONZERO:
                if not have_num:
                    for f in range(K.N_DX):
                        num[f] = nums[f, i]
                    num[K.N_DX] = de - ds
                    for f in range(K.N_DX + 1, K.N_FIELDS):
                        num[f] = nums[f - 1, i]
                    have_num = True
            r = K.eval_program(pc, leaf_prog, prog_val, num, depts[i], pdx, mainpr, m, mcc, cc,
                               udx, usdx, upr, dx_bits, pr_bits, region_of, dx_ids, ds, de,
                               None, None)
            v = nodes[v, 2 if r else 1]
        if v != UNKNOWN:
            res = -2 - v
            if not (res == 0 and retry[0] == 1 and m >= retry[1]):
                out[i] = res
                continue
            miss[i] = MISS_RETRY
        else:
            miss[i] = MISS
        K._group_range(i, i + 1, dx_ids, dx_off, pr_ids, pr_off, nums, depts, todo, dx_bits,
                       pr_bits, cc_level, cc_excl, pdx_excl, region_of, prog, prog_val, mdc,
                       steps, rules, branches, retry, out, pdx_off, pdx_steps, main_off,
                       main_steps, open_steps, pdx_mdc_off, pdx_mdcs, main_mdc_off, main_mdcs,
                       open_mdcs)


@kernel(parallel=True)
def decide_cases(cases, s, dx_class, pr_class, n_pc, n_mc, table, bits, nodes, leaf_prog,
                 out, miss, n_chunks):
    """:func:`grouper._kernels.group_cases` through the decision trees (same answers);
    ``miss[i]``: 0 decided by a tree, ``MISS`` / ``MISS_RETRY`` grouped by the interpreter."""
    dx_ids, dx_off, pr_ids, pr_off, nums, depts, todo = cases
    (dx_bits, pr_bits, cc_level, cc_excl, pdx_excl, region_of, prog, prog_val, mdc, steps, rules,
     branches, retry, pdx_off, pdx_steps, main_off, main_steps, open_steps, pdx_mdc_off,
     pdx_mdcs, main_mdc_off, main_mdcs, open_mdcs) = s
    n = out.shape[0]
    for c in numba.prange(n_chunks):
        lo = c * n // n_chunks
        hi = (c + 1) * n // n_chunks
        _decide_range(lo, hi, dx_ids, dx_off, pr_ids, pr_off, nums, depts, todo, dx_bits,
                      pr_bits, cc_level, cc_excl, pdx_excl, region_of, prog, prog_val, mdc,
                      steps, rules, branches, retry, out, pdx_off, pdx_steps, main_off,
                      main_steps, open_steps, pdx_mdc_off, pdx_mdcs, main_mdc_off, main_mdcs,
                      open_mdcs, dx_class, pr_class, n_pc, n_mc, table, bits, nodes, leaf_prog, miss)


@kernel
def _insert(table, nodes, meta, key, trace, tlen, res):
    """Graft one interpreted path (``trace[:tlen]`` = pc, answer pairs; result ``res``).

    Returns GRAFT_OK, or GRAFT_BAD when the path disagrees with what the tree holds (a node
    testing another leaf, another result): the key would then not decide what it claims to.
    The caller has checked there is room for one key and ``tlen // 2`` nodes.
    """
    bits = meta[2]
    mask = table.shape[0] - 1
    h = _home(key, bits)
    while table[h, 0] != key and table[h, 0] != EMPTY:
        h = (h + 1) & mask
    if table[h, 0] == EMPTY:
        table[h, 1] = UNKNOWN
        table[h, 0] = key
        meta[0] += 1
    at = -1  # -1: the root slot; else the node whose child ``side`` is next
    side = 0
    for k in range(0, tlen, 2):
        pc = trace[k]
        cur = table[h, 1] if at < 0 else nodes[at, 1 + side]
        if cur == UNKNOWN:
            cur = meta[1]
            nodes[cur, 0] = pc
            nodes[cur, 1] = UNKNOWN
            nodes[cur, 2] = UNKNOWN
            meta[1] += 1
            if at < 0:
                table[h, 1] = cur
            else:
                nodes[at, 1 + side] = cur
        elif cur < 0 or nodes[cur, 0] != pc:
            return GRAFT_BAD
        at = cur
        side = trace[k + 1]
    end = -2 - res
    cur = table[h, 1] if at < 0 else nodes[at, 1 + side]
    if cur == UNKNOWN:
        if at < 0:
            table[h, 1] = end
        else:
            nodes[at, 1 + side] = end
    elif cur != end:
        return GRAFT_BAD
    return GRAFT_OK


@kernel
def graft(start, cases, s, dx_class, pr_class, n_pc, n_mc, table, nodes, meta, out, miss,
          trace, status):
    """Grow the trees with the paths of the cases flagged ``MISS`` from ``start`` on.

    Each is grouped again by the interpreter, recording its residual leaves; its result must
    equal ``out[i]`` (else ``status[1] = i``). Stops at the first case with no room left
    (``status[0] = i``; else -1) so the caller can grow the arrays and resume.
    """
    dx_ids, dx_off, pr_ids, pr_off, nums, depts, todo = cases
    (dx_bits, pr_bits, cc_level, cc_excl, pdx_excl, region_of, prog, prog_val, mdc, steps, rules,
     branches, retry, pdx_off, pdx_steps, main_off, main_steps, open_steps, pdx_mdc_off,
     pdx_mdcs, main_mdc_off, main_mdcs, open_mdcs) = s
    udx = np.zeros(dx_bits.shape[1], dtype=np.uint64)
    usdx = np.zeros(dx_bits.shape[1], dtype=np.uint64)
    upr = np.zeros(2 * pr_bits.shape[1], dtype=np.uint64)
    num = np.empty(K.N_FIELDS, dtype=np.float64)
    tn = np.zeros(1, dtype=np.int64)
    status[0] = -1
    status[1] = -1
    for i in range(start, out.shape[0]):
        if miss[i] != MISS:
            continue
        ds = dx_off[i]
        de = dx_off[i + 1]
        ps = pr_off[i]
        pe = pr_off[i + 1]
        for f in range(K.N_DX):
            num[f] = nums[f, i]
        num[K.N_DX] = de - ds
        for f in range(K.N_DX + 1, K.N_FIELDS):
            num[f] = nums[f - 1, i]
        mcc, cc = K.fold_dx(dx_bits, dx_ids, ds, de, udx, usdx)
        K._fold_pr(pr_bits, pr_ids, ps, pe, upr)
        m = pe - ps
        pdx = dx_ids[ds] if de > ds else -1
        mainpr = np.int64(pr_ids[ps]) if m > 0 else np.int64(-1)
        tn[0] = 0
        res = K.group_one(prog, prog_val, mdc, steps, rules, branches, num, depts[i], pdx, mainpr,
                          m, mcc, cc, udx, usdx, upr, dx_bits, pr_bits, region_of, dx_ids, ds,
                          de, pdx_off, pdx_steps, main_off, main_steps, open_steps, pdx_mdc_off,
                          pdx_mdcs, main_mdc_off, main_mdcs, open_mdcs, trace, tn)
        retried = res == 0 and retry[0] == 1 and m >= retry[1]
        if not retried and res != out[i]:
            status[1] = i
            return
        if tn[0] < 0:
            continue  # a path longer than the trace: this key stays with the interpreter
        if meta[0] + 1 > table.shape[0] // 2 or meta[1] + tn[0] // 2 > nodes.shape[0]:
            status[0] = i
            return
        key = case_key(pdx, mainpr, m, dx_class, pr_class, n_pc, n_mc)
        if _insert(table, nodes, meta, key, trace, tn[0], res) == GRAFT_BAD:
            status[1] = i
            return


@kernel
def rehash(old, new, bits):
    """Move every key of ``old`` into the empty table ``new`` of ``2**bits`` slots."""
    mask = new.shape[0] - 1
    for s in range(old.shape[0]):
        key = old[s, 0]
        if key == EMPTY:
            continue
        h = _home(key, bits)
        while new[h, 0] != EMPTY:
            h = (h + 1) & mask
        new[h, 0] = key
        new[h, 1] = old[s, 1]
