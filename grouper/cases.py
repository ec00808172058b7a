"""The one table reader: .csv / .xlsx / .parquet files -> typed, canonical DataFrames.

Headers may be canonical (see :mod:`grouper.schema`) or the Chinese settlement-list headers a
hospital export carries (病案号, 性别, 年龄, 主要诊断 + 其他诊断, ...). Split principal / other
columns are joined into one ``|``-separated list, principal first; in those Chinese columns the
separators ``;`` ``；`` ``，`` ``、`` are read as ``|`` too. CSV may be UTF-8 or GB18030 (GBK).

Only a file-level problem (unreadable file, unknown extension, a missing required column, a
column given twice) raises :class:`CaseFileError`. A cell that cannot be read is treated as
missing for its case: the row gets ``read_status`` ``BAD_VALUE`` and a ``read_warnings`` text, and
one :class:`CaseValueWarning` per column names the user's header, the values and the rows as the
spreadsheet shows them (header = row 1). What is unambiguous is read: ``12,345.60``, ``45岁``,
``45 岁``, full-width digits, 男/女, Excel dates, date-times and date serial numbers. A
workbook's formula cells with no saved value, error values and merged cells are said too
(:mod:`grouper.xlsx`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import CaseFileError, CaseValueWarning
from .schema import (
    CASE_COLUMNS,
    COLUMNS_BY_NAME,
    DIAGNOSIS_PARTS,
    GROUPER_REQUIRED,
    KNOWN_COLUMNS,
    PROCEDURE_PARTS,
    UNIT_SUFFIXES,
    Column,
    alias_map,
)
from .xlsx import read_xlsx

#: the file kinds every command reads and writes, by extension
TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")

_SEX_TEXT = {"男": "1", "女": "2", "男性": "1", "女性": "2", "M": "1", "F": "2", "m": "1", "f": "2",
             "male": "1", "female": "2", "Male": "1", "Female": "2"}
_TRUE = ("1", "true", "yes", "y", "是", "有", "t")
_FALSE = ("0", "false", "no", "n", "否", "无", "f")
_CN_SEPARATORS = (";", "；", "，", "、")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?$")
_DATE8 = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
#: Excel's day 0 (serial 1 = 1900-01-01, with Lotus' phantom 1900-02-29 as serial 60)
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_EXCEL_MAX = 2958465  # 9999-12-31

#: the largest magnitude a numeric case field may have (yuan, days, years, grams): beyond it a
#: value is a data error, and integers stay exact in float64 below 2**53
MAX_MAGNITUDE = 1e15


# --- files -----------------------------------------------------------------------------------------


def check_suffix(path: str | Path) -> str:
    """The lower-case extension of a table file; :class:`CaseFileError` for any other kind."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise CaseFileError(str(path), None, None, f"unknown file type {suffix or '(none)'!r}; "
                            f"allowed: {', '.join(TABLE_SUFFIXES)}")
    return suffix


def _read_arrow_csv(path: Path, enc: str, header: list[str]) -> pa.Table:
    """Arrow's CSV reader with every column as text; a field longer than the block ("straddling
    object") is read again with a block 8 times larger, up to 2 GiB."""
    block = 1 << 24
    while True:
        try:
            return pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(encoding=enc, block_size=block),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in header},
                    strings_can_be_null=True, auto_dict_encode=False,
                    check_utf8=True, include_missing_columns=False,
                ),
            )
        except pa.ArrowInvalid as e:
            if "straddling" not in str(e) or block >= (1 << 31):
                raise
            block <<= 3


def csv_problem_row(path: Path, encoding: str) -> int | None:
    """The row (header = 1, one a line) of the first line of a CSV file that does not decode in
    ``encoding`` or has another number of fields than the header; None when there is none.

    Read line by line (memory bounded): only called once a read has failed, to say where.
    """
    width = None
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError:
                return number
            if number == 1:
                line = line.lstrip("\ufeff")
            if not line.strip():
                continue
            fields = next(csv.reader([line]), [])
            if width is None:
                width = len(fields)
            elif len(fields) != width and '"' not in line:  # a quoted field may span lines
                return number
    return None


