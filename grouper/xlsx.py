"""The workbook half of the one reader (:func:`grouper.cases.read_raw`): an ``.xlsx`` file's first
sheet as an untyped table, and what Excel hides in it.

Values are the ones Excel saved (openpyxl ``data_only``). Three kinds of cell would otherwise turn
into silent blanks, so each is said, per row and once for the file:

* a **formula with no saved value** (a workbook written by a program and never opened in Excel:
  openpyxl reads it as empty) is missing for its case, and the row's ``read_status`` is
  ``BAD_VALUE``;
* an **Excel error value** (``#DIV/0!``, ``#REF!`` …) likewise;
* **merged cells** that reach into the data: only the first cell of a merged range holds its
  value, the others read as blank; the rows they cover get a warning (their status stays ``OK``:
  a blank is what the file holds).

The row problems travel as ``read_status`` / ``read_warnings`` columns of the raw table (merged
into those of a table drgsim wrote), so :func:`grouper.cases.canonicalise` keeps them whole or cut
into chunks. Rows are numbered as Excel numbers them; blank rows after the last data row are not
data.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import pandas as pd

from .errors import CaseFileError, CaseValueWarning

#: cell texts read as missing, the same as the CSV reader's (Arrow's default null values)
NULL_TEXTS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                        "1.#IND", "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"})
#: a formula element or a merged range in a sheet's XML (any namespace prefix)
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)"')
_SCAN_BLOCK = 1 << 20
_SHOWN = 5


def read_xlsx(path: Path, cell_text) -> pd.DataFrame:
    """The first sheet of ``path``: its first non-blank row as headers, then one row per non-blank
    row, every cell as ``cell_text(value)`` (text or None), as a string-typed DataFrame.

    Formula cells with no saved value, error values and merged ranges are said (module text).
    Raises :class:`CaseFileError` when the file is no readable workbook.
    """
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True, keep_links=False)
        try:
            ws = wb.worksheets[0]
            ws.reset_dimensions()  # declared dimensions can be wrong: read the real extent
            member = ws._worksheet_path  # the sheet's part in the package (for the scan below)
            grid, kinds = [], {}
            for r, row in enumerate(ws.iter_rows(), start=1):
                vals = []
                for c, cell in enumerate(row, start=1):
                    v = getattr(cell, "value", None)
                    if getattr(cell, "data_type", None) == "e":
                        kinds[(r, c)] = f"an Excel error value {v!r}"
                        v = None
                    vals.append(v)
                grid.append(vals)
        finally:
            wb.close()
        formula, merged = _scan(path, member)
        if formula:
            for (r, c) in _formulas_without_value(path, grid):
                kinds[(r, c)] = "a formula with no saved value"
    except CaseFileError:
        raise
    except Exception as e:  # openpyxl and zipfile raise many kinds for a corrupt workbook
        raise CaseFileError(str(path), None, None, f"not a readable Excel workbook: {e}") from None
    return _table(grid, kinds, merged, str(path), cell_text)


def _scan(path: Path, member: str) -> tuple[bool, list[str]]:
    """(whether the sheet holds any formula, its merged ranges), from one pass over its XML."""
    formula, merged, tail = False, set(), b""
    with zipfile.ZipFile(path) as z, z.open(member) as f:
        while block := f.read(_SCAN_BLOCK):
            buf = tail + block
            formula = formula or _FORMULA.search(buf) is not None
            merged.update(m.decode("ascii").upper() for m in _MERGE.findall(buf))
            tail = buf[-128:]  # a tag cut by the block edge is found whole in the next buffer
    return formula, sorted(merged, key=_range_key)


def _range_key(ref: str) -> tuple[int, int]:
    from openpyxl.utils import range_boundaries

    c0, r0, _, _ = range_boundaries(ref)
    return r0, c0


def _formulas_without_value(path: Path, grid: list[list]) -> list[tuple[int, int]]:
    """(row, column) of formula cells whose saved value is empty (a second, formula-text read)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=False, keep_links=False)
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()
        out = []
        for r, row in enumerate(ws.iter_rows(), start=1):
            for c, cell in enumerate(row, start=1):
                if getattr(cell, "data_type", None) == "f":
                    vals = grid[r - 1] if r <= len(grid) else []
                    if c > len(vals) or vals[c - 1] is None:
                        out.append((r, c))
        return out
    finally:
        wb.close()


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip() in NULL_TEXTS)


