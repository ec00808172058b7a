"""Batch bodies straight to the canonical case table, one column at a time (no model per case).

``POST /v1/preview/batch`` with 10,000 cases spent more time making 10,000 pydantic objects and
reading them back attribute by attribute than grouping and pricing them. Here the body is parsed
once with orjson and each field is checked as a column (its set of Python types, then bounds on
a numpy array); a body that is plainly well-formed becomes the case table directly.

Anything this strict check does not accept outright (a wrong type, a bound crossed, an extra
key, a missing field, a value pydantic would coerce such as ``40.0`` for an integer, JSON orjson
cannot read) is handed to the pydantic models unchanged, so every 400 / 422 answer and every
lax coercion is exactly the models' (:mod:`drgsim.service.models`). ``tests/test_service.py``
checks that both routes give the identical table.
"""

from __future__ import annotations

import datetime as dt
import math
from itertools import chain
from typing import Any

import numpy as np
import orjson
import pandas as pd

from .engine import BOOL_FIELDS, NUM_FIELDS, TEXT_FIELDS

#: the bounds and lengths of :mod:`drgsim.service.models` (``Int``, ``Num``, ``Text``, ``Code``)
INT_BOUND = 1_000_000_000
NUM_BOUND = 1e15
TEXT_MAX = 200
CODE_MAX = 64

ID_FIELDS = ("case_id", "hospital_id", "patient_id", "dept", "alliance_id")
INT_FIELDS = ("hospital_level", "sex", "age", "age_days", "birth_weight", "los", "icu_hours",
              "discharge_mode", "month", "year")
NUM_ONLY_FIELDS = ("total_cost", "patient_paid", "new_tech_cost")
DATE_FIELDS = ("admission_date", "discharge_date")
ALLOWED = frozenset((*ID_FIELDS, *INT_FIELDS, *NUM_ONLY_FIELDS, *DATE_FIELDS, "diagnoses",
                     "procedures", *BOOL_FIELDS))
REQUIRED = frozenset(("sex", "age", "diagnoses"))

_NONE = type(None)
_INT_TYPES = frozenset((int, _NONE))
_NUM_TYPES = frozenset((int, float, _NONE))
_STR_TYPES = frozenset((str, _NONE))
_BOOL_TYPES = frozenset((bool, _NONE))
_EMPTY: list[str] = []


class NotPlain(Exception):
    """The body needs the pydantic models (to coerce it or to say what is wrong with it)."""


class TooMany(Exception):
    """More cases than the limit (checked before any column is built)."""

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(count)


def parse_batch(body: bytes, limit: int | None = None) -> pd.DataFrame:
    """The canonical case table of a ``{"cases": [...]}`` body; :class:`NotPlain` if unsure,
    :class:`TooMany` when it holds more than ``limit`` cases.

    The table equals ``engine.cases_frame(BatchIn.model_validate_json(body).cases)``.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotPlain from None
    if type(doc) is not dict or doc.keys() != {"cases"} or type(doc["cases"]) is not list:
        raise NotPlain
    cases: list[Any] = doc["cases"]
    if limit is not None and len(cases) > limit:
        raise TooMany(len(cases))
    if cases and set(map(type, cases)) != {dict}:
        raise NotPlain
    if not all(map(ALLOWED.issuperset, cases)):
        raise NotPlain
    return cases_table(cases)


class _Missing:
    """Default for a required field: its type is in no allowed set."""


_MISSING = _Missing()


_FIELDS = tuple(sorted(ALLOWED))


def _transposed(cases: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Every allowed field as a list (``None`` when absent): one pass over the cases, the
    per-field lookups in C (``map``) rather than one Python loop per field."""
    if not cases:
        return {f: [] for f in _FIELDS}
    return dict(zip(_FIELDS, map(list, zip(*[tuple(map(c.get, _FIELDS)) for c in cases],
                                          strict=True)), strict=True))


def _with_default(cases: list[dict[str, Any]], col: list[Any], field: str, default: Any
                  ) -> list[Any]:
    """``col`` with ``default`` where the case has no ``field`` key (``None`` stays for an
    explicit null); only the ``None`` entries are looked at again."""
    holes = [k for k, v in enumerate(col) if v is None and field not in cases[k]]
    if holes:
        col = list(col)
        for k in holes:
            col[k] = default
    return col


