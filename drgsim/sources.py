"""Case sources for chunked runs: Parquet files and datasets, CSV, workbooks, scratch files.

A source is a Parquet file, a directory of Parquet files (a dataset, read file by file in natural
name order: ``part-2`` before ``part-10``), a CSV file (UTF-8 or GB18030, streamed by
``pyarrow.csv.open_csv``) or an ``.xlsx`` workbook (read whole, then cut; workbooks are small).
Raw Arrow batches are re-cut to exactly ``chunk_rows`` rows (the last chunk may be shorter) and
each chunk is made canonical by :func:`grouper.cases.canonicalise`. Used by :mod:`drgsim.stream`
and (file lists, encodings) by :mod:`drgsim.dask_engine`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from grouper.cases import canonicalise, csv_problem_row, read_raw
from grouper.errors import CaseFileError
from grouper.schema import DIAGNOSIS_PARTS, PROCEDURE_PARTS, alias_map

from .output_headers import reverse_headers

#: Default rows per chunk: about 0.3-0.5 GB of working memory per chunk in flight (measured).
DEFAULT_CHUNK_ROWS = 500_000

PARQUET_SUFFIXES = (".parquet",)  # the extensions of grouper.cases.TABLE_SUFFIXES
CSV_SUFFIXES = (".csv",)


# --- reading ---------------------------------------------------------------------------------------


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.as_posix())]


def parquet_files(path: str | Path) -> list[Path]:
    """The Parquet files of a file or dataset directory, in natural name order."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise CaseFileError(str(p), None, None, "file or directory does not exist")
    files = [f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in PARQUET_SUFFIXES
             and not any(part.startswith((".", "_")) for part in f.relative_to(p).parts)]
    if not files:
        raise CaseFileError(str(p), None, None, "directory holds no .parquet files")
    return sorted(files, key=_natural_key)


def header_names() -> dict[str, str]:
    """Header -> column name: the case aliases, and the Chinese or English headers drgsim
    writes on its output columns (DRG编码, "total cost (yuan)" …), so a table drgsim wrote reads
    back here as it does through the CLI's reader."""
    return {**reverse_headers(), **alias_map()}


def relabelled(names: Iterable[str]) -> bool:
    """Whether any header is not its column's name (Chinese headers): then even a grouped
    table needs :func:`grouper.cases.canonicalise` to be read."""
    heads = header_names()
    return any(heads.get(k, k) != k for k in (str(n).strip().lstrip("\ufeff") for n in names))


def _wanted(names: Iterable[str], columns: Iterable[str] | None) -> list[str] | None:
    """Raw column names whose canonical column is in ``columns`` (None = all)."""
    if columns is None:
        return None
    want = set(columns)
    aliases = header_names()
    parts = {c for grp in (*DIAGNOSIS_PARTS, *PROCEDURE_PARTS) for c in grp}
    keep = []
    for n in names:
        key = str(n).strip().lstrip("\ufeff")
        canon = aliases.get(key, key)
        if canon in want or key in want or (key in parts and ({"diagnoses", "procedures"} & want)):
            keep.append(n)
    return keep


def sniff_encoding(path: Path) -> str:
    """Encoding of a CSV file: 'utf-8' when the first 4 MB decode as UTF-8, else 'gb18030' (the other encoding in use)."""
    with open(path, "rb") as f:
        head = f.read(4 << 20)
    for cut in range(4):  # the read may end inside a multi-byte character
        try:
            head[: len(head) - cut].decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            continue
    return "gb18030"


def _csv_header(path: Path, encoding: str) -> list[str]:
    import csv
    import io

    with open(path, "rb") as f:
        first = f.readline(1 << 20)
    text = first.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="replace")
    return next(csv.reader(io.StringIO(text)), [])


class _Tell:
    """A binary file that remembers how far it has been read (for CSV progress)."""

    def __init__(self, path: Path):
        self.f = open(path, "rb")  # noqa: SIM115 - closed by the reader below
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        b = self.f.read(n)
        self.pos += len(b)
        return b

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        self.f.close()

    @property
    def closed(self) -> bool:
        return self.f.closed

    def readable(self) -> bool:
        return True


