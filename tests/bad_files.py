"""Every kind of bad file, and every command that reads cases (issue 12 items 3, 5 and 8).

:func:`build` writes the files into a folder from one small good input (grouped cases of the
demo region: 60 of 2025 first, then 120 of 2024, so weights, prices and a settlement can all be
made from it); :func:`argv` is the command line of each command for one file. Shared by
``tests/test_bad_files_matrix.py`` (in process, typer's runner) and
``benchmarks/probe_hostile.py`` (real ``drgsim`` processes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Kind:
    """What a bad file is and what every command must make of it.

    ``file_level``: exit 2 with one error naming the file. Otherwise the rows are readable and
    a command exits 0 (or 2 with one error, when it cannot go on without the cells); ``cells``
    are the (header, spreadsheet row) pairs its warnings must name.
    """

    file_level: bool
    cells: tuple[tuple[str, int], ...] = ()
    note: str = ""
    #: for a file-level problem at one line: the row its error must name
    row: int | None = None


#: file name -> what it is; the first three data rows (sheet rows 2-4) carry the planted cells
KINDS: dict[str, Kind] = {
    "header.csv": Kind(False, note="header only: an empty output with the columns"),
    "huge.csv": Kind(False, (("age", 2), ("los", 3), ("total_cost", 4)), "20 digits, 1e308, 1e400"),
    "inf.csv": Kind(False, (("total_cost", 2), ("age", 3)), "inf, -inf, nan"),
    "baddate.csv": Kind(False, (("discharge_date", 2), ("admission_date", 3)), "2025-10-32, 9999-99-99"),
    "age45.csv": Kind(False, note="年龄 written 45岁: read as 45"),
    "gbk.csv": Kind(False, note="Chinese headers in GBK"),
    "formula.xlsx": Kind(False, (("总费用", 2), ("年龄", 3)), "formula cells with no saved value"),
    "merged.xlsx": Kind(False, (("医疗机构编码", 3), ("医疗机构编码", 4)), "merged cells B2:B4"),
    "columns.csv": Kind(True, note="required columns (diagnoses, drg, total_cost) missing"),
    "badline.csv": Kind(True, note="row 5 has two fields", row=5),
    "badbytes.csv": Kind(True, note="row 6 is not UTF-8 (nor GB18030)", row=6),
    "garbage.csv": Kind(True), "garbage.xlsx": Kind(True), "garbage.parquet": Kind(True),
    "empty.csv": Kind(True, note="0 bytes"), "missing.csv": Kind(True, note="does not exist"),
    "wrong.txt": Kind(True, note="unknown extension"),
}

#: Chinese headers of the GBK, age and workbook files
ZH = {"case_id": "病案号", "hospital_id": "医疗机构编码", "sex": "性别", "age": "年龄",
      "los": "住院天数", "total_cost": "总费用", "diagnoses": "诊断", "procedures": "手术操作"}

#: commands that read cases (``drgsim --help``); cashflow reads them through a scenario as
#: simulate does
COMMANDS = ("group", "explain", "price", "weights", "simulate", "cashflow", "dip group",
            "analyse", "supervise", "benefits")

#: a sheet row of a planted cell, for a data row index
ROW0 = 2


def build(d: Path, grouped: pd.DataFrame, scheme, policy: str = "national_drg") -> Path:
    """Write the good input, its weights and DIP catalogue and every bad file into ``d``."""
    import payment
    from grouper.dip import DipConfig, build_catalogue

    d.mkdir(parents=True, exist_ok=True)
    g = grouped.drop(columns=[c for c in ("read_status", "read_warnings") if c in grouped.columns])
    pol = payment.load_policy(policy)
    payment.compute_weights(g[g["year"] < 2025], pol).save(d / "w")
    build_catalogue(g[g["year"] < 2025], DipConfig(core_threshold=5), scheme).save(d / "cat")
    good = pd.concat([g[g["year"] == 2025].head(60), g[g["year"] == 2024].head(120)], ignore_index=True)
    good["insurance"] = np.where(np.arange(len(good)) % 2 == 0, "employee", "resident")
    good["category"] = "general"
    good.to_csv(d / "good.csv", index=False)
    text = good.astype(str).replace({"nan": "", "<NA>": "", "None": ""})
    text.head(0).to_csv(d / "header.csv", index=False)

    def planted(name: str, cells: dict[tuple[int, str], str]) -> None:
        t = text.copy()
        for (r, c), v in cells.items():
            t.loc[r, c] = v
        t.to_csv(d / name, index=False)

    planted("huge.csv", {(0, "age"): "99999999999999999999", (1, "los"): "1e308", (2, "total_cost"): "1e400"})
    planted("inf.csv", {(0, "total_cost"): "inf", (1, "age"): "-inf", (2, "los"): "nan"})
    planted("baddate.csv", {(0, "discharge_date"): "2025-10-32", (1, "admission_date"): "9999-99-99"})
    zh = text.rename(columns=ZH)
    zh.assign(年龄=zh["年龄"] + "岁").to_csv(d / "age45.csv", index=False)
    zh.to_csv(d / "gbk.csv", index=False, encoding="gbk")
    _workbooks(d, zh)
    # the codes, the group and the cost: a column every command needs
    text.drop(columns=["diagnoses", "drg", "status", "total_cost"]).to_csv(d / "columns.csv", index=False)
    lines = (d / "good.csv").read_bytes().split(b"\n")
    (d / "badline.csv").write_bytes(b"\n".join([*lines[:4], b"C1,H1", *lines[5:]]))
    (d / "badbytes.csv").write_bytes(b"\n".join([*lines[:5], lines[5] + b"\xff\xfe\xfa", *lines[6:]]))
    rng = np.random.default_rng(1)
    for name in ("garbage.csv", "garbage.xlsx", "garbage.parquet"):
        (d / name).write_bytes(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    (d / "empty.csv").write_bytes(b"")
    (d / "wrong.txt").write_text((d / "good.csv").read_text("utf-8"), "utf-8")
    for name in (*KINDS, "good.csv"):
        _scenario(d, name, policy)
    return d


def _workbooks(d: Path, zh: pd.DataFrame) -> None:
    """formula.xlsx (总费用 of row 2, 年龄 of row 3 are formulas no program saved a value for)
    and merged.xlsx (医疗机构编码 B2:B4 merged: rows 3 and 4 read blank)."""
    from openpyxl import Workbook

    cols = list(zh.columns)
    num = {"年龄", "住院天数", "总费用", "hospital_level", "discharge_mode", "year", "sex",
           "age_days", "birth_weight", "patient_paid", "new_tech_cost"}

    def cell(c: str, v: str):
        if v == "":
            return None
        if c in num:
            try:
                f = float(v)
                return int(f) if f.is_integer() else f
            except ValueError:
                return v
        return v

    for name in ("formula.xlsx", "merged.xlsx"):
        wb = Workbook()
        ws = wb.active
        ws.append(cols)
        for row in zh.itertuples(index=False):
            ws.append([cell(c, v) for c, v in zip(cols, row, strict=True)])
        if name == "formula.xlsx":
            ws.cell(2, cols.index("总费用") + 1).value = "=SUM(1,2)"
            ws.cell(3, cols.index("年龄") + 1).value = "=40+5"
        else:
            col = cols.index("医疗机构编码") + 1
            for r in (3, 4):
                ws.cell(r, col).value = None
            from openpyxl.utils import get_column_letter

            ws.merge_cells(f"{get_column_letter(col)}2:{get_column_letter(col)}4")
        wb.save(d / name)


def _scenario(d: Path, name: str, policy: str) -> None:
    """A simulate / cash-flow scenario whose cases are ``name`` (absolute path)."""
    stem = name.replace(".", "_")
    base = (f'name = "bad file {name}"\npolicy = "{policy}"\ncases = "{(d / name).as_posix()}"\n'
            f'scheme = "{_scheme_ref()}"\nyear = 2025\n')
    (d / f"scn_{stem}.toml").write_text(base, encoding="utf-8")
    cash = (base + '\n[cashflow]\nclearing_month = 5\n\n[cashflow.assign]\nrule = "patient_hash"\n'
            'shares = { employee = 0.55, resident = 0.45 }\n\n[[cashflow.funds]]\nid = "employee"\n'
            'type = "employee"\nopening_balance = 1_000_000.0\nincome = 100_000.0\n\n'
            '[[cashflow.funds]]\nid = "resident"\ntype = "resident"\nopening_balance = 500_000.0\n'
            'income = 50_000.0\n')
    (d / f"cash_{stem}.toml").write_text(cash, encoding="utf-8")


def _scheme_ref() -> str:
    import grouper

    return Path(grouper.demo_scheme_path()).as_posix()


def argv(command: str, f: str | Path, d: Path, scheme_path: str | Path, out: Path | None = None) -> list[str]:
    """The command line of ``command`` reading the case file ``f``; it writes to ``out``, by
    default a path of its own under ``d/out`` (one per command and file, so no run meets
    another's output)."""
    s, f = str(scheme_path), str(f)
    stem = Path(f).name.replace(".", "_")
    o = {"group": "o.csv", "price": "p.xlsx", "weights": "w_out", "simulate": "sim",
         "cashflow": "cash", "dip group": "dg.xlsx", "analyse": "an", "supervise": "sv",
         "benefits": "bn"}.get(command, "x")
    o = str(out or d / "out" / f"{stem}-{o}")
    return {
        "group": ["group", f, "-s", s, "-o", o, "-q"],
        "explain": ["explain", f, "-s", s],
        "price": ["price", f, "-w", str(d / "w"), "-p", "national_drg", "-o", o, "-q"],
        "weights": ["weights", f, "-p", "national_drg", "-o", o, "-q"],
        "simulate": ["simulate", str(d / f"scn_{stem}.toml"), "-o", o, "-q"],
        "cashflow": ["cashflow", str(d / f"cash_{stem}.toml"), "-o", o, "-q"],
        "dip group": ["dip", "group", f, "--catalogue", str(d / "cat"), "-o", o, "-q"],
        "analyse": ["analyse", f, "-w", str(d / "w"), "-o", o, "-q"],
        "supervise": ["supervise", f, "-s", s, "-o", o, "-q"],
        "benefits": ["benefits", f, "-o", o],
    }[command]


#: commands whose output is one table file (so a header-only input must give one with columns)
TABLE_OUTPUTS = ("group", "price", "dip group")