def _csv_encodings(head: bytes) -> tuple[str, ...]:
    """The encodings to try for a CSV file starting with ``head``: UTF-8 then GB18030, or
    GB18030 alone when the sample is not UTF-8 (a multi-byte character cut at the end of the
    sample is still UTF-8)."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return ("utf-8", "gb18030") if e.start >= len(head) - 3 else ("gb18030",)
    return ("utf-8", "gb18030")


def _read_csv_text(path: Path) -> pd.DataFrame:
    last: Exception | None = None
    head = path.read_bytes()[: 1 << 20]
    encodings = _csv_encodings(head)
    for enc in encodings:
        try:
            # every column is read as text (codes like "007" keep their zeros); typing happens
            # in canonicalise, cell by cell
            header = next(csv.reader(io.StringIO(head.decode(enc, errors="ignore").lstrip("\ufeff"))), [])
            t = _read_arrow_csv(path, enc, header)
            names = t.column_names
        except (pa.ArrowInvalid, UnicodeDecodeError) as e:
            last = e
            continue
        cols = {}
        for name in names:
            col = t.column(name)
            if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
                col = col.cast(pa.string())
            cols[name] = col
        return pa.table(cols).to_pandas()
    raise CaseFileError(str(path), None, csv_problem_row(path, encodings[0]),
                        f"cannot be read as CSV in UTF-8 or GB18030 (GBK): {last}")


_CJK = re.compile(r"[\u3400-\u9fff]")


def has_chinese_headers(path: str | Path) -> bool:
    """Whether a case file's header row holds Chinese text (a settlement-list export such as
    病案号, 年龄 …): then drgsim's outputs default to Chinese headers too. Reads the header only;
    a file that cannot be read gives False (reading it reports the problem)."""
    p = Path(path)
    try:
        if p.is_dir():
            parts = sorted(p.glob("*.parquet"))
            names = pq.read_schema(parts[0]).names if parts else []
        elif p.suffix.lower() == ".parquet":
            names = pq.read_schema(p).names
        elif p.suffix.lower() == ".xlsx":
            import openpyxl

            wb = openpyxl.load_workbook(p, read_only=True)
            try:
                first = next(wb.active.iter_rows(max_row=1, values_only=True), ())
            finally:
                wb.close()
            names = [str(v) for v in first if v is not None]
        else:
            with open(p, "rb") as fh:
                head = fh.read(1 << 16)
            text = head.decode(_csv_encodings(head)[0], errors="ignore")
            names = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])
    except Exception:  # noqa: BLE001 - unreadable here means "not known to be Chinese"
        return False
    return any(_CJK.search(n) for n in names)


def _cell_text(v) -> str | None:
    """A workbook cell as text: a number as its shortest text ("45", "12345.6", so codes typed
    as numbers read like the CSV export of the same sheet), a date as ISO text."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    if isinstance(v, dt.datetime):  # an Excel date or date-time cell
        return v.isoformat(sep=" ")
    return str(v)


def arrow_to_frame(t: pa.Table, arrow_backed: bool = False) -> pd.DataFrame:
    """Arrow table -> DataFrame; list columns (codes as arrays) become '|'-joined text.

    ``arrow_backed`` keeps every column in Arrow memory (pandas ArrowDtype) instead of copying
    it into numpy, which is what the grouper wants for a large table.
    """
    cols = {}
    for name in t.column_names:
        col = t.column(name)
        if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            col = pc.binary_join(col.cast(pa.list_(pa.string())), "|")
        cols[name] = col
    mapper = pd.ArrowDtype if arrow_backed else None
    return pa.table(cols).to_pandas(ignore_metadata=True, types_mapper=mapper)


def read_raw(path: str | Path) -> pd.DataFrame:
    """The untyped table of a .csv (UTF-8 or GB18030), .xlsx or .parquet file, in file order.

    CSV cells are text; Excel cells are text or dates; Parquet keeps its types. Raises
    :class:`CaseFileError` for a missing or unreadable file or another extension.
    """
    path = Path(path)
    suffix = check_suffix(path)
    if not path.is_file():
        raise CaseFileError(str(path), None, None, "file does not exist")
    if suffix == ".csv":
        return _read_csv_text(path)
    if suffix == ".parquet":
        try:
            return arrow_to_frame(pq.read_table(path))
        except (pa.ArrowInvalid, OSError) as e:
            raise CaseFileError(str(path), None, None, f"not a readable Parquet file: {e}") from None
    return read_xlsx(path, _cell_text)  # formula, error and merged cells: grouper.xlsx


