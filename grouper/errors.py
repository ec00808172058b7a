"""Exceptions that point at the source of a problem (file, row, column)."""

from __future__ import annotations


class DrgsimError(Exception):
    """Base class of every error drgsim raises on purpose."""


class SchemeError(DrgsimError):
    """A scheme file is missing, malformed or inconsistent.

    The message names the file, the row (1-based data row, header excluded) or the JSON path,
    and what is allowed.
    """

    def __init__(self, file: str, where: str, problem: str):
        self.file, self.where, self.problem = file, where, problem
        super().__init__(f"{file}: {where}: {problem}")


class CaseFileError(DrgsimError):
    """A case file cannot be read as cases (missing column, bad encoding, wrong type)."""

    def __init__(self, file: str, column: str | None, row: int | None, problem: str):
        self.file, self.column, self.row, self.problem = file, column, row, problem
        where = []
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{file}: {', '.join(where) + ': ' if where else ''}{problem}")


class CaseValueWarning(UserWarning):
    """Cells of a case file that could not be read and are treated as missing (one per column).

    ``column`` is the header as the file has it (e.g. 年龄, not age), or None for a warning about
    the file as a whole (formula or merged cells of a workbook); rows in the message are the
    spreadsheet's (header = row 1, first data row = 2).
    """

    def __init__(self, file: str, column: str | None, problem: str):
        self.file, self.column, self.problem = file, column, problem
        super().__init__(f"{file}: column {column!r}: {problem}" if column is not None
                         else f"{file}: {problem}")
