"""The dashboard's levers: dotted policy keys with unit, allowed range and labels, in groups.

A lever's ``kind`` says which path answers it: ``settlement`` keys re-run only the settlement
kernel on prepared aggregates, ``whatif`` keys recombine the what-if basis cells, ``pricing``
keys re-price the held grouped cases (weights + ``payment.price``); ``benefit`` keys
(``benefits.<table>.<insurance>.<level>``) re-run ``payment.cost_sharing`` on the held cases. Ranges are those the
policy models accept (payment/settlement_policy.py, payment/policy.py, payment/whatif.py),
narrowed where a wider value is no planning question.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ALLIANCE_FIELDS", "ALLIANCE_PREFIX", "GROUPS", "LEVERS", "SHIFT_PREFIX", "TIERS_KEY",
           "Lever", "alliance_key", "alliance_levers", "lever_of", "lever_table"]

#: The retention / sharing tier table (an editable table, not a single number).
TIERS_KEY = "settlement.tiers"


@dataclass(frozen=True)
class Lever:
    """One lever: ``key`` (dotted), ``group``, ``kind``, ``unit``, bounds, labels."""

    key: str
    group: str
    kind: str  # settlement | whatif | pricing | benefit
    zh: str
    en: str
    unit_zh: str = ""
    unit_en: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple[str, ...] = ()
    min_open: bool = False  # lower bound excluded (e.g. growth > -1)
    integer: bool = False  # a whole number (decimals, days, persons, levels)


FRAC = ("比例（0.05 = 5%）", "fraction (0.05 = 5 %)")
YUAN = ("元", "yuan")
SCORE = ("分", "points (score)")
MULT = ("倍", "× group mean")


DAYS = ("天", "days")
PERSONS = ("人", "persons")
LEVEL = ("级", "hospital level")
DIGITS = ("位小数", "decimal places")


def _l(key: str, group: str, kind: str, zh: str, en: str, unit: tuple[str, str] = ("", ""),
       lo: float | None = None, hi: float | None = None, step: float | None = None,
       options: tuple[str, ...] = (), min_open: bool = False, integer: bool = False) -> Lever:
    return Lever(key, group, kind, zh, en, unit[0], unit[1], lo, hi, step, options, min_open,
                 integer)


#: Lever groups in the order planners discuss them: (id, zh, en).
GROUPS = (
    ("budget", "预算", "Budget"),
    ("point_value", "点值与预付", "Point value and advances"),
    ("tiers", "结余留用与超支分担", "Retention and sharing tiers"),
    ("quality", "质量保证金与考核返还", "Quality deposit and release"),
    ("pricing", "特例单议与高低倍率（需重新计价）", "Special review and outliers (re-pricing)"),
    ("alliances", "医共体总额预算", "Medical-alliance budgets"),
    ("whatif", "情景假设", "What-ifs"),
    ("patients", "患者起付线与报销比例（§9）", "Patients' deductibles and ratios (§9)"),
    ("tiered", "分级诊疗：病例下沉（§9）", "Tiered care: cases shifted between levels (§9)"),
)

LEVERS: tuple[Lever, ...] = (
    _l("settlement.budget.mode", "budget", "settlement", "预算方式", "Budget method",
       options=("growth", "amount")),
    _l("settlement.budget.growth", "budget", "settlement", "预算增长率", "Budget growth", FRAC,
       -0.5, 1.0, 0.005, min_open=False),
    _l("settlement.budget.amount", "budget", "settlement", "预算总额（方式为总额时）",
       "Budget amount (method = amount)", YUAN, 0.0, 1e12, 1000.0),
    _l("settlement.reserve_rate", "budget", "settlement", "调节金（风险金）比例", "Reserve rate",
       FRAC, 0.0, 0.5, 0.005),
    _l("point_value.reimbursement_ratio", "budget", "settlement", "统筹基金支付比例（总费用口径）",
       "Reimbursement ratio (total-cost basis)", FRAC, 0.01, 1.0, 0.01),
    _l("settlement.point_value_mode", "point_value", "settlement", "点值方式", "Point value method",
       options=("floating", "fixed")),
    _l("settlement.advance_ratio", "point_value", "settlement", "月度预拨比例", "Monthly advance ratio",
       FRAC, 0.0, 1.0, 0.01),
    _l("point_value.decimals", "point_value", "settlement", "结算点值保留小数位（四舍五入）",
       "Point value published to (decimals, half-up)", DIGITS, 0, 12, 1, integer=True),
    _l("settlement.tier_ratio_base", "tiers", "settlement", "结余超支率分母",
       "Denominator of the tier ratio", options=("ffs", "entitlement")),
    _l("settlement.assessment.deposit_rate", "quality", "settlement", "质量保证金比例",
       "Quality deposit rate", FRAC, 0.0, 0.2, 0.005),
    _l("settlement.assessment.mapping", "quality", "settlement", "返还方式（表 / 线性）",
       "Release mapping (table / linear)", options=("table", "linear")),
    _l("settlement.assessment.zero_score", "quality", "settlement", "线性返还：零返还分数",
       "Linear release: score releasing nothing", SCORE, 0.0, 100.0, 1.0),
    _l("settlement.assessment.full_score", "quality", "settlement", "线性返还：全额返还分数",
       "Linear release: score releasing all", SCORE, 0.0, 100.0, 1.0),
    _l("settlement.assessment.default_score", "quality", "settlement", "未列明医院的考核分",
       "Score of hospitals not listed", SCORE, 0.0, 100.0, 1.0),
    _l("special_review.quota_rate", "pricing", "pricing", "特例单议名额比例",
       "Special review quota rate", FRAC, 0.0, 0.2, 0.005),
    _l("special_review.cost_multiple", "pricing", "pricing", "特例单议费用倍数",
       "Special review cost multiple", MULT, 1.0, 10.0, 0.5),
    _l("outliers.low_multiple", "pricing", "pricing", "低倍率界值", "Low-multiple threshold",
       MULT, 0.0, 0.95, 0.05),
    _l("exclusions.los_min", "pricing", "pricing", "住院天数除外：不超过（天）",
       "LOS exclusion: stays of at most (days)", DAYS, 0, 36_500, 1, integer=True),
    _l("exclusions.los_max", "pricing", "pricing", "住院天数除外：不少于（天）",
       "LOS exclusion: stays of at least (days)", DAYS, 1, 36_500, 1, integer=True),
    _l("whatif.volume_growth", "whatif", "whatif", "病例数增长", "Volume growth", FRAC,
       -0.5, 1.0, 0.01),
    _l("whatif.cost_growth", "whatif", "whatif", "次均费用增长", "Cost per case growth", FRAC,
       -0.5, 1.0, 0.01),
    _l("whatif.upcoding_share", "whatif", "whatif", "高套编码比例", "Upcoding share", FRAC,
       0.0, 1.0, 0.01),
    _l("whatif.level_shift_share", "whatif", "whatif", "三级医院简单病例下沉比例",
       "Simple cases shifted from level 3 to 1/2", FRAC, 0.0, 1.0, 0.01),
)

_INS = (("resident", "居民", "residents"), ("employee", "职工", "employees"))
LEVERS += tuple(
    _l(f"benefits.deductible.{ins}.{lvl}", "patients", "benefit", f"{zh}起付线（{lvl}级医院）",
       f"Deductible, {en}, level {lvl}", YUAN, 0.0, 100_000.0, 50.0)
    for ins, zh, en in _INS for lvl in (1, 2, 3)
) + tuple(
    _l(f"benefits.ratio.{ins}.{lvl}", "patients", "benefit", f"{zh}统筹报销比例（{lvl}级医院）",
       f"Fund ratio, {en}, level {lvl}", FRAC, 0.0, 1.0, 0.01)
    for ins, zh, en in _INS for lvl in (1, 2, 3)
)

#: The tiered-care shift (payment.tiered_care.LevelShift) on the patients' side: ``share`` of
#: the ``from_level`` cases move to ``to_level`` hospitals before cost-sharing runs again.
SHIFT_PREFIX = "tiered_care.shift."
LEVERS += (
    _l("tiered_care.shift.share", "tiered", "benefit", "下沉病例比例", "Share of cases shifted",
       FRAC, 0.0, 1.0, 0.01),
    _l("tiered_care.shift.from_level", "tiered", "benefit", "转出医院等级", "From hospital level",
       LEVEL, 1, 3, 1, integer=True),
    _l("tiered_care.shift.to_level", "tiered", "benefit", "转入医院等级", "To hospital level",
       LEVEL, 1, 3, 1, integer=True),
)

BY_KEY = {lv.key: lv for lv in LEVERS}

#: Per-alliance budget levers ``settlement.alliances.<id>.per_capita|population``: templates
#: (the ids are the opened policy's, see :func:`alliance_levers`); bounds as AllianceBudget.
ALLIANCE_PREFIX = "settlement.alliances."
ALLIANCE_FIELDS = {
    "per_capita": _l(ALLIANCE_PREFIX + "*.per_capita", "alliances", "settlement",
                     "人均预算", "Budget per insured person", YUAN, 0.0, 1e12, 1.0),
    "population": _l(ALLIANCE_PREFIX + "*.population", "alliances", "settlement",
                     "参保人数", "Insured population", PERSONS, 0, 2_000_000_000, 1000,
                     integer=True),
}


def alliance_key(key: str) -> tuple[str, str] | None:
    """``(alliance id, field)`` of an alliance lever key, else None."""
    if not key.startswith(ALLIANCE_PREFIX):
        return None
    rest = key[len(ALLIANCE_PREFIX):]
    aid, _, fld = rest.rpartition(".")
    return (aid, fld) if aid and fld in ALLIANCE_FIELDS else None


def alliance_levers(ids: list[str]) -> list[Lever]:
    """The budget levers of the opened policy's alliances (labels name the alliance)."""
    out = []
    for aid in ids:
        for fld, t in ALLIANCE_FIELDS.items():
            out.append(Lever(f"{ALLIANCE_PREFIX}{aid}.{fld}", t.group, t.kind,
                             f"{aid} {t.zh}", f"{aid}: {t.en}", t.unit_zh, t.unit_en, t.min,
                             t.max, t.step, (), False, t.integer))
    return out