def _column(cases: list[dict[str, Any]], field: str, types: frozenset[type],
            default: Any = None, got: dict[str, list[Any]] | None = None
            ) -> tuple[list[Any], set[type]]:
    col = got[field] if got is not None else [c.get(field) for c in cases]
    if default is not None:
        col = _with_default(cases, col, field, default)
    seen = set(map(type, col))
    if not types.issuperset(seen):
        raise NotPlain
    return col, seen


def _floats(col: list[Any], seen: set[type], bound: float) -> np.ndarray:
    """float64 column, None -> nan, every value inside ±bound."""
    if bool in seen:  # bool is an int subclass; the models decide what true means
        raise NotPlain
    if seen == {_NONE}:
        return np.full(len(col), math.nan)
    if _NONE in seen:
        col = [math.nan if v is None else v for v in col]
    arr = np.array(col, dtype=np.float64)
    if np.any(arr > bound) or np.any(arr < -bound):  # nan compares False: absent is fine
        raise NotPlain
    return arr


def _texts(col: list[Any], seen: set[type]) -> list[Any]:
    if str in seen and max(map(len, filter(None, col)), default=0) > TEXT_MAX:
        raise NotPlain
    return col


def _codes(col: list[Any], required: bool) -> list[str]:
    """Codes joined with '|' (one code per element, as the models insist)."""
    if set(map(type, col)) - {list}:
        raise NotPlain
    if required and not all(col):  # min_length=1
        raise NotPlain
    flat = list(chain.from_iterable(col))
    if flat:
        if set(map(type, flat)) != {str} or max(map(len, flat)) > CODE_MAX:
            raise NotPlain
        whole = "\x00".join(flat)
        if "|" in whole or "," in whole:
            raise NotPlain
    return ["|".join(v) for v in col]


def _dates(col: list[Any]) -> list[str | None]:
    """ISO ``YYYY-MM-DD`` strings only (what ``date.isoformat`` gives back unchanged)."""
    for v in set(col):  # a batch holds few distinct dates
        if v is not None:
            if len(v) != 10 or v[4] != "-" or v[7] != "-" or not v.isascii():
                raise NotPlain
            try:
                dt.date(int(v[:4]), int(v[5:7]), int(v[8:]))
            except ValueError:
                raise NotPlain from None
            if not (v[:4].isdigit() and v[5:7].isdigit() and v[8:].isdigit()):
                raise NotPlain
    return col


def cases_table(cases: list[dict[str, Any]]) -> pd.DataFrame:
    """The case table of plain case dicts (see :func:`parse_batch`); :class:`NotPlain` if not."""
    got = _transposed(cases)
    raw = {f: _texts(*_column(cases, f, _STR_TYPES, got=got)) for f in ID_FIELDS}
    nums = {f: _floats(*_column(cases, f, _INT_TYPES, _MISSING if f in REQUIRED else None,
                                got), INT_BOUND) for f in INT_FIELDS}
    nums.update({f: _floats(*_column(cases, f, _NUM_TYPES, got=got), NUM_BOUND)
                 for f in NUM_ONLY_FIELDS})
    # absent is an empty list; an explicit null is for the models to reject
    procedures = _codes(_with_default(cases, got["procedures"], "procedures", _EMPTY),
                        required=False)
    diagnoses = _codes(_with_default(cases, got["diagnoses"], "diagnoses", _MISSING),
                       required=True)
    dates = {f: _dates(_column(cases, f, _STR_TYPES, got=got)[0]) for f in DATE_FIELDS}
    flags = {f: _column(cases, f, _BOOL_TYPES, got=got)[0] for f in BOOL_FIELDS}

    # the same columns, dtypes and order as engine.cases_frame
    cols: dict[str, Any] = {
        "case_id": [str(k) if v is None else v for k, v in enumerate(raw["case_id"])],
    }
    for f in TEXT_FIELDS:
        cols[f] = pd.array(raw[f], dtype="str")
    for f in NUM_FIELDS:
        cols[f] = nums[f]
    cols["diagnoses"] = diagnoses
    cols["procedures"] = procedures
    for f in DATE_FIELDS:
        cols[f] = pd.array(dates[f], dtype="str")
    cols.update(flags)
    return pd.DataFrame(cols)
