"""The headers drgsim writes on its outputs (Chinese or English, from the declarations in
:mod:`grouper.schema` and :mod:`payment.columns`, then :mod:`payment.labels`) and the way back
from such a header to the column name: one home for the CLI's writer and reader and for the
streaming sources, so a table drgsim wrote reads the same whichever path reads it."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["header", "reverse_headers"]


@lru_cache(maxsize=1)
def _zh_declared() -> dict[str, str]:
    from grouper.schema import chinese_headers as grouper_zh
    from payment.columns import chinese_headers as priced_zh

    return {**grouper_zh(), **priced_zh()}


def header(col: str, lang: str) -> str:
    """The ``lang`` header of column ``col``."""
    from payment.labels import COLUMNS, column_label

    if lang == "zh":
        return _zh_declared().get(col) or column_label(col, "zh")
    if col in COLUMNS:
        return column_label(col, "en")
    return col


@lru_cache(maxsize=1)
def reverse_headers() -> dict[str, str]:
    """Header (zh or en) drgsim writes -> column name, for the columns no case alias covers."""
    from grouper.schema import KNOWN_COLUMNS, alias_map
    from payment.columns import PRICED_OUTPUT_COLUMNS

    aliases = alias_map()
    names = list(dict.fromkeys([*KNOWN_COLUMNS, *(c.name for c in PRICED_OUTPUT_COLUMNS)]))
    out: dict[str, str] = {}
    for lang in ("zh", "en"):
        for n in names:
            h = header(n, lang)
            if h != n and h not in aliases and h not in out:
                out[h] = n
    return out
