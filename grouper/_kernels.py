"""The grouping kernel: one branch-program interpreter over encoded cases.

Arrays only; see :mod:`grouper.compile` for the layout. Per case, the kernel first folds the
membership bitsets of all diagnoses, of the secondary diagnoses and of the procedures into
three small unions, and decides has_mcc / has_cc once; every leaf test is then one bit lookup.
Cases are independent, so ``prange`` over chunks gives the same answer on any thread count.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from ._jit import kernel

# Opcodes: keep in sync with grouper/compile.py
OP_PDX_IN, OP_ANY_DX_IN, OP_ANY_SDX_IN, OP_HAS_PROC, OP_MAIN_PROC_IN, OP_ANY_PROC_IN = 0, 1, 2, 3, 4, 5
OP_CMP, OP_PRESENT, OP_NONZERO, OP_HAS_MCC, OP_HAS_CC, OP_REGIONS, OP_DEPT_CMP, OP_DEPT_PRESENT = (
    6, 7, 8, 9, 10, 11, 12, 13,
)
OP_ANY_SPROC_IN = 14
OP_INT_CMP = 15
ACCEPT, REJECT = -1, -2
STEP_QY = 1
NO_BRANCH_ADRG = 1
N_FIELDS = 7  # sex, age, age_days, weight, los, n_dx, icu_hours
N_DX = 5  # the derived field; case fields before it are nums rows 0..4, after it rows 5..
DEPT_MISSING = -2

ONE = np.uint64(1)
ZERO = np.uint64(0)


class SchemeArrays(NamedTuple):
    """A compiled scheme's arrays as the kernel reads them (layout: :mod:`grouper.compile`).

    Built once per scheme (:func:`scheme_arrays`); numba passes it as one typed tuple.
    """

    dx_bits: np.ndarray
    pr_bits: np.ndarray
    cc_level: np.ndarray
    cc_excl: np.ndarray
    pdx_excl: np.ndarray
    region_of: np.ndarray
    prog: np.ndarray
    prog_val: np.ndarray
    mdc: np.ndarray
    steps: np.ndarray
    rules: np.ndarray
    branches: np.ndarray
    retry: np.ndarray
    pdx_steps_off: np.ndarray
    pdx_steps: np.ndarray
    main_steps_off: np.ndarray
    main_steps: np.ndarray
    open_steps: np.ndarray
    pdx_mdcs_off: np.ndarray
    pdx_mdcs: np.ndarray
    main_mdcs_off: np.ndarray
    main_mdcs: np.ndarray
    open_mdcs: np.ndarray


class CaseArrays(NamedTuple):
    """Encoded cases: code ids with CSR row offsets, numeric fields (``nums[field, case]``,
    :data:`grouper.engine.NUM_FIELDS` order), department ids and the cases to group."""

    dx_ids: np.ndarray
    dx_off: np.ndarray
    pr_ids: np.ndarray
    pr_off: np.ndarray
    nums: np.ndarray
    depts: np.ndarray
    todo: np.ndarray


def scheme_arrays(c) -> SchemeArrays:
    """The kernel's view of a :class:`grouper.compile.CompiledScheme` (no copies)."""
    return SchemeArrays(*(getattr(c, f) for f in SchemeArrays._fields))


@kernel(inline="always")
def _bit(words, a):
    return (words[a >> 6] >> np.uint64(a & 63)) & ONE != ZERO


@kernel(inline="always")
def _cmp(x, c, v):
    if c == 0:
        return x == v
    if c == 1:
        return x != v
    if c == 2:
        return x < v
    if c == 3:
        return x <= v
    if c == 4:
        return x > v
    return x >= v


@kernel(inline="always")
def residual(op):
    """True for a leaf whose answer is not fixed by the case's principal diagnosis class,
    main procedure class and whether it has procedures (see :mod:`grouper.decision_cache`)."""
    return op != OP_PDX_IN and op != OP_MAIN_PROC_IN and op != OP_HAS_PROC


