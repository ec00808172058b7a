"""The columns of the priced-cases table (:func:`payment.price`), declared once.

Name, kind (dtype), unit, meaning and the Chinese header for outputs, in output order; the case
columns pricing reads are :data:`PRICE_INPUT_COLUMNS`. The record is
:class:`drgsim_common.columns.Column`, the same as grouper.schema's (payment does not import the
grouper), so the one table reader
(:func:`grouper.cases.read_table`) can type a priced file from :data:`PRICED_BY_NAME`.
"""

from __future__ import annotations

from drgsim_common.columns import Column

# Column: the record shared with grouper.schema (drgsim_common.columns; payment does not import
# the grouper).


PRICED_COLUMNS: tuple[Column, ...] = (
    Column("case_id", "text", True, "case identifier", zh="病案号"),
    Column("hospital_id", "text", True, "medical institution code", zh="医疗机构编码"),
    Column("hospital_level", "int", True, "hospital level 1/2/3 (0 when unknown)", zh="医院等级"),
    Column("total_cost", "float", True, "total cost", unit="yuan", zh="总费用"),
    Column("los", "float", True, "length of stay", unit="days", zh="住院天数"),
    Column("discharge_mode", "int", True, "discharge mode (1,2,3,4,5,9; 0 when unknown)", zh="离院方式"),
    Column("month", "int", True, "discharge month 1-12, 0 when unknown", zh="出院月份"),
    Column("group", "text", True, "DRG or DIP group the case is priced in", zh="病组"),
    Column("case_class", "category", True, "excluded, normal, high, low, incomplete, bed_day, readmission, ungroupable", zh="病例类型"),
    Column("class_reason", "category", True, "why the case has its class", zh="分类原因"),
    Column("priced_as", "category", True, "the class whose formula set the points", zh="计价类型"),
    Column("r", "float", True, "total cost ÷ group comparison mean", zh="费用倍率"),
    Column("base_points", "float", True, "the group's base points (RW × scale or DIP score)", unit="points", zh="基准点数"),
    Column("coefficient", "float", True, "hospital / level coefficient", zh="调整系数"),
    Column("aux_coefficient", "float", True, "DIP auxiliary-catalogue coefficient the score is multiplied by (1 when none or not applied)", zh="辅助目录系数"),
    Column("incentive", "float", True, "incentive factor (1 when none)", zh="激励系数"),
    Column("points", "float", True, "points before special review", unit="points", zh="点数"),
    Column("payment", "float", True, "payment at the policy's point value or base rate", unit="yuan", zh="支付金额"),
    Column("ffs_amount", "float", True, "fee-for-service amount (the total cost)", unit="yuan", zh="按项目付费金额"),
    Column("gain", "float", True, "payment − total cost", unit="yuan", zh="盈亏"),
    Column("review_flag", "bool", True, "the group is priced for review (policy flag)", zh="审核标志"),
    Column("small_group", "bool", True, "the group has too few cases for a stable weight", zh="小样本病组"),
    Column("sr_candidate", "bool", True, "special review (特例单议) candidate", zh="特例单议候选"),
    Column("sr_reasons", "category", True, "special-review reasons, '|'-separated", zh="特例单议原因"),
    Column("sr_applied", "bool", True, "applied for special review (within the quota)", zh="特例单议申报"),
    Column("sr_approved", "bool", True, "special review approved", zh="特例单议通过"),
    Column("sr_status", "category", True, "'', approved, not_approved, no_gain, over_quota", zh="特例单议状态"),
    Column("sr_quarter", "int", True, "quota period (quarter 1-4, month 1-12 or 1), 0 when unknown", zh="额度期间"),
    Column("sr_amount", "float", True, "re-priced amount on the total-cost basis, 0 when not approved", unit="yuan", zh="特例单议金额"),
    Column("sr_gain", "float", True, "re-priced amount − payment at the budget point value, after the deduction", unit="yuan", zh="特例单议增量"),
)

#: The per-case final amount the command line adds after ``sr_gain`` (payment.hospital_analysis.final_amounts):
#: what the hospital is paid for the case, special-review money included.
FINAL_AMOUNT = Column("final_amount", "float", True, "the re-priced special-review amount when approved, else payment",
                      unit="yuan", zh="最终支付金额")

#: The columns of ``drgsim price`` output (the priced table, then the final amount).
PRICED_OUTPUT_COLUMNS: tuple[Column, ...] = (*PRICED_COLUMNS, FINAL_AMOUNT)

PRICED_BY_NAME = {c.name: c for c in PRICED_OUTPUT_COLUMNS}

#: the case columns at the head of the priced table, carried from the input
PRICED_CASE_COLUMNS: tuple[str, ...] = tuple(c.name for c in PRICED_COLUMNS[:7])

#: Case columns :func:`payment.price` reads besides the group column (pricing.py, special_review.py).
PRICE_INPUT_COLUMNS: tuple[str, ...] = (
    "case_id", "hospital_id", "hospital_level", "total_cost", "los", "discharge_mode",
    "admission_date", "discharge_date", "month", "year", "patient_id", "birth_weight", "new_tech",
    "new_tech_cost", "icu", "status", "age_days", "aux_coefficient",
)


def names() -> tuple[str, ...]:
    """The priced table's column names, in output order."""
    return tuple(c.name for c in PRICED_COLUMNS)


def chinese_headers() -> dict[str, str]:
    """Priced column name -> Chinese header for outputs."""
    return {c.name: c.header_zh for c in PRICED_OUTPUT_COLUMNS}


__all__ = ["FINAL_AMOUNT", "PRICED_BY_NAME", "PRICED_OUTPUT_COLUMNS", "PRICED_CASE_COLUMNS", "PRICED_COLUMNS", "PRICE_INPUT_COLUMNS", "Column", "chinese_headers",
           "names"]