_read_any = read_raw  # the former private name (drgsim.stream still imports it)


# --- cells -----------------------------------------------------------------------------------------


class _Problems:
    """Cells that could not be read: per column the rows, values and reason."""

    def __init__(self, n: int):
        self.n = n
        self.items: list[tuple[str, np.ndarray, pd.Series, str]] = []

    def add(self, header: str, bad: np.ndarray, raw: pd.Series, reason: str) -> None:
        if bad.any():
            self.items.append((header, np.flatnonzero(bad), raw, reason))


def _norm_text(s: pd.Series) -> pd.Series:
    """Stripped text with full-width forms folded (NFKC): '４５' -> '45', '１２，３４５' -> '12,345'."""
    t = s.astype("string").str.strip()
    return t.map(lambda v: unicodedata.normalize("NFKC", v).strip() if isinstance(v, str) else v).astype("string")


def _repair_number(v: str, unit: str, sex: bool) -> str:
    """A written number in plain form ('45岁' -> '45', '12,345.60' -> '12345.60'), else as given."""
    if sex:
        return _SEX_TEXT.get(v, v)
    for suf in UNIT_SUFFIXES.get(unit, ()):
        if v.endswith(suf) and len(v) > len(suf):
            v = v[: -len(suf)].strip()
            break
    if unit == "yuan" and v[:1] in ("¥", "￥"):
        v = v[1:].strip()
    if _THOUSANDS.match(v):
        v = v.replace(",", "")
    return v


#: below this many rows, or when most cells differ, a column is read cell by cell directly
_DISTINCT_MIN_ROWS = 1_000


def _per_distinct(read, s: pd.Series, header: str, problems: _Problems, *args) -> pd.Series:
    """``read`` applied once per distinct cell of a text column and mapped back to every row.

    Exact by construction (each reader is a function of the cell alone, and its problems are
    mapped back to the rows holding that cell), and cheap where cells repeat: ages, stays, sex,
    levels and dates have a few hundred distinct texts in a million rows.
    """
    if len(s) < _DISTINCT_MIN_ROWS or not (pd.api.types.is_object_dtype(s.dtype)
                                           or pd.api.types.is_string_dtype(s.dtype)):
        return read(s, *args, header, problems)
    codes, uniq = pd.factorize(s)
    if 2 * len(uniq) > len(s):
        return read(s, *args, header, problems)
    sub = _Problems(len(uniq))
    values = read(pd.Series(uniq, dtype=s.dtype), *args, header, sub)
    for h, rows, _raw, reason in sub.items:
        bad = np.zeros(len(uniq) + 1, dtype=bool)  # the last slot is a blank cell (code -1)
        bad[rows] = True
        problems.add(h, bad[codes], s, reason)
    return pd.Series(values.array.take(codes, allow_fill=True), index=s.index)


def _numeric_cells(s: pd.Series, spec: Column, header: str, problems: _Problems) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        v = s.astype("float64")
    elif pd.api.types.is_numeric_dtype(s.dtype):
        v = s.astype("float64")
    else:
        t = s.astype("string").str.strip()
        if spec.name == "sex":
            t = t.replace(_SEX_TEXT)
        v = pd.to_numeric(t, errors="coerce").astype("float64")
        fail = (v.isna() & t.notna() & (t != "")).to_numpy()
        if fail.any():
            # the slow path only for cells the plain parse refused: each distinct text once
            raw = t[fail]
            fixed = {x: _repair_number(unicodedata.normalize("NFKC", x).strip(), spec.unit, spec.name == "sex")
                     for x in raw.unique()}
            v[fail] = pd.to_numeric(raw.map(fixed), errors="coerce").astype("float64").to_numpy()
            problems.add(header, (v.isna().to_numpy() & fail), s, "not a number")
    with np.errstate(invalid="ignore"):
        wild = (v.notna() & ~(np.abs(v) <= MAX_MAGNITUDE)).to_numpy()
    # inf, 1e308 or 20-digit whole numbers are no real age, stay or cost (and would overflow the
    # integer columns)
    problems.add(header, wild, s, f"out of range (a finite number of at most {MAX_MAGNITUDE:.0e} expected)")
    v[wild] = np.nan
    if spec.kind == "int":
        part = (v.notna() & (v != np.floor(v))).to_numpy()
        problems.add(header, part, s, "not a whole number")
        v[part] = np.nan
        return v.astype("Int64")
    return v