@kernel(inline="always")
def eval_program(pc, prog, prog_val, num, dept, pdx, mainpr, m, mcc, cc, udx, usdx, upr,
                 dx_bits, pr_bits, region_of, dx_ids, ds, de, trace, tn):
    """Run the branch program from ``pc``; True when it ends in ACCEPT.

    With ``trace`` (int32 array; None compiles the check away), each :func:`residual` leaf
    tested appends ``pc, answer`` to it (``tn[0]`` = entries used; -1 once it is full). With
    a program whose every jump ends it (:func:`grouper.decision_cache.leaf_program`) this is
    the answer of the one leaf at ``pc``.
    """
    while pc >= 0:
        op = prog[pc, 0]
        a = prog[pc, 1]
        r = False
        if op == OP_PDX_IN:
            r = pdx >= 0 and _bit(dx_bits[pdx], a)
        elif op == OP_ANY_DX_IN:
            r = _bit(udx, a)
        elif op == OP_ANY_SDX_IN:
            r = _bit(usdx, a)
        elif op == OP_HAS_PROC:
            r = m >= 1
        elif op == OP_MAIN_PROC_IN:
            r = m >= 1 and mainpr >= 0 and _bit(pr_bits[mainpr], a)
        elif op == OP_ANY_PROC_IN:
            r = _bit(upr, a)
        elif op == OP_ANY_SPROC_IN:
            # upr holds two unions: all procedures, then the secondary ones (see _fold_pr)
            r = _bit(upr, a + 64 * pr_bits.shape[1])
        elif op == OP_CMP:
            x = num[a]
            r = (not np.isnan(x)) and _cmp(x, prog[pc, 2], prog_val[pc])
        elif op == OP_PRESENT:
            r = not np.isnan(num[a])
        elif op == OP_NONZERO:
            x = num[a]
            r = (not np.isnan(x)) and x != 0.0
        elif op == OP_HAS_MCC:
            r = mcc
        elif op == OP_HAS_CC:
            r = cc
        elif op == OP_REGIONS:
            mask = ZERO
            for k in range(ds, de):
                d = dx_ids[k]
                if d >= 0:
                    g = region_of[a, d]
                    if g >= 0:
                        mask |= ONE << np.uint64(g)
            cnt = 0
            while mask != ZERO:
                mask &= mask - ONE
                cnt += 1
            r = cnt >= prog[pc, 2]
        elif op == OP_DEPT_CMP:
            if dept != DEPT_MISSING:
                r = (dept == a) if prog[pc, 2] == 0 else (dept != a)
        elif op == OP_DEPT_PRESENT:
            r = dept != DEPT_MISSING
        elif op == OP_INT_CMP:
            # a < 0: number of procedures; else the text-key slot a = shift | width << 5
            x = m if a < 0 else (dept >> (a & 31)) & ((1 << (a >> 5)) - 1)
            r = _cmp(np.float64(x), prog[pc, 2], prog_val[pc])
        if trace is not None and tn[0] >= 0 and residual(op):
            k = tn[0]
            if k + 2 > trace.shape[0]:
                tn[0] = -1
            else:
                trace[k] = pc
                trace[k + 1] = 1 if r else 0
                tn[0] = k + 2
        pc = prog[pc, 3] if r else prog[pc, 4]
    return pc == ACCEPT


@kernel(inline="always")
def _csr_row(off, code, ok):
    """(start, end) of ``code``'s list in a CSR index; empty when ``ok`` is false."""
    if ok:
        return off[code], off[code + 1]
    return off[0], off[0]


