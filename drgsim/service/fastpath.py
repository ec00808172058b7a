"""One case without pandas: the grouper's and the pricer's own kernels on one-element arrays.

``grouper.group`` and ``payment.price`` are table functions whose fixed cost per call (a
DataFrame, categoricals, factorising the whole weights table) is milliseconds; for one case
that is all overhead. This module builds every lookup once and then runs, per case, the same
steps on the same kernels: the grouper's tokenizer, code mapping (with its warnings) and
``_group_range``; the pricer's ``price_cases`` kernel, rounding and special-review rules.
``tests/test_service.py`` checks the result field by field against ``group`` + ``price`` so the
two cannot drift apart silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from grouper import _kernels as GK
from grouper.encode import tokenize
from grouper.engine import ST_CHECK, ST_SS, ST_ZD, STATUSES, _map_tokens, engine_for
from grouper.scheme import Scheme
from payment import Policy, Weights
from payment import _kernels as PK
from payment.outliers import CLASSES, REASONS
from payment.pricing import _GroupTable, kernel_params, resolve_yuan_per_point, round_half_up_cents
from payment.special_review import RULES

from .models import CaseIn

NAN = float("nan")


def _f(v: float | int | None) -> float:
    return NAN if v is None else float(v)


class FastGrouper:
    """``grouper.group`` (default mode: mapping on, not strict) for one case at a time."""

    def __init__(self, scheme: Scheme) -> None:
        self.scheme = scheme
        self.e = engine_for(scheme)
        self.dept_index = {d: k for k, d in enumerate(self.e.c.dept_literals)}

    def group_one(self, case: CaseIn) -> tuple[str, str, str, str, str]:
        """(status, mdc, adrg, drg, warnings) exactly as ``grouper.group`` returns them."""
        e = self.e
        c = e.c
        warns: dict[int, list[str]] = {}
        dx_tok = tokenize(pa.array(["|".join(case.diagnoses)], pa.large_string()),
                          e.dx_vocab, empty_is_none=False)
        pr_tok = tokenize(pa.array(["|".join(case.procedures)], pa.large_string()),
                          e.pr_vocab, empty_is_none=True)
        dx_ids, dx_off, zd = _map_tokens(dx_tok, "dx", e, False, True, warns)
        pr_ids, pr_off, ss = _map_tokens(pr_tok, "pr", e, False, True, warns)
        sex, age, age_days = _f(case.sex), _f(case.age), _f(case.age_days)
        weight, los = _f(case.birth_weight), _f(case.los)
        nums = np.array([[sex], [age], [age_days], [weight], [los], [_f(case.icu_hours)]],
                        dtype=np.float64)
        # the input checks of grouper.engine.encode_cases, on scalars (nan compares False)
        check = not (sex == 1 or sex == 2) or math.isnan(age)
        check |= age == 0 and math.isnan(age_days)
        check |= age == 0 and age_days <= 28 and math.isnan(weight)
        check |= int(dx_off[1] - dx_off[0]) == 0
        impossible = (age < 0 or age > 150 or age_days < 0 or weight < 0 or weight > 10000
                      or los < 0)
        if impossible and not check:
            warns.setdefault(0, []).append("impossible age, age_days, birth_weight or los")
        check |= impossible
        status = -1
        if check:
            status = ST_CHECK
        if ss[0]:
            status = ST_SS
        if zd[0]:
            status = ST_ZD
        warnings = "; ".join(warns.get(0, []))
        if status >= 0:
            ng = e.not_grouped_id
            return (STATUSES[status], str(e.res_mdc[ng]), str(e.res_adrg[ng]),
                    str(e.res_drg[ng]), warnings)
        dept = case.dept
        dept_id = GK.DEPT_MISSING if dept is None or dept == "" else self.dept_index.get(dept, -1)
        out = np.empty(1, dtype=np.int32)
        GK._group_range(
            0, 1, dx_ids, dx_off, pr_ids, pr_off, nums, np.array([dept_id], np.int32),
            np.ones(1, dtype=np.bool_), c.dx_bits, c.pr_bits, c.cc_level, c.cc_excl, c.pdx_excl,
            c.region_of, c.prog, c.prog_val, c.mdc, c.steps, c.rules, c.branches, c.retry, out,
            c.pdx_steps_off, c.pdx_steps, c.main_steps_off, c.main_steps, c.open_steps,
            c.pdx_mdcs_off, c.pdx_mdcs, c.main_mdcs_off, c.main_mdcs, c.open_mdcs,
        )
        r = int(out[0])
        return (STATUSES[int(e.res_status[r])], str(e.res_mdc[r]), str(e.res_adrg[r]),
                str(e.res_drg[r]), warnings)


@dataclass
class PriceRow:
    """The ``payment.price`` columns the preview reports, for one case."""

    case_class: str
    class_reason: str
    r: float
    base_points: float
    coefficient: float
    points: float
    payment: float
    gain: float
    small_group: bool
    sr_candidate: bool
    sr_reasons: str
    cmp_mean: float  # the r denominator (group mean at the comparison base)
    high_multiple: float  # nan when outliers are off or the group is unknown


class FastPricer:
    """``payment.price`` for one case, with every weights lookup built once.

    Not covered (they need more than one case): the readmission rule and the special-review
    quota; a single case is never a readmission in ``price`` either.
    """

    def __init__(self, weights: Weights, policy: Policy) -> None:
        if policy.point_value.source == "budget":
            raise ValueError("a budget point value depends on the whole population; "
                             "the service uses the history point value instead")
        self.w, self.p = weights, policy
        self.table = t = _GroupTable(weights, policy)
        self.gindex = {str(name): k for k, name in enumerate(t.names)}
        self.rw = dict(zip(weights.groups["group"].astype(str), weights.groups["rw"], strict=True))
        hg, lg = weights.hospital_groups, weights.level_groups
        self.hosp_coef = {(str(h), str(g)): float(c) for h, g, c in zip(
            hg["hospital_id"], hg["group"], hg["coefficient"], strict=True)}
        self.level_coef = {(int(lv), str(g)): float(c) for lv, g, c in zip(
            lg["hospital_level"], lg["group"], lg["coefficient"], strict=True)}
        self.level_mean = {(int(lv), str(g)): float(m) for lv, g, m in zip(
            lg["hospital_level"], lg["group"], lg["mean_cost"], strict=True)}
        self.yuan_per_point = resolve_yuan_per_point(policy, weights, 0.0)
        self.fp, self.ip, self.inc_modes = kernel_params(policy, weights)

    def group_params(self, group: str, hospital_id: str, level: int) -> tuple[int, float, float,
                                                                                float]:
        """(group index, coefficient, comparison mean, incentive) as ``price`` derives them."""
        p, t = self.p, self.table
        g = -1 if group == "" else self.gindex.get(group, -2)
        known = g >= 0
        cp = p.coefficients
        if cp.mode == "none":
            coef = 1.0
        elif cp.mode == "hospital":
            coef = self.hosp_coef.get((hospital_id, group), cp.new_group) if (
                known and hospital_id != "") else cp.new_group
        else:
            coef = self.level_coef.get((level, group), cp.new_group) if known else cp.new_group
        cmp_mean = float(t.mean[g]) if known else NAN
        same_level = (p.deviation.comparison_base if p.kind == "dip"
                      else p.outliers.comparison_base) == "same_level"
        if known and same_level:
            lvl = self.level_mean.get((level, group), NAN)
            cmp_mean = lvl if math.isfinite(lvl) else cmp_mean
        inc = 1.0
        if p.incentives.group and known:
            inc *= p.incentives.group.get(group, 1.0)
        if p.incentives.hospital and hospital_id != "":
            inc *= p.incentives.hospital.get(hospital_id, 1.0)
        return g, coef, cmp_mean, inc

    def price_one(self, case: CaseIn, status: str, group: str) -> PriceRow:
        """Price one grouped case (``status`` and ``group`` from the grouper)."""
        p, t = self.p, self.table
        hospital_id = case.hospital_id or ""
        level = int(case.hospital_level) if case.hospital_level is not None else 0
        g, coef, cmp_mean, inc = self.group_params(group, hospital_id, level)
        cost, los = _f(case.total_cost), _f(case.los)
        mode = case.discharge_mode if case.discharge_mode is not None else -1
        st = 0 if status in ("SUCCESS", "") else 1 if status == "QY" else 2
        cls = np.empty(1, np.int8)
        reason = np.empty(1, np.int8)
        r = np.empty(1, np.float64)
        pts = np.empty(1, np.float64)
        PK.price_cases(
            np.array([cost]), np.array([los]), np.array([mode], np.int64),
            np.array([st], np.int64), np.array([g], np.int64), np.array([cmp_mean]),
            np.array([coef]), np.array([inc]), t.base, t.thr, t.bed, t.daily, self.inc_modes,
            self.fp, self.ip, cls, reason, r, pts,
        )
        points = float(pts[0])
        pay = points * self.yuan_per_point
        ffs = int(cls[0]) == PK.EXCLUDED and PK.R_LOS_SHORT <= int(reason[0]) <= PK.R_LOS_LONG
        if ffs and p.exclusions.payment == "fee_for_service":
            pay = cost
        pay_c, cost_c = (float(x) for x in round_half_up_cents(np.array([pay, cost])))
        cost_ok = cost >= 0
        if not (cost_ok or points > 0):
            pay_c = 0.0
        gain = (pay_c - cost_c) / 100.0 if cost_ok else 0.0
        known = g >= 0
        base = float(t.base[g]) if known else NAN
        small = bool(known and t.small[g])
        rr = float(r[0])
        review_flag = p.kind == "dip" and rr > p.deviation.review
        reasons = self._sr_reasons(case, int(cls[0]), cost, los, base, small, review_flag,
                                   float(t.mean[g]) if known else NAN)
        high = NAN
        if known:
            high = p.deviation.high if p.kind == "dip" else (
                float(t.thr[g]) if p.outliers.enabled else NAN)
        return PriceRow(
            case_class=CLASSES[int(cls[0])], class_reason=REASONS[int(reason[0])], r=rr,
            base_points=base, coefficient=float(coef), points=points, payment=pay_c / 100.0,
            gain=gain, small_group=small, sr_candidate=bool(reasons),
            sr_reasons="|".join(reasons), cmp_mean=cmp_mean, high_multiple=high,
        )

    def _sr_reasons(self, case: CaseIn, cls: int, cost: float, los: float, base: float,
                    small: bool, review_flag: bool, group_mean: float = NAN) -> list[str]:
        """``payment.special_review.eligibility`` for one case, rules in :data:`RULES` order."""
        sp, w = self.p.special_review, self.w
        if not sp.enabled or cls == PK.EXCLUDED:
            return []
        bw = _f(case.birth_weight)  # §13: cost multiple against the group's own mean
        age = _f(case.age_days) if hasattr(case, "age_days") else NAN
        hit = {
            "los": sp.los_limit is not None and los > sp.los_limit,
            "cost_multiple": sp.cost_multiple is not None and cost >= sp.cost_multiple * group_mean,
            "newborn": sp.newborn_max_weight_g is not None and bw > 0
            and bw < sp.newborn_max_weight_g and 0 <= age <= sp.newborn_max_age_days
            and cost >= sp.newborn_region_multiple * w.region_mean_cost
            and cost >= sp.newborn_group_multiple * group_mean,
            "new_tech": sp.new_tech and (bool(case.new_tech) or (case.new_tech_cost or 0) > 0),
            "ungroupable": sp.ungroupable and cls == PK.UNGROUPABLE,
            "small_group": sp.small_groups and small,
            "dip_review": sp.dip_review and review_flag,
            "icu": False,  # the canonical case has no ICU field
        }
        return [k for k in RULES if hit[k]]