def _date_parts(v: str) -> pd.Timestamp | None:
    """One date or date-time in a form the fast parse refused; None when it is none."""
    x = unicodedata.normalize("NFKC", v).strip()
    if re.fullmatch(r"\d{2,7}(\.\d+)?", x) and 61 <= float(x) <= _EXCEL_MAX:
        # an Excel date serial (a date column exported as numbers); 8 digits are YYYYMMDD
        return (_EXCEL_EPOCH + pd.to_timedelta(float(x), unit="D")).round("s")
    x = x.replace("年", "-").replace("月", "-").replace("日", " ").replace("号", " ").strip()
    x = re.sub(r"(?<=\d)[/.](?=\d)", "-", x)
    x = re.sub(r"\s+", " ", x)
    m = _DATE.match(x) or _DATE8.match(x)
    if m:
        y, mo, d, h, mi, se = (int(g) if g else 0 for g in (m.groups() + (None,) * 6)[:6])
        try:
            return pd.Timestamp(year=y, month=mo, day=d, hour=h, minute=mi, second=se)
        except ValueError:
            return None
    return None


def _date_cells(s: pd.Series, header: str, problems: _Problems) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    if isinstance(s.dtype, pd.ArrowDtype) and pa.types.is_temporal(s.dtype.pyarrow_dtype):
        return pd.to_datetime(s.astype("datetime64[ns]"))
    is_ts = np.zeros(len(s), dtype=bool)
    if pd.api.types.is_object_dtype(s.dtype):  # Python date objects (a DataFrame, Parquet dates)
        is_ts = s.map(lambda v: isinstance(v, (pd.Timestamp, np.datetime64))).to_numpy(dtype=bool)
    t = s.where(~is_ts).astype("string").str.strip() if is_ts.any() else s.astype("string").str.strip()
    d = pd.to_datetime(t, format="ISO8601", errors="coerce")
    if is_ts.any():
        d[is_ts] = pd.to_datetime(s[is_ts])
    fail = (d.isna() & t.notna() & (t != "")).to_numpy()
    if fail.any():
        raw = t[fail]
        fixed = {x: _date_parts(x) for x in raw.unique()}
        d[fail] = pd.to_datetime(raw.map(fixed)).to_numpy()
        problems.add(header, d.isna().to_numpy() & fail, s, "not a date (use YYYY-MM-DD)")
    return d


def _bool(s: pd.Series, header: str, problems: _Problems) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).astype(bool)
    t = _norm_text(s).str.lower()
    yes = t.isin(_TRUE).to_numpy(dtype=bool)
    no = (t.isin(_FALSE) | t.isna() | (t == "")).to_numpy(dtype=bool)
    problems.add(header, ~yes & ~no, s, "not a yes/no flag (1/0, 是/否)")
    return pd.Series(yes, index=s.index)


# --- tables ----------------------------------------------------------------------------------------


def _join_parts(df: pd.DataFrame, parts: tuple[tuple[str, ...], tuple[str, ...]]) -> pd.Series | None:
    main = next((c for c in parts[0] if c in df.columns), None)
    other = next((c for c in parts[1] if c in df.columns), None)
    if main is None:
        return None
    m = df[main].astype("string").str.strip()
    if other is None:
        return m
    o = df[other].astype("string").fillna("")
    for sep in _CN_SEPARATORS:
        o = o.str.replace(sep, "|", regex=False)
    o = o.str.strip("|")
    joined = m.fillna("") + "|" + o
    return joined.where(o != "", m)


