"""The text key: the text case fields the rules compare (dept, discharge_mode), packed per case
into one int32 the kernel reads (``CaseArrays.depts``).

Each text field the scheme's rules name gets a slot of ``width`` bits at ``shift``: 0 when the
field is missing or empty, 1 for any other text, 2 + i for the i-th literal the rules name (in
first-seen order). A rule's text test compiles to ``OP_INT_CMP`` on its slot
(:mod:`grouper.compile`), so text is compared exactly (``02`` is not ``2``) at the cost of one
shift and mask.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from .errors import SchemeError
from .scheme import TEXT_FIELDS


class HasTextFields(Protocol):
    """What :func:`text_keys` reads of a compiled scheme."""

    text_fields: list[str]
    text_literals: list[list[str]]


TEXT_MISSING, TEXT_OTHER = 0, 1  # slot values of a text field; a literal i is 2 + i


def _walk(meta: dict):
    """Every expression node of a scheme, rules before MDCs (any fixed order will do)."""
    stack = [r["entry"] for r in meta["adrg_rules"].values()]
    stack += [br["when"] for r in meta["adrg_rules"].values() for br in r["branches"]]
    stack += [m["entry"] for m in meta["mdcs"].values()]
    stack += [st["when"] for m in meta["mdcs"].values() for st in m["steps"] if "rule" not in st]
    stack.reverse()
    while stack:
        n = stack.pop()
        yield n
        kids = n.get("args", [])
        stack.extend(reversed(kids))
        if "arg" in n:
            stack.append(n["arg"])


def text_literals(meta: dict) -> tuple[list[str], list[list[str]]]:
    """(text fields the rules read, in TEXT_FIELDS order; per field its literals, first seen)."""
    found: dict[str, dict[str, None]] = {}
    for n in _walk(meta):
        fld = n.get("field")
        if fld not in TEXT_FIELDS:
            continue
        vals = n["values"] if n["op"] == "field_in" else [n["value"]] if n["op"] == "cmp" else []
        lits = found.setdefault(fld, {})
        for v in vals:
            if v != "":
                lits.setdefault(v, None)
    fields = [f for f in TEXT_FIELDS if f in found]
    return fields, [list(found[f]) for f in fields]


def text_slots(literals: list[list[str]]) -> list[tuple[int, int]]:
    """(shift, width) of each text field's slot in the int32 text key (31 bits at most)."""
    out, shift = [], 0
    for lits in literals:
        width = (len(lits) + 1).bit_length()  # slot values 0 .. len + 1
        out.append((shift, width))
        shift += width
    if shift > 31:
        raise SchemeError("scheme.json", "text fields",
                          f"their literals need {shift} bits of the 31-bit text key; allowed: at most 31 "
                          "(fewer distinct dept / discharge_mode values in the rules)")
    return out


def text_slot(shift: int, width: int) -> int:
    """The OP_INT_CMP argument naming a text slot: shift | width << 5."""
    return shift | (width << 5)


def _text_value(v: object) -> str | None:
    """A cell as text (None when missing or empty); integral numbers without '.0'."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float):
        if v != v:
            return None
        if v.is_integer():
            return str(int(v))
    if isinstance(v, (bytes, bytearray)):
        v = v.decode("utf-8", "replace")
    t = str(v)
    return None if t == "" else t


def text_keys(c: HasTextFields, columns: dict, n: int) -> np.ndarray:
    """The kernel's int32 text key of each of ``n`` cases from its text fields.

    ``columns``: field -> values (Series, array or list; an absent field is missing). Each
    field of ``c.text_fields`` fills its slot: 0 missing or empty, 1 any other text, 2 + i the
    i-th literal; text is compared exactly (no trimming; a number 2 or 2.0 reads as '2').
    One dictionary lookup per distinct value.
    """
    key = np.zeros(n, dtype=np.int32)
    one = 0  # the slots of fields given as one plain value (one case), as a Python int
    for fld, lits, (shift, _) in zip(c.text_fields, c.text_literals, text_slots(c.text_literals)):
        values = columns.get(fld)
        if values is None:
            continue
        index = {v: 2 + i for i, v in enumerate(lits)}

        def slot(v: object, index: dict[str, int] = index) -> int:
            t = _text_value(v)
            return TEXT_MISSING if t is None else index.get(t, TEXT_OTHER)

        if len(values) == 1 and not isinstance(values, pd.Series):
            one |= slot(values[0]) << shift
            continue
        codes, uniq = pd.factorize(pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values,
                                   use_na_sentinel=True)
        table = np.array([slot(u) for u in uniq] + [TEXT_MISSING], dtype=np.int32)
        key |= table[codes] << np.int32(shift)
    if one:
        key |= np.int32(one)
    return key