class CaseSource:
    """A case file or dataset read in chunks of exactly ``chunk_rows`` raw rows.

    ``columns``: canonical column names to read (raw Chinese headers that map to them are kept);
    None reads every column. ``num_rows`` is exact for Parquet and None for CSV, where
    ``fraction_read()`` tells how much of the file has been consumed.
    """

    def __init__(self, path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                 columns: Iterable[str] | None = None, encoding: str | None = None):
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
        self.path = Path(path)
        self.chunk_rows = int(chunk_rows)
        self.columns = None if columns is None else tuple(columns)
        self._pos: Callable[[], float] = lambda: 0.0
        suffix = self.path.suffix.lower()
        if self.path.is_dir() or suffix in PARQUET_SUFFIXES:
            self.kind = "parquet"
            self.files = parquet_files(self.path)
            schemas, n = [], 0
            for f in self.files:
                try:
                    meta = pq.read_metadata(f)
                except (pa.ArrowInvalid, OSError) as e:
                    raise CaseFileError(str(f), None, None, f"not a readable Parquet file: {e}") from None
                schemas.append(meta.schema.to_arrow_schema())
                n += meta.num_rows
            try:
                # files may differ (a column missing, int in one and text in another)
                self.schema = pa.unify_schemas(schemas, promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                raise CaseFileError(str(self.path), None, None, f"files have incompatible columns: {e}") from None
            self.num_rows: int | None = n
        elif suffix in CSV_SUFFIXES:
            if not self.path.is_file():
                raise CaseFileError(str(self.path), None, None, "file does not exist")
            self.kind = "csv"
            self.encoding = encoding or sniff_encoding(self.path)
            self.header = _csv_header(self.path, self.encoding)
            self.num_rows = None
        elif suffix == ".xlsx":
            self.kind = "xlsx"
            self.num_rows = None
        else:
            raise CaseFileError(str(self.path), None, None,
                                f"unknown file type {suffix!r}; allowed: .parquet, a directory of .parquet files, .csv, .xlsx")

    # raw record batches, in file order, of whatever size the reader gives
    def _batches(self) -> Iterator[pa.Table]:
        if self.kind == "parquet":
            # a pandas index written to the file is not a case column
            cols = [n for n in self.schema.names if not n.startswith("__index_level_")]
            names = cols if self.columns is None else _wanted(cols, self.columns)
            schema = pa.schema([self.schema.field(n) for n in names])
            done = 0
            total = max(1, self.num_rows or 1)
            self._pos = lambda: done / total
            for f in self.files:
                pf = pq.ParquetFile(f)
                have = [n for n in schema.names if n in pf.schema_arrow.names]
                for b in pf.iter_batches(batch_size=max(self.chunk_rows, 1024), columns=have):
                    t = pa.Table.from_batches([b])
                    for n in schema.names:  # a file that lacks a column of the dataset
                        if n not in have:
                            t = t.append_column(schema.field(n), pa.nulls(len(t), schema.field(n).type))
                    done += len(t)
                    yield t.select(schema.names).cast(schema)
        elif self.kind == "csv":
            names = _wanted(self.header, self.columns)
            size = max(1, self.path.stat().st_size)
            # A field longer than Arrow's block fails with "straddling object"; read again with
            # a block 8 times larger (skipping the rows already given) up to 2 GiB.
            block, done = 1 << 22, 0
            while True:
                f = _Tell(self.path)
                self._pos = lambda f=f: f.tell() / size
                try:
                    reader = pacsv.open_csv(
                        f,
                        read_options=pacsv.ReadOptions(encoding=self.encoding, block_size=block),
                        # every column as text: "007" stays "007"; typing is canonicalise's job
                        convert_options=pacsv.ConvertOptions(
                            column_types={h: pa.string() for h in self.header},
                            strings_can_be_null=True, include_columns=names,
                        ),
                    )
                    seen = 0
                    for b in reader:
                        t = pa.Table.from_batches([b])
                        if seen + len(t) <= done:
                            seen += len(t)
                            continue
                        t = t.slice(max(0, done - seen))
                        seen += b.num_rows
                        done += len(t)
                        yield t
                    break
                except (pa.ArrowInvalid, UnicodeDecodeError) as e:
                    if "straddling" in str(e) and block < (1 << 31):
                        block <<= 3
                        continue
                    raise CaseFileError(str(self.path), None, csv_problem_row(self.path, self.encoding),
                                        f"cannot be read as CSV in {self.encoding}: {e}") from None
                finally:
                    f.close()
        else:
            df = read_raw(self.path)
            names = _wanted(df.columns, self.columns)
            if names is not None:
                df = df[names]
            self._pos = lambda: 1.0
            yield pa.Table.from_pandas(df, preserve_index=False)

    def fraction_read(self) -> float:
        """Share of the input consumed so far (bytes for CSV, rows for Parquet), 0..1."""
        return min(1.0, max(0.0, self._pos()))

    def tables(self) -> Iterator[pa.Table]:
        """Raw Arrow tables of exactly ``chunk_rows`` rows (the last one may be shorter)."""
        buf: list[pa.Table] = []
        have = 0
        proto: pa.Table | None = None
        for t in self._batches():
            proto = t if proto is None else proto
            buf.append(t)
            have += len(t)
            while have >= self.chunk_rows:
                whole = pa.concat_tables(buf) if len(buf) > 1 else buf[0]
                yield whole.slice(0, self.chunk_rows)
                proto = whole.slice(0, 1)  # something was yielded
                rest = whole.slice(self.chunk_rows)
                buf = [rest] if len(rest) else []
                have = len(rest)
        if have:
            yield pa.concat_tables(buf) if len(buf) > 1 else buf[0]
        elif proto is None or proto.num_rows == 0:
            # nothing was yielded. A header-only input still gives one empty chunk, so the output has its columns
            yield proto.slice(0, 0) if proto is not None else self._empty()

    def _empty(self) -> pa.Table:
        if self.kind == "csv":
            names = _wanted(self.header, self.columns) or self.header
            return pa.table({n: pa.array([], pa.string()) for n in names})
        cols = [n for n in self.schema.names if not n.startswith("__index_level_")]
        names = cols if self.columns is None else _wanted(cols, self.columns)
        return pa.schema([self.schema.field(n) for n in names]).empty_table()

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """Canonical case chunks (see :func:`grouper.cases.canonicalise`)."""
        offset = 0
        for t in self.tables():
            yield canonical_chunk(t, str(self.path), offset)
            offset += len(t)


def canonical_chunk(table: pa.Table, source: str = "<cases>", offset: int = 0) -> pd.DataFrame:
    """One raw chunk -> canonical DataFrame; error rows are numbered from the file start."""
    try:
        return canonicalise(table.to_pandas(), source, row_offset=offset)
    except CaseFileError as e:
        if e.row is None:
            raise
        raise CaseFileError(e.file, e.column, e.row + offset, e.problem) from None


def iter_cases(path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
               columns: Iterable[str] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical case chunks of a file or dataset, in file order."""
    return iter(CaseSource(path, chunk_rows=chunk_rows, columns=columns))


class ScratchSource:
    """The record batches of an Arrow IPC scratch file, as a source for :func:`run_chunks`."""

    def __init__(self, path: Path):
        self.path = path
        with pa.OSFile(str(path)) as f:
            self.batches = pa.ipc.open_file(f).num_record_batches
        self.num_rows: int | None = None

    def tables(self) -> Iterator[pa.Table]:
        # plain reads, not a memory map: mapped pages of a 10 GB scratch file count as resident
        with pa.OSFile(str(self.path)) as f:
            rd = pa.ipc.open_file(f)
            for i in range(rd.num_record_batches):
                yield pa.Table.from_batches([rd.get_batch(i)])
            if rd.num_record_batches == 0:
                # no rows (a header-only input): one empty table, so the output has its columns
                yield rd.schema.empty_table()

    def fraction_read(self) -> float:
        return 0.0



__all__ = [
    "CSV_SUFFIXES", "DEFAULT_CHUNK_ROWS", "PARQUET_SUFFIXES", "CaseSource", "ScratchSource",
    "canonical_chunk", "iter_cases", "parquet_files", "sniff_encoding",
]