@kernel
def group_one(prog, prog_val, mdc, steps, rules, branches, num, dept, pdx, mainpr, m, mcc, cc,
              udx, usdx, upr, dx_bits, pr_bits, region_of, dx_ids, ds, de,
              pdx_off, pdx_steps, main_off, main_steps, open_steps,
              pdx_mdc_off, pdx_mdcs, main_mdc_off, main_mdcs, open_mdcs, trace, tn):
    """Result id of one case (0 = no group), following the scheme README's loop exactly.

    Steps are visited in scheme order, but only those the case's principal diagnosis or main
    procedure can open (see CompiledScheme step index) plus the unguarded ones.
    """
    big = np.int32(1 << 30)
    has_main = m >= 1 and mainpr >= 0
    a, ae = _csr_row(pdx_off, pdx, pdx >= 0)
    b, be = _csr_row(main_off, mainpr, has_main)
    c, ce = 0, open_steps.shape[0]
    # candidate MDCs, merged in scheme order from the same kind of index
    ma, mae = _csr_row(pdx_mdc_off, pdx, pdx >= 0)
    mb, mbe = _csr_row(main_mdc_off, mainpr, has_main)
    mc, mce = 0, open_mdcs.shape[0]
    while True:
        ka = pdx_mdcs[ma] if ma < mae else big
        kb = main_mdcs[mb] if mb < mbe else big
        kc = open_mdcs[mc] if mc < mce else big
        k = min(ka, kb, kc)
        if k == big:
            break
        if k == ka:
            ma += 1
        elif k == kb:
            mb += 1
        else:
            mc += 1
        if not eval_program(mdc[k, 0], prog, prog_val, num, dept, pdx, mainpr, m, mcc, cc,
                            udx, usdx, upr, dx_bits, pr_bits, region_of, dx_ids, ds, de, trace, tn):
            continue
        lo = mdc[k, 1]
        hi = mdc[k, 2]
        while a < ae and pdx_steps[a] < lo:
            a += 1
        while b < be and main_steps[b] < lo:
            b += 1
        while c < ce and open_steps[c] < lo:
            c += 1
        while True:
            sa = pdx_steps[a] if a < ae else big
            sb = main_steps[b] if b < be else big
            sc = open_steps[c] if c < ce else big
            st = min(sa, sb, sc)
            if st >= hi:
                break
            if st == sa:
                a += 1
            elif st == sb:
                b += 1
            else:
                c += 1
            if steps[st, 0] == STEP_QY:
                if steps[st, 2] == 1 and eval_program(steps[st, 3], prog, prog_val, num, dept, pdx, mainpr, m, mcc, cc,
                                                      udx, usdx, upr, dx_bits, pr_bits, region_of, dx_ids, ds, de, trace, tn):
                    return steps[st, 4]
                continue
            rl = steps[st, 1]
            if not eval_program(rules[rl, 0], prog, prog_val, num, dept, pdx, mainpr, m, mcc, cc,
                                udx, usdx, upr, dx_bits, pr_bits, region_of, dx_ids, ds, de, trace, tn):
                continue
            for br in range(rules[rl, 1], rules[rl, 2]):
                if eval_program(branches[br, 0], prog, prog_val, num, dept, pdx, mainpr, m, mcc, cc,
                                udx, usdx, upr, dx_bits, pr_bits, region_of, dx_ids, ds, de, trace, tn):
                    return branches[br, 1]
            if rules[rl, 3] == NO_BRANCH_ADRG:
                return rules[rl, 4]
    return 0


@kernel
def severity(dx_ids, ds, de, cc_level, cc_excl, pdx_excl):
    """(has_mcc, has_cc) of one case: secondary diagnoses not excluded by the principal."""
    pdx = dx_ids[ds] if de > ds else -1
    px = pdx_excl[pdx] if pdx >= 0 else -1
    mcc = False
    cc = False
    for k in range(ds + 1, de):
        d = dx_ids[k]
        if d < 0:
            continue
        lv = cc_level[d]
        if lv == 0:
            continue
        if px >= 0 and cc_excl[d] == px:
            continue
        if lv == 2:
            mcc = True
        else:
            cc = True
    return mcc, cc