def _is_list_column(s: pd.Series) -> bool:
    """Arrow list columns (diagnoses as arrays) stay lists; the grouper joins them."""
    if isinstance(s.dtype, pd.ArrowDtype):
        return pa.types.is_list(s.dtype.pyarrow_dtype) or pa.types.is_large_list(s.dtype.pyarrow_dtype)
    if pd.api.types.is_object_dtype(s.dtype):
        first = s.dropna()
        return len(first) > 0 and isinstance(first.iloc[0], (list, tuple, np.ndarray))
    return False


def _row_notes(problems: _Problems, n: int, row_offset: int) -> tuple[np.ndarray, list[str]]:
    """(bad-row mask, per-row warning text) of the problems."""
    bad = np.zeros(n, dtype=bool)
    notes: dict[int, list[str]] = {}
    for header, rows, raw, reason in problems.items:
        bad[rows] = True
        vals = raw.iloc[rows].tolist()
        for r, v in zip(rows.tolist(), vals):
            notes.setdefault(r, []).append(f"{header} {_show(v)} is {reason}, treated as missing "
                                           f"(row {r + row_offset + 2})")
    text = [""] * n
    for r, msgs in notes.items():
        text[r] = "; ".join(msgs)
    return bad, text


def _show(v) -> str:
    return repr(v if isinstance(v, str) else str(v))


def _warn(problems: _Problems, source: str, row_offset: int) -> None:
    for header, rows, raw, reason in problems.items:
        shown = ", ".join(f"row {r + row_offset + 2} {_show(raw.iloc[r])}" for r in rows[:5].tolist())
        more = f" and {len(rows) - 5:,} more" if len(rows) > 5 else ""
        warnings.warn(CaseValueWarning(
            source, header, f"{len(rows):,} value(s) treated as missing ({reason}): {shown}{more}"),
            stacklevel=4)


