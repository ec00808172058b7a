"""Canonical case columns, declared once.

Readers validate against this table; the README's column documentation is taken from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "text", "int", "float", "date", "bool"
    required: bool
    meaning: str
    aliases: tuple[str, ...] = ()


CASE_COLUMNS: tuple[Column, ...] = (
    Column("case_id", "text", True, "case identifier (unique per row)", ("病案号", "住院号", "结算ID", "病例编号", "病案编号")),
    Column("hospital_id", "text", False, "medical institution code", ("医疗机构编码", "医院编码", "定点医药机构编号", "机构编码")),
    Column("hospital_level", "int", False, "hospital level 1/2/3", ("医院等级", "医疗机构等级", "机构等级")),
    Column("patient_id", "text", False, "insured person identifier", ("患者ID", "个人编号", "人员编号", "患者编号")),
    Column("sex", "int", True, "1 male, 2 female", ("性别",)),
    Column("age", "int", True, "age in completed years", ("年龄", "年龄(岁)", "年龄（岁）")),
    Column("age_days", "int", False, "age in days (newborns)", ("年龄(天)", "年龄（天）", "年龄不足1周岁的年龄(天)", "新生儿年龄(天)")),
    Column("birth_weight", "int", False, "birth weight in grams", ("新生儿出生体重", "新生儿出生体重(克)", "出生体重")),
    Column("dept", "text", False, "department code", ("科室", "出院科室", "科别", "科室编码")),
    Column("los", "int", False, "length of stay in days", ("住院天数", "实际住院天数")),
    Column("icu_hours", "int", False, "hours in intensive care (regional field, e.g. foshan-2022; 0 when none)", ("ICU时长", "重症监护时长")),
    Column("discharge_mode", "int", False, "1 home, 2 transfer, 3 community, 4 death, 5 against advice, 9 other", ("离院方式",)),
    Column("diagnoses", "text", True, "diagnosis codes, principal first, '|'-separated", ("诊断", "诊断编码", "出院诊断")),
    Column("procedures", "text", False, "procedure codes, main first, '|'-separated", ("手术操作", "手术及操作编码", "手术操作编码")),
    Column("total_cost", "float", False, "total cost in yuan", ("总费用", "医疗总费用", "住院总费用")),
    Column("admission_date", "date", False, "admission date", ("入院日期", "入院时间")),
    Column("discharge_date", "date", False, "discharge date", ("出院日期", "出院时间")),
    Column("year", "int", False, "settlement year", ("年度", "结算年度")),
    Column("patient_paid", "float", False, "amount paid by the patient in yuan", ("个人支付", "个人自付", "个人负担")),
    Column("new_tech_cost", "float", False, "new drug / device / technology cost in yuan", ("新技术费用", "新药新技术费用")),
    Column("new_tech", "bool", False, "new drug / technology flag", ("新技术标志",)),
    Column("alliance_id", "text", False, "medical alliance the patient is insured with", ("医共体", "医共体编码")),
)

#: Split-column aliases: a principal column and a secondary column that are joined into one list.
DIAGNOSIS_PARTS = (("主要诊断", "主要诊断编码", "主诊断编码"), ("其他诊断", "其他诊断编码", "次要诊断"))
PROCEDURE_PARTS = (("主要手术", "主要手术操作", "主要手术编码", "主手术操作编码"), ("其他手术", "其他手术操作", "其他手术编码"))

COLUMNS_BY_NAME = {c.name: c for c in CASE_COLUMNS}
GROUPER_REQUIRED = ("case_id", "sex", "age", "diagnoses")


def alias_map() -> dict[str, str]:
    """Header (canonical or Chinese alias) -> canonical column name."""
    out: dict[str, str] = {}
    for c in CASE_COLUMNS:
        out[c.name] = c.name
        for a in c.aliases:
            out[a] = c.name
    return out
