"""The record of one declared table column, shared by grouper.schema and payment.columns."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DTYPES", "Column"]

#: kind -> pandas dtype of a column read from a file
DTYPES = {"text": "string", "int": "Int64", "float": "float64", "date": "datetime64[ns]",
          "bool": "bool", "category": "category", "list": "object", "object": "object"}


@dataclass(frozen=True)
class Column:
    """One declared column. ``kind`` is one of :data:`DTYPES`; ``unit`` is empty for none."""

    name: str
    kind: str  # "text", "int", "float", "date", "bool", "category"
    required: bool
    meaning: str
    aliases: tuple[str, ...] = ()
    unit: str = ""
    zh: str = ""

    @property
    def dtype(self) -> str:
        """The pandas dtype a reader gives this column."""
        return DTYPES[self.kind]

    @property
    def header_zh(self) -> str:
        """The Chinese header for outputs (``zh``, else the first accepted alias, else the name)."""
        return self.zh or (self.aliases[0] if self.aliases else self.name)