@kernel(inline="always")
def fold_dx(dx_bits, dx_ids, ds, de, udx, usdx):
    """Unions of the list bits of all / secondary diagnoses and (has_mcc, has_cc), one pass.

    Reads each code's row once: its last word packs level, exclusion id and principal
    exclusion id (compile._pack_severity), so severity costs no extra memory access.
    """
    nw = dx_bits.shape[1] - 1
    udx[:] = ZERO
    usdx[:] = ZERO
    mask31 = np.uint64(0x7FFFFFFF)
    px = np.int64(-1)
    mcc = False
    cc = False
    for k in range(ds, de):
        d = dx_ids[k]
        if d < 0:
            continue
        row = dx_bits[d]
        info = row[nw]
        if k == ds:
            px = np.int64((info >> np.uint64(31)) & mask31) - 1
            for w in range(nw):
                udx[w] |= row[w]
            continue
        for w in range(nw):
            usdx[w] |= row[w]
        lv = info >> np.uint64(62)
        if lv != ZERO and not (px >= 0 and np.int64(info & mask31) - 1 == px):
            if lv == np.uint64(2):
                mcc = True
            else:
                cc = True
    for w in range(nw):
        udx[w] |= usdx[w]
    # np.bool_ keeps the type plain bool: a Literal[bool](False) here would make each caller
    # compile group_one again for the literal (about 10 s per copy on a cold cache).
    return np.bool_(mcc), np.bool_(cc)


@kernel
def _fold(bits, ids, s, e, out):
    out[:] = ZERO
    for k in range(s, e):
        c = ids[k]
        if c >= 0:
            row = bits[c]
            for w in range(out.shape[0]):
                out[w] |= row[w]


@kernel(inline="always")
def _fold_pr(bits, ids, s, e, out):
    """``out[:w]`` = union of the list bits of procedures s..e-1, ``out[w:]`` of s+1..e-1."""
    out[:] = ZERO
    nw = bits.shape[1]
    for k in range(s, e):
        c = ids[k]
        if c >= 0:
            row = bits[c]
            for w in range(nw):
                out[w] |= row[w]
                if k > s:
                    out[nw + w] |= row[w]


@kernel(inline="always")
def case_facts(i, dx_ids, dx_off, pr_ids, pr_off, nums, dx_bits, pr_bits, num, udx, usdx, upr):
    """Fill one case's numeric fields (``num``) and list-bit unions; (has_mcc, has_cc)."""
    ds = dx_off[i]
    de = dx_off[i + 1]
    for f in range(N_DX):
        num[f] = nums[f, i]
    num[N_DX] = de - ds
    for f in range(N_DX + 1, N_FIELDS):
        num[f] = nums[f - 1, i]
    mcc, cc = fold_dx(dx_bits, dx_ids, ds, de, udx, usdx)
    _fold_pr(pr_bits, pr_ids, pr_off[i], pr_off[i + 1], upr)
    return mcc, cc