def lever_of(key: str) -> Lever | None:
    """The lever of ``key`` (an alliance key gets its field's template), or None."""
    lv = BY_KEY.get(key)
    if lv is None and (ak := alliance_key(key)) is not None:
        lv = ALLIANCE_FIELDS[ak[1]]
    return lv


def lever_table(alliance_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """The levers as JSON-ready dicts (the page builds its form from them), with the budget
    levers of ``alliance_ids``."""
    return [asdict(lv) for lv in (*LEVERS, *alliance_levers(list(alliance_ids or [])))]


def check_value(key: str, value: Any) -> Any:
    """``value`` for lever ``key``, or ``ValueError`` naming the lever and its allowed values."""
    lv = lever_of(key)
    if lv is None:
        raise ValueError(f"unknown lever {key!r}; allowed: {', '.join(BY_KEY)}, "
                         f"{ALLIANCE_PREFIX}<id>.per_capita|population")
    if lv.options:
        if value not in lv.options:
            raise ValueError(f"{key} = {value!r}; allowed: {', '.join(lv.options)}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} = {value!r}: a number is required ({lv.unit_en})")
    x = float(value)
    if not (x == x) or (lv.min is not None and x < lv.min) or (lv.max is not None and x > lv.max):
        raise ValueError(f"{key} = {value!r} is outside the allowed range [{lv.min}, {lv.max}]")
    if lv.integer:
        if x != int(x):
            raise ValueError(f"{key} = {value!r}: a whole number is required ({lv.unit_en})")
        return int(x)
    return x
