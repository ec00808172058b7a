"""Prepared prices: the lookups of :func:`payment.price` built once per (weights, policy).

:func:`payment.price` prices a table; every call first builds per-group arrays (base points,
thresholds, bed-day rules), the coefficient and comparison-mean tables and the incentive
factors from the weights and the policy. :class:`PreparedPrices` holds those, and its three
steps are the ones ``price`` runs on every table:

1. :meth:`PreparedPrices.lookups` — group index, hospital code, coefficient, comparison mean
   and incentive per case (kernel ``case_params``);
2. :meth:`PreparedPrices.classify` — case class, reason, r and points (kernel ``price_cases``);
3. :meth:`PreparedPrices.money` — payment and gain in half-up cents, base points, small-group
   and DIP review flags (kernel ``price_money``).

``price`` adds the cross-case rules (readmission, a budget point value, the special-review
quota) between and after them. A caller that prices a few cases many times (the preview
service) prepares once and runs the same three steps, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import _kernels as K
from .outliers import high_thresholds, prefix_match
from .policy import Policy
from .tables import group_names
from .weights import Weights

# ---- lookup layout (per group, per key) ----------------------------------------------------------


def _pair_lookup(
    table_keys: np.ndarray, table_values: np.ndarray, keys: np.ndarray, default: float
) -> np.ndarray:
    """Value for each int64 key from a (key → value) table; ``default`` when absent or key<0."""
    if len(table_keys) == 0:
        return np.full(len(keys), default)
    ok_t = table_keys >= 0
    top = int(max(table_keys.max(initial=0), keys.max(initial=0))) + 1
    if top <= 20_000_000:  # dense table: one gather instead of a binary search per case
        dense = np.full(top, default, dtype=np.float64)
        dense[table_keys[ok_t]] = table_values[ok_t]
        return np.where(keys >= 0, dense[np.maximum(keys, 0)], default)
    order = np.argsort(table_keys, kind="stable")
    tk, tv = table_keys[order], table_values[order]
    pos = np.minimum(np.searchsorted(tk, keys), len(tk) - 1)
    hit = (keys >= 0) & (tk[pos] == keys)
    return np.where(hit, tv[pos], default)


#: weights column (groups, level_groups): mean cost of the kept cases of the newest history year
PREVIOUS_YEAR_MEAN = "prev_year_mean_cost"


def _column_or(df: pd.DataFrame, col: str, fallback: str) -> np.ndarray:
    """A float column, or the ``fallback`` column when the table lacks it (weights saved
    before ``prev_year_mean_cost`` existed, or published weights: the r denominator is then
    the weighted mean)."""
    return pd.to_numeric(df[col if col in df.columns else fallback], errors="coerce"
                         ).to_numpy(np.float64)


class _GroupTable:
    """Per-group arrays indexed by a case's group index (weights groups + policy-only groups)."""

    def __init__(self, weights: Weights, policy: Policy) -> None:
        gt = weights.groups
        self.names = group_names(weights, policy)
        n_extra = len(self.names) - len(gt)
        pad = np.full(n_extra, np.nan)
        self.base = np.concatenate([gt["base_points"].to_numpy(np.float64), pad])
        self.mean = np.concatenate([gt["mean_cost"].to_numpy(np.float64), pad])
        self.small = np.concatenate([gt["small"].to_numpy(bool), np.zeros(n_extra, bool)])
        self.thr = high_thresholds(self.base, policy.outliers)
        bd = policy.bed_day
        self.bed = prefix_match(self.names, bd.groups + list(bd.daily_points), bd.prefixes)
        daily = np.concatenate([gt["daily_points"].to_numpy(np.float64), pad])
        explicit = np.array([bd.daily_points.get(k, np.nan) for k in self.names], np.float64)
        self.daily = np.where(np.isfinite(explicit), explicit, daily)
        self.daily = np.where(self.bed & np.isfinite(self.daily), self.daily, -1.0)
        self.index = pd.Index(self.names)


