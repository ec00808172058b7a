"""read_cases(): csv / parquet / xlsx files -> canonical case DataFrame.

Headers may be canonical (see :mod:`grouper.schema`) or the Chinese settlement-list headers a
hospital export carries (病案号, 性别, 年龄, 主要诊断 + 其他诊断, ...). Split principal / other
columns are joined into one ``|``-separated list, principal first; in those Chinese columns the
separators ``;`` ``；`` ``，`` ``、`` are read as ``|`` too. 性别 may be 男/女. A value that is not
a number in a numeric column is an error naming the file, the column and the first such row.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import CaseFileError
from .schema import (
    CASE_COLUMNS,
    COLUMNS_BY_NAME,
    DIAGNOSIS_PARTS,
    GROUPER_REQUIRED,
    PROCEDURE_PARTS,
    alias_map,
)

_SEX_TEXT = {"男": "1", "女": "2", "M": "1", "F": "2"}
_CN_SEPARATORS = (";", "；", "，", "、")


def _read_csv_text(path: Path) -> pd.DataFrame:
    last: Exception | None = None
    head = path.read_bytes()[: 1 << 20]
    try:
        head.decode("utf-8")
        encodings = ("utf-8", "gb18030")
    except UnicodeDecodeError as e:
        # a cut multi-byte character at the end of the sample is still UTF-8
        encodings = ("utf-8", "gb18030") if e.start >= len(head) - 3 else ("gb18030",)
    for enc in encodings:
        try:
            # every column is read as text (codes like "007" keep their zeros); typing happens
            # in canonicalise with row-precise errors
            header = next(csv.reader(io.StringIO(head.decode(enc, errors="ignore").lstrip("\ufeff"))), [])
            t = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(encoding=enc, block_size=1 << 24),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in header},
                    strings_can_be_null=True, auto_dict_encode=False,
                    check_utf8=True, include_missing_columns=False,
                ),
            )
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
    raise CaseFileError(str(path), None, None, f"cannot be read as CSV in UTF-8 or GB18030: {last}")


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


def _read_any(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if not path.exists():
        raise CaseFileError(str(path), None, None, "file does not exist")
    if suffix in (".csv", ".txt"):
        return _read_csv_text(path)
    if suffix in (".parquet", ".pq"):
        try:
            return arrow_to_frame(pq.read_table(path))
        except (pa.ArrowInvalid, OSError) as e:
            raise CaseFileError(str(path), None, None, f"not a readable Parquet file: {e}") from None
    if suffix in (".xlsx", ".xlsm"):
        try:
            return pd.read_excel(path, dtype=str, engine="openpyxl")
        except Exception as e:  # openpyxl raises many kinds for a corrupt workbook
            raise CaseFileError(str(path), None, None, f"not a readable Excel workbook: {e}") from None
    raise CaseFileError(str(path), None, None, f"unknown file type {suffix!r}; allowed: .csv, .parquet, .xlsx")


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


def canonicalise(df: pd.DataFrame, source: str = "<cases>") -> pd.DataFrame:
    """Rename Chinese headers, join split code columns and type the columns of a raw table."""
    df = df.rename(columns=lambda c: str(c).strip().lstrip("\ufeff"))
    aliases = alias_map()
    ren = {c: aliases[c] for c in df.columns if c in aliases and aliases[c] != c}
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
    missing = [c for c in GROUPER_REQUIRED if c not in df.columns]
    if missing:
        raise CaseFileError(source, missing[0], None,
                            f"required column missing (accepted headers: {[missing[0], *COLUMNS_BY_NAME[missing[0]].aliases] if missing[0] in COLUMNS_BY_NAME else missing[0]}); file has {list(df.columns)}")
    out = {}
    for c in df.columns:
        spec = COLUMNS_BY_NAME.get(c)
        s = df[c]
        if spec is None or spec.kind == "text":
            if spec is not None and not _is_list_column(s):
                s = s.astype("string")
            out[c] = s
        elif spec.kind in ("int", "float"):
            out[c] = _numeric(s, c, source, spec.kind)
        elif spec.kind == "date":
            d = pd.to_datetime(s, errors="coerce")
            bad = d.isna() & s.notna() & (s.astype("string").str.strip() != "")
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise CaseFileError(source, c, i + 1, f"{s.iloc[i]!r} is not a date (use YYYY-MM-DD)")
            out[c] = d
        elif spec.kind == "bool":
            t = s.astype("string").str.strip().str.lower()
            out[c] = t.isin(["1", "true", "yes", "y", "是"]).astype(bool)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _is_list_column(s: pd.Series) -> bool:
    """Arrow list columns (diagnoses as arrays) stay lists; the grouper joins them."""
    if isinstance(s.dtype, pd.ArrowDtype):
        return pa.types.is_list(s.dtype.pyarrow_dtype) or pa.types.is_large_list(s.dtype.pyarrow_dtype)
    if pd.api.types.is_object_dtype(s.dtype):
        first = s.dropna()
        return len(first) > 0 and isinstance(first.iloc[0], (list, tuple, np.ndarray))
    return False


#: the largest magnitude a numeric case field may have (yuan, days, years, grams): beyond it a
#: value is a data error, and integers stay exact in float64 below 2**53
MAX_MAGNITUDE = 1e15


def _numeric(s: pd.Series, col: str, source: str, kind: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s.astype("float64")
    else:
        t = s.astype("string").str.strip()
        if col == "sex":
            t = t.replace(_SEX_TEXT)
        v = pd.to_numeric(t, errors="coerce").astype("float64")
        bad = v.isna() & t.notna() & (t != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise CaseFileError(source, col, i + 1, f"{s.iloc[i]!r} is not a number")
    with np.errstate(invalid="ignore"):
        wild = v.notna() & ~(np.abs(v) <= MAX_MAGNITUDE)
    if wild.any():
        # inf, 1e308 or 20-digit whole numbers are no real age, stay or cost (and would
        # overflow the integer columns): a clear error naming the cell, never a crash
        i = int(np.flatnonzero(wild.to_numpy())[0])
        raise CaseFileError(source, col, i + 1, f"{s.iloc[i]!r} is out of range "
                            f"(a finite number of at most {MAX_MAGNITUDE:.0e} expected)")
    if kind == "int":
        whole = v.isna() | (v == np.floor(v))
        if not whole.all():
            i = int(np.flatnonzero(~whole.to_numpy())[0])
            raise CaseFileError(source, col, i + 1, f"{s.iloc[i]!r} is not a whole number")
        return v.astype("Int64")
    return v


def read_cases(path: str | Path) -> pd.DataFrame:
    """Read a case file (.csv in UTF-8 or GB18030, .parquet, .xlsx) into canonical columns.

    Rows keep their file order; ``row`` numbers in errors are 1-based data rows (header
    excluded). Raises :class:`CaseFileError` naming the file, column and first offending row.
    """
    p = Path(path)
    return canonicalise(_read_any(p), str(p))


def read_raw(path: str | Path) -> pd.DataFrame:
    """A case file's columns as stored, before :func:`canonicalise` (CSV columns as text).

    Same file types and errors as :func:`read_cases`; for readers that select or cut columns
    themselves (``drgsim.sources`` reads workbooks this way).
    """
    return _read_any(Path(path))


__all__ = ["CASE_COLUMNS", "canonicalise", "read_cases", "read_raw"]
