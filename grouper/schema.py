"""The columns of the grouper's tables, declared once: canonical cases and grouped cases.

Each column has a name, a kind (its dtype, see :data:`DTYPES`), a unit, a meaning, the Chinese
header drgsim writes for it (``zh``) and the Chinese headers it accepts on input (``aliases``).
Readers (:mod:`grouper.cases`) type columns from here, column pruning reads it, and the README's
column table is generated from it (``python -m grouper.schema`` prints the table; a test keeps
the README in step). Priced columns are declared in :mod:`payment.columns`.
"""

from __future__ import annotations

from drgsim_common.columns import DTYPES as DTYPES  # re-exported
from drgsim_common.columns import Column

# The Column record and the kind -> dtype table are shared with payment.columns (one home below
# both layers: drgsim_common.columns); re-exported here under their old names.

#: unit -> accepted written suffixes after a number (``45岁``, ``45 岁``, ``12,345.60元``)
UNIT_SUFFIXES = {"years": ("周岁", "岁"), "days": ("天", "日"), "grams": ("克", "g"),
                 "yuan": ("元",), "hours": ("小时", "h"), "month": ("月",)}


CASE_COLUMNS: tuple[Column, ...] = (
    Column("case_id", "text", True, "case identifier (unique per row)", ("病案号", "住院号", "结算ID", "病例编号", "病案编号")),
    Column("hospital_id", "text", False, "medical institution code", ("医疗机构编码", "医院编码", "定点医药机构编号", "机构编码")),
    Column("hospital_level", "int", False, "hospital level 1/2/3", ("医院等级", "医疗机构等级", "机构等级")),
    Column("patient_id", "text", False, "insured person identifier", ("患者ID", "个人编号", "人员编号", "患者编号")),
    Column("sex", "int", True, "1 male, 2 female", ("性别",)),
    Column("age", "int", True, "age in completed years", ("年龄", "年龄(岁)", "年龄（岁）"), "years"),
    Column("age_days", "int", False, "age in days (newborns)", ("年龄(天)", "年龄（天）", "年龄不足1周岁的年龄(天)", "新生儿年龄(天)"), "days"),
    Column("birth_weight", "int", False, "birth weight in grams", ("新生儿出生体重", "新生儿出生体重(克)", "出生体重", "weight"), "grams"),
    Column("dept", "text", False, "department code", ("科室", "出院科室", "科别", "科室编码")),
    Column("los", "int", False, "length of stay in days", ("住院天数", "实际住院天数"), "days"),
    Column("icu_hours", "int", False, "hours in intensive care (regional field, e.g. foshan-2022; 0 when none)", ("ICU时长", "重症监护时长"), "hours"),
    Column("icu", "bool", False, "intensive-care stay flag (a special-review reason)", ("ICU标志", "重症监护标志"), zh="ICU标志"),
    Column("discharge_mode", "int", False, "1 home, 2 transfer, 3 community, 4 death, 5 against advice, 9 other", ("离院方式",)),
    Column("diagnoses", "text", True, "diagnosis codes, principal first, '|'-separated", ("诊断", "诊断编码", "出院诊断")),
    Column("procedures", "text", False, "procedure codes, main first, '|'-separated", ("手术操作", "手术及操作编码", "手术操作编码")),
    Column("total_cost", "float", False, "total cost in yuan", ("总费用", "医疗总费用", "住院总费用"), "yuan"),
    Column("admission_date", "date", False, "admission date", ("入院日期", "入院时间")),
    Column("discharge_date", "date", False, "discharge date", ("出院日期", "出院时间")),
    Column("month", "int", False, "discharge month 1-12 (when there is no discharge date)", ("出院月份", "结算月份"), "month"),
    Column("year", "int", False, "settlement year", ("年度", "结算年度")),
    Column("patient_paid", "float", False, "amount paid by the patient in yuan", ("个人支付", "个人自付", "个人负担"), "yuan"),
    Column("new_tech_cost", "float", False, "new drug / device / technology cost in yuan", ("新技术费用", "新药新技术费用"), "yuan"),
    Column("new_tech", "bool", False, "new drug / technology flag", ("新技术标志",)),
    Column("alliance_id", "text", False, "medical alliance the patient is insured with", ("医共体", "医共体编码")),
)

#: Columns the reader adds to every case table it reads from a file (one status per row).
READ_COLUMNS: tuple[Column, ...] = (
    Column("read_status", "text", False, "OK, or BAD_VALUE when a cell could not be read (it is then treated as missing)", (), zh="读取状态"),
    Column("read_warnings", "text", False, "the cells that could not be read: header, value, reason, spreadsheet row", (), zh="读取警告"),
)
READ_STATUSES = ("OK", "BAD_VALUE")