def _encode(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw int64 codes (-1 missing; order of the text dictionary) and their uniques (object).

    Arrow-backed text is dictionary-encoded once by pyarrow; no sort, no remap pass over the
    cases (callers map the few uniques and gather inside a kernel). ``values`` may also be an
    object array (a few cases: no Series to build).
    """
    arr = getattr(values, "array", None)
    if arr is None and len(values) == 1:  # one case: its value is the whole dictionary
        v = values[0]
        if v is None or (isinstance(v, float) and v != v):
            return np.full(1, -1, np.int64), np.zeros(0, dtype=object)
        return np.zeros(1, np.int64), np.array([str(v)], dtype=object)
    pa_arr = getattr(arr, "_pa_array", None)
    if pa_arr is not None and (pa.types.is_string(pa_arr.type)
                               or pa.types.is_large_string(pa_arr.type)):
        enc = pa_arr.combine_chunks().dictionary_encode()
        idx = enc.indices
        if idx.null_count:
            idx = pc.fill_null(idx, -1)
        return (idx.to_numpy(zero_copy_only=False).astype(np.int64),
                np.asarray(enc.dictionary.to_pylist(), dtype=object))
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniq, dtype=object).astype(str).astype(object)


def _sorted_codes(uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For raw uniques: the code :func:`payment.weights.factorize` gives each (sorted, empty
    text → -1) and the sorted non-empty uniques."""
    if len(uniques) == 0:
        return np.zeros(0, np.int64), uniques
    if len(uniques) == 1:  # one case: nothing to sort
        keep = uniques[0] != ""
        return np.array([0 if keep else -1], np.int64), uniques if keep else uniques[:0]
    text = uniques.astype(str)
    order = np.argsort(text, kind="stable")
    sorted_u = uniques[order]
    keep = sorted_u != ""
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.where(keep, np.cumsum(keep) - 1, -1)
    return rank, sorted_u[keep]


def _positions(index: pd.Index, values: pd.Series) -> np.ndarray:
    """``index.get_indexer(values)`` through the uniques of ``values`` (one hash per distinct
    value instead of per row)."""
    codes, uniq = pd.factorize(values, use_na_sentinel=False)
    if len(uniq) == 0:
        return np.zeros(0, np.int64)
    return index.get_indexer(pd.Index(uniq))[codes].astype(np.int64)


def _dense_table(
    table_keys: np.ndarray, table_values: np.ndarray, default: float
) -> np.ndarray | None:
    """(key → value) as a dense array (absent → ``default``) when that is what
    :func:`_pair_lookup` computes: keys unique and the table small; else None."""
    ok = table_keys >= 0
    tk = table_keys[ok]
    top = int(tk.max(initial=-1)) + 1
    if top > 20_000_000 or (len(tk) and np.bincount(tk, minlength=top).max() > 1):
        return None
    dense = np.full(top, default, dtype=np.float64)
    dense[tk] = table_values[ok]
    return dense


def ffs_unit(policy: Policy, weights: Weights | None) -> float:
    """Yuan per fee-for-service point of an ungroupable case: all-case mean cost ÷ points
    scale (§13); nan (0 points) under ``ungroupable.points = "zero"`` or without weights."""
    if weights is None or policy.ungroupable.points == "zero":
        return float("nan")
    unit = float(weights.region_mean_cost) / float(weights.points_scale)
    return unit if math.isfinite(unit) and unit > 0 else float("nan")


def kernel_params(policy: Policy, weights: Weights | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pricing kernel's float parameters, flags and incomplete-stay discharge modes of a
    policy (one layout, one place). ``weights`` gives the ungroupable cases' fee-for-service
    point (§13); without it they get 0 points."""
    ex, ic, ol, dv = policy.exclusions, policy.incomplete, policy.outliers, policy.deviation
    fp = np.array([
        policy.input_checks.max_cost, policy.input_checks.max_los,
        ex.los_min if ex.los_min is not None else -np.inf,
        ex.los_max if ex.los_max is not None else np.inf,
        ol.low_multiple, dv.low, dv.high,
        ic.max_los if ic.max_los is not None else -np.inf,
        ffs_unit(policy, weights),
    ], dtype=np.float64)
    ip = np.array([
        policy.kind == "dip", ol.enabled, ol.low_rule == "full", ol.high_over_incomplete,
        ic.enabled, ic.with_coefficient, ic.cap_at_base_points, policy.bed_day.with_coefficient,
        ol.low_with_coefficient, dv.with_coefficient,
    ], dtype=np.int64)
    inc_modes = np.zeros(10, dtype=np.bool_)
    inc_modes[list(ic.discharge_modes)] = True
    return fp, ip, inc_modes


# ---- prepared prices -----------------------------------------------------------------------------


class CaseLookups(NamedTuple):
    """Per-case results of :meth:`PreparedPrices.lookups` (arrays of length n)."""

    group: np.ndarray  # int64 group-table index; -1 no group text, -2 group not in the weights
    hospital: np.ndarray  # int64 hospital code (sorted non-empty hospital texts), -1 none
    coefficient: np.ndarray  # float64
    cmp_mean: np.ndarray  # float64 yuan: the r denominator (nan for an unknown group)
    incentive: np.ndarray  # float64 factor
    aux: np.ndarray  # float64 DIP auxiliary-catalogue coefficient (1.0: none / not applied)


class PreparedPrices:
    """Everything :func:`payment.price` derives from the weights and the policy alone."""

    def __init__(self, weights: Weights, policy: Policy) -> None:
        self.weights, self.policy = weights, policy
        self.table = table = _GroupTable(weights, policy)
        self.n_groups = n_g = len(table.names)
        #: group text -> group-table index (the names are unique)
        self.group_index = {str(k): i for i, k in enumerate(table.names)}
        cp = policy.coefficients
        self.coef_mode, self.coef_table = K.C_ONE, np.zeros(0)
        self.hosp_index: dict[str, int] | None = None
        self.coef_keys = self.coef_values = None
        self.lvl_keys = self.lvl_mean = None
        lvl_tk = None
        if cp.mode == "hospital":
            hg = weights.hospital_groups
            w_codes, w_uniq = pd.factorize(hg["hospital_id"].astype(str), use_na_sentinel=False)
            self.hosp_index = {str(h): i for i, h in enumerate(w_uniq)}
            tk = w_codes.astype(np.int64) * n_g + _positions(table.index,
                                                             hg["group"].astype(str))
            tv = hg["coefficient"].to_numpy(np.float64)
            self.coef_mode = K.C_HOSPITAL
        elif cp.mode != "none":
            lg = weights.level_groups
            lvl_tk = tk = lg["hospital_level"].to_numpy(np.int64) * n_g + _positions(
                table.index, lg["group"].astype(str))
            tv = lg["coefficient"].to_numpy(np.float64)
            self.coef_mode = K.C_LEVEL
        self.coef_fallback = K.C_ONE  # the kind looked up after the kernel (general lookup)
        if self.coef_mode != K.C_ONE:
            dense = _dense_table(tk, tv, cp.new_group)
            if dense is not None:
                self.coef_table = dense
            else:  # duplicate keys or a huge table: the general lookup after the kernel
                self.coef_fallback, self.coef_mode = self.coef_mode, K.C_ONE
                self.coef_keys, self.coef_values = tk, tv
        self.lvl_table = np.zeros(0)
        self.lvl_fallback = False
        cmp_base = (policy.deviation.comparison_base if policy.kind == "dip"
                    else policy.outliers.comparison_base)
        #: §5 DIP: r compares with the group's previous-year (newest history year) mean
        self.previous_year = (policy.kind == "dip"
                              and policy.deviation.comparison_years == "previous_year")
        mean_col = "mean_cost"
        #: the r denominator of a group when its level has no mean (region mean; previous
        #: year when that applies and the group had kept cases that year)
        self.cmp_group_mean = table.mean
        if self.previous_year:
            mean_col = PREVIOUS_YEAR_MEAN
            prev = _column_or(weights.groups, PREVIOUS_YEAR_MEAN, "mean_cost")
            prev = np.concatenate([prev, np.full(len(table.names) - len(prev), np.nan)])
            self.cmp_group_mean = np.where(np.isfinite(prev), prev, table.mean)
        if cmp_base == "same_level":
            lg = weights.level_groups
            if lvl_tk is None:
                lvl_tk = lg["hospital_level"].to_numpy(np.int64) * n_g + _positions(
                    table.index, lg["group"].astype(str))
            lvl_mean = _column_or(lg, mean_col, "mean_cost")
            dense = _dense_table(lvl_tk, lvl_mean, np.nan)
            self.lvl_fallback = dense is None
            if dense is not None:
                self.lvl_table = dense
            else:
                self.lvl_keys, self.lvl_mean = lvl_tk, lvl_mean
        inc = policy.incentives
        self.g_inc = (np.array([inc.group.get(k, 1.0) for k in table.names], np.float64)
                      if inc.group else np.zeros(0))
        self.fp, self.ip, self.inc_modes = kernel_params(policy, weights)
        from .special_review import sr_params

        #: the special-review kernel's parameters (``special_review.sr_params``)
        self.sr_params = sr_params(weights, policy)

    def lookups(self, group: pd.Series | np.ndarray, hospital: pd.Series | np.ndarray,
                level: np.ndarray, aux: np.ndarray | None = None) -> CaseLookups:
        """Per-case lookups from the group text, hospital text (``str``, missing = "") and
        hospital level (int64, 0 unknown) of each case (Series, or object arrays).

        ``aux``: each case's DIP auxiliary-catalogue coefficient (the grouper's
        ``aux_coefficient``, float64); used under ``dip.aux_coefficients = "apply"`` (DIP
        policies only), a missing, non-finite or non-positive value counting as 1.0."""
        n_g, cp = self.n_groups, self.policy.coefficients
        n = len(group)
        g_raw, g_uniq = _encode(group)
        gi = self.group_index
        gmap = np.array([-1 if u == "" else gi.get(u, -2) for u in g_uniq.tolist()],
                        dtype=np.int64)
        h_raw, h_raw_uniq = _encode(hospital)
        hmap, h_uniq = _sorted_codes(h_raw_uniq)
        hcoef = np.zeros(0, np.int64)
        if self.hosp_index is not None:
            hi = self.hosp_index
            hcoef = np.array([hi.get(str(h), -1) for h in h_uniq.tolist()], dtype=np.int64)
        inc = self.policy.incentives
        h_inc = (np.array([inc.hospital.get(str(k), 1.0) for k in h_uniq], np.float64)
                 if inc.hospital and len(h_uniq) else np.zeros(0))
        level = np.ascontiguousarray(level, dtype=np.int64)
        g = np.empty(n, np.int64)
        h_codes = np.empty(n, np.int64)
        coef = np.empty(n, np.float64)
        cmp_mean = np.empty(n, np.float64)
        incentive = np.empty(n, np.float64)
        K.case_params(g_raw, gmap, h_raw, hmap, hcoef, level, n_g, self.coef_mode,
                      self.coef_table, float(cp.new_group), np.zeros(0), self.lvl_table,
                      self.cmp_group_mean, self.g_inc, h_inc, g, h_codes, coef, cmp_mean,
                      incentive)
        if self.coef_fallback != K.C_ONE or self.lvl_fallback:
            known = g >= 0
            gi = np.maximum(g, 0)
        if self.coef_fallback == K.C_HOSPITAL:
            hw = np.where(h_codes >= 0, hcoef[np.maximum(h_codes, 0)] if len(hcoef) else -1, -1)
            keys = np.where(known & (hw >= 0), hw * n_g + gi, -1)
            coef = _pair_lookup(self.coef_keys, self.coef_values, keys, cp.new_group)
        elif self.coef_fallback == K.C_LEVEL:
            keys = np.where(known, level * n_g + gi, -1)
            coef = _pair_lookup(self.coef_keys, self.coef_values, keys, cp.new_group)
        if self.lvl_fallback:
            keys = np.where(known, level * n_g + gi, -1)
            lvl = _pair_lookup(self.lvl_keys, self.lvl_mean, keys, np.nan)
            cmp_mean = np.where(np.isfinite(lvl), lvl, cmp_mean)
        return CaseLookups(g, h_codes, coef, cmp_mean, incentive, self.aux_factors(aux, n))

    def aux_factors(self, aux: np.ndarray | None, n: int) -> np.ndarray:
        """The auxiliary coefficient each case's score is multiplied by (§7): the given
        ``aux_coefficient`` under a DIP policy with ``dip.aux_coefficients = "apply"``
        (missing, non-finite or ≤ 0 → 1.0), else 1.0 for every case."""
        p = self.policy
        if aux is None or p.kind != "dip" or p.dip.aux_coefficients != "apply":
            return np.ones(n, np.float64)
        a = np.asarray(aux, dtype=np.float64)
        if a.shape != (n,):
            raise ValueError(f"aux_coefficient: {a.shape} values for {n} cases")
        return np.where(np.isfinite(a) & (a > 0), a, 1.0)

    def classify(self, cost: np.ndarray, los: np.ndarray, mode: np.ndarray,
                 status: np.ndarray, lk: CaseLookups
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(class int8, reason int8, r, points) per case (§5, order §13), before readmission.

        ``cost`` yuan, ``los`` days (float64, nan unknown), ``mode`` discharge code (int64,
        -1 unknown), ``status`` 0 ok / 1 QY / 2 any other grouper status.
        """
        t = self.table
        n = len(cost)
        cls = np.empty(n, np.int8)
        reason = np.empty(n, np.int8)
        r = np.empty(n, np.float64)
        points = np.empty(n, np.float64)
        K.price_cases(cost, los, mode, status, lk.group, lk.cmp_mean, lk.coefficient,
                      lk.incentive, lk.aux, t.base, t.thr, t.bed, t.daily, self.inc_modes, self.fp,
                      self.ip, cls, reason, r, points)
        return cls, reason, r, points

    def money(self, points: np.ndarray, cost: np.ndarray, cls: np.ndarray, reason: np.ndarray,
              group: np.ndarray, r: np.ndarray, yuan_per_point: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payment yuan, gain yuan, base points, small group, DIP review flag) per case;
        payment and gain rounded half-up to the cent."""
        p, t = self.policy, self.table
        n = len(points)
        pay = np.empty(n, np.float64)
        gain = np.empty(n, np.float64)
        base_points = np.empty(n, np.float64)
        small = np.empty(n, np.bool_)
        review_flag = np.empty(n, np.bool_)
        K.price_money(points, cost, cls, reason, group, r, float(yuan_per_point),
                      p.exclusions.payment == "fee_for_service", t.base, t.small,
                      p.kind == "dip", float(p.deviation.review),
                      pay, gain, base_points, small, review_flag)
        return pay, gain, base_points, small, review_flag

    def high_multiple(self, group: np.ndarray) -> np.ndarray:
        """The high-cost multiple of each case's group (DIP: ``deviation.high``; DRG: the
        group's band when outliers are on); nan for an unknown group or no outlier rule."""
        p = self.policy
        known = group >= 0
        if p.kind == "dip":
            return np.where(known, float(p.deviation.high), np.nan)
        if p.outliers.enabled:
            return np.where(known, self.table.thr[np.maximum(group, 0)], np.nan)
        return np.full(len(group), np.nan)

    def low_multiple(self) -> float:
        """The low-cost multiple (DIP: ``deviation.low``; DRG: ``outliers.low_multiple`` when
        outliers are on, else nan)."""
        p = self.policy
        if p.kind == "dip":
            return float(p.deviation.low)
        return float(p.outliers.low_multiple) if p.outliers.enabled else float("nan")

    def price_alone(self, group: pd.Series, hospital: pd.Series, level: np.ndarray,
                    cost: np.ndarray, los: np.ndarray, mode: np.ndarray, status: np.ndarray,
                    yuan_per_point: float, *, birth_weight: np.ndarray | None = None,
                    age_days: np.ndarray | None = None, new_tech: np.ndarray | None = None,
                    new_tech_cost: np.ndarray | None = None, icu: np.ndarray | None = None,
                    aux: np.ndarray | None = None,
                    ) -> dict[str, np.ndarray]:
        """:func:`payment.price` of cases that no cross-case rule touches, as arrays.

        Exactly ``price``'s columns for a case priced on its own: no readmission partner, a
        point value that is not a budget over the population (raises otherwise), and the
        special-review eligibility (``sr_mask``, 0 = not a candidate) without the quota.
        ``yuan_per_point``: :func:`payment.pricing.resolve_yuan_per_point`. Inputs as
        :meth:`lookups` (``aux``: the DIP auxiliary coefficient) and :meth:`classify`; the
        optional special-review inputs as :func:`payment.special_review.eligibility_mask`.
        Keys: ``group_index``, ``case_class`` / ``class_reason`` (int8 codes of
        :data:`payment.outliers.CLASSES` / ``REASONS``), ``r``, ``base_points``,
        ``coefficient``, ``aux_coefficient``, ``points``, ``payment``,
        ``gain``, ``small_group``, ``sr_mask``, ``cmp_mean`` (yuan) and ``high_multiple``.
        """
        from .special_review import eligibility_mask

        if self.policy.point_value.source == "budget":
            raise ValueError("a budget point value depends on the whole population; "
                             "price the table with payment.price")
        lk = self.lookups(group, hospital, level, aux)
        cls, reason, r, points = self.classify(cost, los, mode, status, lk)
        pay, gain, base_points, small, review_flag = self.money(
            points, cost, cls, reason, lk.group, r, yuan_per_point)
        if self.policy.special_review.enabled:
            g = lk.group
            group_mean = np.where(g >= 0, self.table.mean[np.maximum(g, 0)], np.nan) \
                if len(self.table.names) else np.full(len(g), np.nan)
            mask = eligibility_mask(self.weights, self.policy, cls, cost, los, group_mean,
                                    small, review_flag, birth_weight=birth_weight,
                                    age_days=age_days, new_tech=new_tech,
                                    new_tech_cost=new_tech_cost, icu=icu,
                                    params=self.sr_params)
        else:
            mask = np.zeros(len(cls), np.int64)
        return {"group_index": lk.group, "case_class": cls, "class_reason": reason, "r": r,
                "base_points": base_points, "coefficient": lk.coefficient,
                "aux_coefficient": lk.aux, "points": points,
                "payment": pay, "gain": gain, "small_group": small, "sr_mask": mask,
                "cmp_mean": lk.cmp_mean, "high_multiple": self.high_multiple(lk.group)}