@kernel
def _group_range(lo, hi, dx_ids, dx_off, pr_ids, pr_off, nums, depts, todo, dx_bits, pr_bits,
                 cc_level, cc_excl, pdx_excl, region_of, prog, prog_val, mdc, steps, rules,
                 branches, retry, out, pdx_off, pdx_steps, main_off, main_steps, open_steps,
                 pdx_mdc_off, pdx_mdcs, main_mdc_off, main_mdcs, open_mdcs):
    """The interpreter over cases ``lo..hi-1`` (the reference of :mod:`grouper.decision_cache`)."""
    udx = np.zeros(dx_bits.shape[1], dtype=np.uint64)
    usdx = np.zeros(dx_bits.shape[1], dtype=np.uint64)
    upr = np.zeros(2 * pr_bits.shape[1], dtype=np.uint64)
    num = np.empty(N_FIELDS, dtype=np.float64)
    trace = None
    tn = None
    for i in range(lo, hi):
        if not todo[i]:
            out[i] = -1
            continue
        ds = dx_off[i]
        de = dx_off[i + 1]
        ps = pr_off[i]
        pe = pr_off[i + 1]
        for f in range(N_DX):
            num[f] = nums[f, i]
        num[N_DX] = de - ds
        for f in range(N_DX + 1, N_FIELDS):
            num[f] = nums[f - 1, i]
        pdx = dx_ids[ds] if de > ds else -1
        mcc, cc = fold_dx(dx_bits, dx_ids, ds, de, udx, usdx)
        _fold_pr(pr_bits, pr_ids, ps, pe, upr)
        m = pe - ps
        mainpr = np.int64(pr_ids[ps]) if m > 0 else np.int64(-1)
        res = group_one(prog, prog_val, mdc, steps, rules, branches, num, depts[i], pdx, mainpr, m,
                        mcc, cc, udx, usdx, upr, dx_bits, pr_bits, region_of, dx_ids, ds, de,
                        pdx_off, pdx_steps, main_off, main_steps, open_steps,
                        pdx_mdc_off, pdx_mdcs, main_mdc_off, main_mdcs, open_mdcs, trace, tn)
        if res == 0 and retry[0] == 1 and m >= retry[1]:
            # Whole-case retry: each later procedure alone, in order; first result wins.
            for j in range(ps + 1, pe):
                _fold_pr(pr_bits, pr_ids, j, j + 1, upr)
                res = group_one(prog, prog_val, mdc, steps, rules, branches, num, depts[i], pdx,
                                np.int64(pr_ids[j]), np.int64(1), mcc, cc, udx, usdx, upr, dx_bits, pr_bits,
                                region_of, dx_ids, ds, de, pdx_off, pdx_steps, main_off,
                                main_steps, open_steps, pdx_mdc_off, pdx_mdcs, main_mdc_off,
                                main_mdcs, open_mdcs, trace, tn)
                if res != 0:
                    break
        out[i] = res


@kernel
def group_range(lo, hi, cases, s, out):
    """Result ids of cases ``lo..hi-1`` into ``out`` (-1 where ``todo`` is false), on this
    thread; ``cases``: :class:`CaseArrays`, ``s``: :class:`SchemeArrays`."""
    c = cases
    _group_range(lo, hi, c.dx_ids, c.dx_off, c.pr_ids, c.pr_off, c.nums, c.depts, c.todo,
                 s.dx_bits, s.pr_bits, s.cc_level, s.cc_excl, s.pdx_excl, s.region_of, s.prog,
                 s.prog_val, s.mdc, s.steps, s.rules, s.branches, s.retry, out,
                 s.pdx_steps_off, s.pdx_steps, s.main_steps_off, s.main_steps, s.open_steps,
                 s.pdx_mdcs_off, s.pdx_mdcs, s.main_mdcs_off, s.main_mdcs, s.open_mdcs)


@kernel(parallel=True)
def group_cases(cases, s, out, n_chunks):
    """Group every case with ``cases.todo[i]``; write result ids to ``out`` (-1 where not
    grouped). ``cases``: :class:`CaseArrays`, ``s``: :class:`SchemeArrays`.

    The tuples are unpacked here, outside the parallel loop: the loop body then sees plain
    arrays (reading tuple fields per case cost ~1.7x in CPU time).
    """
    dx_ids, dx_off, pr_ids, pr_off, nums, depts, todo = cases
    (dx_bits, pr_bits, cc_level, cc_excl, pdx_excl, region_of, prog, prog_val, mdc, steps, rules,
     branches, retry, pdx_off, pdx_steps, main_off, main_steps, open_steps, pdx_mdc_off,
     pdx_mdcs, main_mdc_off, main_mdcs, open_mdcs) = s
    n = out.shape[0]
    for c in numba.prange(n_chunks):
        lo = c * n // n_chunks
        hi = (c + 1) * n // n_chunks
        _group_range(lo, hi, dx_ids, dx_off, pr_ids, pr_off, nums, depts, todo, dx_bits, pr_bits,
                     cc_level, cc_excl, pdx_excl, region_of, prog, prog_val, mdc, steps, rules,
                     branches, retry, out, pdx_off, pdx_steps, main_off, main_steps, open_steps,
                     pdx_mdc_off, pdx_mdcs, main_mdc_off, main_mdcs, open_mdcs)