def _table(grid: list[list], kinds: dict[tuple[int, int], str], merged: list[str], source: str,
           cell_text) -> pd.DataFrame:
    from openpyxl.utils import get_column_letter, range_boundaries

    rows = [r for r, vals in enumerate(grid, start=1)
            if not all(_blank(v) for v in vals) or any((r, c) in kinds for c in range(1, len(vals) + 1))]
    if not rows:
        return pd.DataFrame()
    # blank rows inside the data stay (as pandas reads a sheet), so row i is sheet row head + 1 + i
    head_row, data_rows = rows[0], list(range(rows[0] + 1, rows[-1] + 1))
    width = max(max((c for c, v in enumerate(grid[r - 1], start=1) if not _blank(v)), default=0)
                for r in rows)
    width = max(width, max((c for (_, c) in kinds), default=0))
    head = grid[head_row - 1] + [None] * width
    names = _names([head[i] for i in range(width)], cell_text)
    index = {r: i for i, r in enumerate(data_rows)}
    n = len(data_rows)
    cols = {}
    for c in range(width):
        cols[names[c]] = pd.array(
            [None if _blank(v := (grid[r - 1][c] if c < len(grid[r - 1]) else None)) else cell_text(v)
             for r in data_rows], dtype="string")
    df = pd.DataFrame(cols, index=pd.RangeIndex(n))
    bad = [False] * n
    notes: list[list[str]] = [[] for _ in range(n)]
    said: list[str] = []
    for (r, c), what in sorted(kinds.items()):
        if r in index and c <= width:
            bad[index[r]] = True
            notes[index[r]].append(f"{names[c - 1]} is {what} (row {r})")
            said.append(f"{names[c - 1]} row {r}")
    if said:
        warnings.warn(CaseValueWarning(
            source, None, f"{len(said):,} cell(s) hold a formula with no saved value or an Excel "
            f"error and are treated as missing: {_first(said)} (open the workbook "
            "in Excel and save it, so each formula's value is stored, or paste the values)"),
            stacklevel=4)
    reaching, covered_rows = [], set()
    for ref in merged:
        c0, r0, c1, r1 = range_boundaries(ref)
        hit: list[str] = []
        blank_rows: list[int] = []
        for r in range(max(r0, head_row + 1), r1 + 1):
            if r not in index:
                continue
            for c in range(c0, min(c1, width) + 1):
                if (r, c) == (r0, c0) or not _blank(grid[r - 1][c - 1] if c <= len(grid[r - 1]) else None):
                    continue
                hit += [names[c - 1]] if names[c - 1] not in hit else []
                blank_rows += [r] if r not in blank_rows else []
                covered_rows.add(r)
                notes[index[r]].append(f"{names[c - 1]} is blank inside merged cells {ref} (only "
                                       f"{get_column_letter(c0)}{r0} holds its value) (row {r})")
        if hit:
            reaching.append(f"{ref} ({', '.join(hit)} blank in {_rows(blank_rows)})")
    if reaching:
        warnings.warn(CaseValueWarning(
            source, None, f"merged cells {_first(reaching)} cover data: only the "
            f"first cell of each holds a value, the others read as blank ({len(covered_rows):,} "
            "row(s)); unmerge them and fill every cell in"), stacklevel=4)
    if any(notes):
        _attach(df, bad, ["; ".join(x) for x in notes])
    return df


def _first(items: list[str]) -> str:
    """The first :data:`_SHOWN` items, then how many more."""
    more = f" and {len(items) - _SHOWN:,} more" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


def _rows(rows: list[int]) -> str:
    """'row 3', 'rows 3-5' (consecutive) or 'rows 3, 5, 9'."""
    if len(rows) == 1:
        return f"row {rows[0]}"
    if rows == list(range(rows[0], rows[-1] + 1)):
        return f"rows {rows[0]}-{rows[-1]}"
    return "rows " + ", ".join(map(str, rows))


def _names(head: list, cell_text) -> list[str]:
    """Column names of the header cells: blank ones as pandas names them (``Unnamed: 3``), a
    repeated one with ``.1``, ``.2`` (so the reader can say it is given twice)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, v in enumerate(head):
        name = f"Unnamed: {i}" if _blank(v) else str(cell_text(v)).strip()
        k = seen.get(name, 0)
        seen[name] = k + 1
        out.append(name if k == 0 else f"{name}.{k}")
    return out


#: where a table drgsim wrote keeps its read problems (its column names and Chinese headers)
_STATUS = ("read_status", "读取状态")
_WARNINGS = ("read_warnings", "读取警告")


def _attach(df: pd.DataFrame, bad: list[bool], text: list[str]) -> None:
    """The workbook's row problems into the table's ``read_status`` / ``read_warnings``."""
    status = next((c for c in _STATUS if c in df.columns), _STATUS[0])
    notes = next((c for c in _WARNINGS if c in df.columns), _WARNINGS[0])
    before = df[status].fillna("OK") if status in df.columns else pd.Series("OK", index=df.index)
    df[status] = pd.array(["BAD_VALUE" if b else s for b, s in zip(bad, before, strict=True)],
                          dtype="string")
    old = df[notes].fillna("").tolist() if notes in df.columns else [""] * len(df)
    df[notes] = pd.array(["; ".join(x for x in (a, b) if x) for a, b in zip(old, text, strict=True)],
                         dtype="string")


__all__ = ["NULL_TEXTS", "read_xlsx"]
