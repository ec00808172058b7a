"""The preview service's request and answer fields, declared from the table declarations.

A request case is a canonical case (:data:`grouper.schema.CASE_COLUMNS`) with diagnoses and
procedures as JSON arrays. The answer (``PreviewOut``) is declared here, field by field as
``section.name``, taking name, kind, unit, meaning and Chinese header from the grouped and priced
declarations wherever the answer repeats one of their columns. ``tests/test_schema_declaration.py``
holds ``drgsim/service/models.py`` and ``columnar.py`` to these declarations.
"""

from __future__ import annotations

from dataclasses import replace

from grouper.schema import CASE_COLUMNS, GROUPED_COLUMNS, Column
from payment.columns import PRICED_BY_NAME

_GROUPED = {c.name: c for c in GROUPED_COLUMNS}


def _priced(name: str, section: str = "payment") -> Column:
    c = PRICED_BY_NAME[name]
    return Column(f"{section}.{name}", c.kind, c.required, c.meaning, (), c.unit, c.header_zh)


def _grouped(name: str, section: str = "") -> Column:
    c = _GROUPED[name]
    return replace(c, name=f"{section}.{name}" if section else name)


#: request fields: the canonical case columns the service accepts (a subset, see the test)
REQUEST_COLUMNS: tuple[Column, ...] = CASE_COLUMNS

#: answer fields of one previewed case, in answer order (``section.field``; lists are text kinds)
PREVIEW_COLUMNS: tuple[Column, ...] = (
    _grouped("case_id"),
    _grouped("status"),
    _grouped("mdc", "group"),
    Column("group.mdc_name", "text", False, "MDC name from the scheme", zh="MDC名称"),
    _grouped("adrg", "group"),
    Column("group.adrg_name", "text", False, "ADRG name from the scheme", zh="ADRG名称"),
    _grouped("drg", "group"),
    Column("group.drg_name", "text", False, "DRG name from the scheme", zh="DRG名称"),
    Column("warnings", "list", True, "code normalisation and input checks", zh="警告"),
    Column("payment.policy", "text", True, "policy name", zh="政策"),
    _priced("case_class"),
    _priced("class_reason"),
    _priced("r"),
    Column("payment.weight", "float", False, "relative weight (RW) or DIP score ÷ scale", zh="权重"),
    _priced("base_points"),
    _priced("coefficient"),
    _priced("points"),
    Column("payment.point_value", "float", False, "yuan per point used", "yuan", zh="点值"),
    Column("payment.point_value_source", "text", True, "where the point value came from", zh="点值来源"),
    _priced("payment"),
    _priced("gain"),
    _priced("small_group"),
    Column("thresholds.group_mean_cost", "float", False, "the r denominator", "yuan", zh="病组例均费用"),
    Column("thresholds.high_multiple", "float", False, "r at which the case turns high-multiple", zh="高倍率界值"),
    Column("thresholds.high_cost", "float", False, "total cost at which it turns high-multiple", "yuan", zh="高倍率费用"),
    Column("thresholds.yuan_to_high", "float", False, "high_cost − total_cost (≤ 0: already high)", "yuan", zh="距高倍率"),
    Column("thresholds.low_multiple", "float", False, "r at or below which the case is low-multiple", zh="低倍率界值"),
    Column("thresholds.low_cost", "float", False, "total cost at or below which it is low-multiple", "yuan", zh="低倍率费用"),
    Column("thresholds.yuan_above_low", "float", False, "total_cost − low_cost (≤ 0: low)", "yuan", zh="高于低倍率"),
    Column("thresholds.high_inclusive", "bool", True, "true: r equal to high_multiple is already high", zh="高倍率含界值"),
    Column("special_review.eligible", "bool", True, "special review (特例单议) eligibility", zh="特例单议资格"),
    Column("special_review.reasons", "list", True, "special-review reasons", zh="特例单议原因"),
    Column("dip.dip_group", "text", True, "DIP group code (DIP policies only)", zh="DIP病种"),
    Column("dip.dip_type", "category", True, "core, comprehensive or unmatched", zh="病种类型"),
    Column("dip.score", "float", False, "the group's score", "points", zh="病种分值"),
    Column("dip.aux_level", "text", True, "auxiliary-catalogue level (severity / age)", zh="辅助目录分级"),
    Column("dip.aux_coefficient", "float", False, "auxiliary-catalogue coefficient", zh="辅助目录系数"),
    Column("dip.final_score", "float", False, "score × auxiliary coefficient", "points", zh="最终分值"),
    Column("explanation", "object", False, "the grouping trace (only with ?explain=true)", zh="分组路径"),
    # the patient's share (issue 14; POST /v1/preview/patient, a service with --benefits)
    Column("patient_share.policy", "text", True, "benefit policy name", zh="待遇政策"),
    Column("patient_share.compliant", "float", True, "policy-scope (compliant) cost", "yuan", zh="政策范围内费用"),
    Column("patient_share.deductible", "float", True, "deductible charged on this stay", "yuan", zh="起付线"),
    Column("patient_share.basic", "float", True, "basic medical insurance fund", "yuan", zh="基本医保统筹支付"),
    Column("patient_share.critical", "float", True, "critical-illness insurance (大病保险)", "yuan", zh="大病保险支付"),
    Column("patient_share.assistance", "float", True, "medical assistance (医疗救助)", "yuan", zh="医疗救助支付"),
    Column("patient_share.safety_net", "float", True, "safety net (兜底)", "yuan", zh="兜底保障支付"),
    Column("patient_share.oop", "float", True, "the patient's out-of-pocket", "yuan", zh="个人负担"),
    Column("patient_share.ratio", "float", True, "basic-fund ratio applied", zh="统筹支付比例"),
    Column("patient_share.reasons", "list", True, "referral applied, out-of-area cut, cap reached …", zh="待遇说明"),
)

__all__ = ["PREVIEW_COLUMNS", "REQUEST_COLUMNS"]