#: Grouped cases (:func:`grouper.group`), one row per input row in input order.
GROUPED_COLUMNS: tuple[Column, ...] = (
    Column("case_id", "text", True, "case identifier", zh="病案号"),
    Column("status", "text", True, "SUCCESS, QY, FAIL, CHECK_FAILED, ZD_NOT_MAPPING or SS_NOT_MAPPING", zh="分组状态"),
    Column("read_status", "text", False, "the reader's row status (only when the cases were read from a file)", zh="读取状态"),
    Column("mdc", "text", True, "major diagnostic category code", zh="MDC编码"),
    Column("adrg", "text", True, "ADRG code", zh="ADRG编码"),
    Column("drg", "text", True, "DRG code", zh="DRG编码"),
    Column("warnings", "text", True, "reading, code-repair and input-check notes, '; '-separated", zh="警告"),
)

#: DIP grouped cases (:func:`grouper.dip.group`).
DIP_GROUPED_COLUMNS: tuple[Column, ...] = (
    Column("case_id", "text", True, "case identifier", zh="病案号"),
    Column("status", "text", True, "DIP grouping status", zh="分组状态"),
    Column("read_status", "text", False, "the reader's row status (only when the cases were read from a file)", zh="读取状态"),
    Column("dip_group", "text", True, "DIP group code (empty when unmatched)", zh="病种编码"),
    Column("dip_type", "text", True, "core, comprehensive or unmatched", zh="病种类型"),
    Column("score", "float", True, "the group's score", zh="病种分值"),
    Column("aux_level", "text", True, "auxiliary-catalogue level", zh="辅助目录等级"),
    Column("aux_coefficient", "float", True, "auxiliary-catalogue coefficient", zh="辅助目录系数"),
    Column("final_score", "float", True, "score × auxiliary coefficient", zh="最终分值"),
    Column("warnings", "text", True, "why the row has its status: unreadable cells, code repairs, rejected codes, failed check, unmatched", zh="警告"),
)

#: Canonical columns :func:`grouper.group` reads (column pruning of streamed inputs); ``weight`` is
#: the old name of birth_weight, still read when a table has it.
GROUP_INPUT_COLUMNS = ("case_id", "sex", "age", "age_days", "birth_weight", "weight", "dept", "los",
                       "icu_hours", "diagnoses", "procedures")

#: Split-column aliases: a principal column and a secondary column that are joined into one list.
DIAGNOSIS_PARTS = (("主要诊断", "主要诊断编码", "主诊断编码"), ("其他诊断", "其他诊断编码", "次要诊断"))
PROCEDURE_PARTS = (("主要手术", "主要手术操作", "主要手术编码", "主手术操作编码"), ("其他手术", "其他手术操作", "其他手术编码"))

COLUMNS_BY_NAME = {c.name: c for c in CASE_COLUMNS}
GROUPER_REQUIRED = tuple(c.name for c in CASE_COLUMNS if c.required)

#: every column the grouper's readers know how to type: cases, read status, grouped, DIP grouped
KNOWN_COLUMNS: dict[str, Column] = {
    c.name: c for c in (*DIP_GROUPED_COLUMNS, *GROUPED_COLUMNS, *READ_COLUMNS, *CASE_COLUMNS)}


def alias_map() -> dict[str, str]:
    """Header (canonical or Chinese alias) -> canonical column name."""
    out: dict[str, str] = {}
    for c in CASE_COLUMNS:
        out[c.name] = c.name
        for a in c.aliases:
            out[a] = c.name
    return out


def names(columns: tuple[Column, ...]) -> tuple[str, ...]:
    """The names of declared columns, in order."""
    return tuple(c.name for c in columns)


def chinese_headers(columns: tuple[Column, ...] | None = None) -> dict[str, str]:
    """Canonical name -> Chinese header for outputs (all declared tables when None)."""
    cols = columns if columns is not None else tuple(KNOWN_COLUMNS.values())
    return {c.name: c.header_zh for c in cols}


def markdown_table(columns: tuple[Column, ...] = CASE_COLUMNS) -> str:
    """The README's column table of ``columns``."""
    rows = ["| column | type | unit | required | meaning | other headers accepted |",
            "|---|---|---|---|---|---|"]
    for c in columns:
        meaning = c.meaning.replace("|", "\\|")
        rows.append(f"| {c.name} | {c.kind} | {c.unit} | {'yes' if c.required else ''} | {meaning} "
                    f"| {', '.join(c.aliases)} |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover - prints the README table
    print(markdown_table())