def canonicalise(df: pd.DataFrame, source: str = "<cases>", *,
                 required: tuple[str, ...] = GROUPER_REQUIRED, row_offset: int = 0,
                 kinds: Mapping[str, Column] | None = None) -> pd.DataFrame:
    """Rename Chinese headers, join split code columns and type the columns of a raw table.

    Adds ``read_status`` (``OK`` / ``BAD_VALUE``) and ``read_warnings`` per row; a cell that cannot
    be read becomes missing (see the module text). ``required``: columns whose absence is a
    file-level error. ``row_offset``: data rows before this table in its file (for chunks), so
    warnings give the spreadsheet's row (header = 1). ``kinds``: more declared columns to type
    (e.g. :data:`payment.columns.PRICED_COLUMNS` by name), besides :mod:`grouper.schema`'s.
    """
    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1:
        df = df.reset_index(drop=True)
    df = df.rename(columns=lambda c: str(c).strip().lstrip("\ufeff"))
    aliases = alias_map()
    ren = {c: aliases[c] for c in df.columns if c in aliases and aliases[c] != c}
    # A table drgsim wrote has Chinese headers on its output columns too (读取状态, DRG编码 …):
    # they read back as their names, unless the file also has the name itself.
    for spec in {**(kinds or {}), **KNOWN_COLUMNS}.values():
        zh = spec.header_zh
        if zh in df.columns and zh not in aliases and zh not in ren and spec.name not in df.columns:
            ren[zh] = spec.name
    header_of = {v: k for k, v in ren.items()}
    cn_cols = set(ren.values())
    dups = [v for v in set(ren.values()) if v in df.columns or list(ren.values()).count(v) > 1]
    if dups:
        raise CaseFileError(source, dups[0], None, "given twice (canonical and alias headers)")
    df = df.rename(columns=ren)
    for target, parts in (("diagnoses", DIAGNOSIS_PARTS), ("procedures", PROCEDURE_PARTS)):
        if target not in df.columns:
            joined = _join_parts(df, parts)
            if joined is not None:
                df[target] = joined
                cn_cols.add(target)
    for col in ("diagnoses", "procedures"):
        if col in cn_cols and col in df.columns and df[col].dtype != object:
            s = df[col].astype("string")
            for sep in _CN_SEPARATORS:
                s = s.str.replace(sep, "|", regex=False)
            df[col] = s
    missing = [c for c in required if c not in df.columns]
    if missing:
        accepted = [missing[0], *COLUMNS_BY_NAME[missing[0]].aliases] if missing[0] in COLUMNS_BY_NAME else [missing[0]]
        raise CaseFileError(source, missing[0], None,
                            f"required column missing (accepted headers: {accepted}); file has {list(df.columns)}")
    known = {**(kinds or {}), **KNOWN_COLUMNS}
    problems = _Problems(len(df))
    out = {}
    for c in df.columns:
        spec = known.get(c)
        s = df[c]
        header = header_of.get(c, c)
        if c in ("read_status", "read_warnings"):
            continue
        if spec is None or spec.kind in ("text", "category"):
            if spec is not None and not _is_list_column(s):
                s = s.astype("string")
            out[c] = s
        elif spec.kind in ("int", "float"):
            out[c] = _per_distinct(_numeric_cells, s, header, problems, spec)
        elif spec.kind == "date":
            out[c] = _per_distinct(_date_cells, s, header, problems)
        elif spec.kind == "bool":
            out[c] = _bool(s, header, problems)
    n = len(df)
    bad, text = _row_notes(problems, n, row_offset)
    if "read_status" in df.columns:  # a table drgsim wrote: its earlier read problems stay
        bad |= (df["read_status"].astype("string").fillna("OK") != "OK").to_numpy(dtype=bool)
    if "read_warnings" in df.columns:
        before = df["read_warnings"].astype("string").fillna("").tolist()
        text = ["; ".join(x for x in (a, b) if x) for a, b in zip(before, text)]
    _note_duplicate_ids(out, text, source, header_of.get("case_id", "case_id"), row_offset)
    out["read_status"] = pd.Series(np.where(bad, "BAD_VALUE", "OK"), dtype="string")
    out["read_warnings"] = pd.Series(text, dtype="string")
    _warn(problems, source, row_offset)
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _note_duplicate_ids(out: dict, text: list[str], source: str, header: str,
                        row_offset: int) -> None:
    """A case id given twice is kept (every row stays) but said: in the row's read warnings
    and one warning for the file (within the rows read together: a chunk when streaming)."""
    ids = out.get("case_id")
    if ids is None:
        return
    s = pd.Series(ids).astype("string")
    dup = (s.duplicated(keep=False) & s.notna() & (s != "")).to_numpy(dtype=bool)
    if not dup.any():
        return
    rows = np.flatnonzero(dup)
    first = pd.Series(rows, index=s.iloc[rows].to_numpy()).groupby(level=0).transform("min")
    for r, f0 in zip(rows.tolist(), first.to_numpy().tolist(), strict=True):
        note = f"{header} {s.iloc[r]!r} also in row {f0 + row_offset + 2}" if r != f0 else \
            f"{header} {s.iloc[r]!r} appears more than once"
        text[r] = "; ".join(x for x in (text[r], note) if x)
    shown = ", ".join(repr(v) for v in pd.unique(s.iloc[rows])[:5])
    warnings.warn(CaseValueWarning(
        source, header, f"{int(s.iloc[rows].nunique()):,} case id(s) appear more than once "
        f"({len(rows):,} rows, e.g. {shown}); every row is kept"), stacklevel=3)


def read_table(path: str | Path, *, required: tuple[str, ...] = (),
               kinds: Mapping[str, Column] | None = None) -> pd.DataFrame:
    """Read any drgsim table (cases, grouped, priced, history) by extension, typed and canonical.

    Like :func:`read_cases` but with only ``required`` columns required; ``kinds`` types more
    declared columns (see :func:`canonicalise`).
    """
    p = Path(path)
    return canonicalise(read_raw(p), str(p), required=required, kinds=kinds)


def read_cases(path: str | Path) -> pd.DataFrame:
    """Read a case file (.csv in UTF-8 or GB18030, .parquet, .xlsx) into canonical columns.

    Rows keep their file order, one per data row, plus ``read_status`` / ``read_warnings``.
    Raises :class:`CaseFileError` only for file-level problems (see the module text).
    """
    p = Path(path)
    return canonicalise(read_raw(p), str(p))


__all__ = ["CASE_COLUMNS", "MAX_MAGNITUDE", "TABLE_SUFFIXES", "arrow_to_frame", "canonicalise",
           "check_suffix", "csv_problem_row", "read_cases", "read_raw", "read_table"]
