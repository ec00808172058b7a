"""Policy errors: :class:`PolicyError` naming the file, the dotted key and the allowed values,
and :func:`validation_error`, which turns a pydantic ``ValidationError`` into one.

Shared by every policy-like loader (payment policy, benefits, cash flow, scenarios);
:mod:`payment.policy` re-exports the three names.
"""

from __future__ import annotations

import datetime as _dt
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


class PolicyError(ValueError):
    """A policy file (or override) that cannot be used; the message names file, key, allowed."""

    def __init__(self, file: str, key: str, message: str, allowed: str | None = None) -> None:
        self.file, self.key, self.reason, self.allowed = file, key, message, allowed
        text = f"{file}: {key}: {message}" if key else f"{file}: {message}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)


class KeyedValueError(ValueError):
    """Raised by cross-field validators to point at a sub-key and say what is allowed."""

    def __init__(self, key: str, message: str, allowed: str | None = None) -> None:
        self.key, self.message, self.allowed = key, message, allowed
        super().__init__(f"{key}: {message}")


def _bounds(metadata: list[Any]) -> list[str]:
    out = []
    for m in metadata:
        for attr in getattr(m, "metadata", [m]):
            for name, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
                val = getattr(attr, name, None)
                if val is not None:
                    out.append(f"{sym} {val:g}" if isinstance(val, float) else f"{sym} {val}")
    return out


def _describe(annotation: Any, metadata: list[Any] | None = None) -> str:
    """Human description of what a field accepts, from its annotation and constraints."""
    bounds = _bounds(metadata or [])
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        text = ", ".join(repr(a) for a in args)
    elif origin is Annotated:
        base, *meta = args
        text = _describe(base, meta)
    elif origin in (typing.Union, types.UnionType):
        parts = [_describe(a) for a in args if a is not type(None)]
        text = " or ".join(parts)
        if type(None) in args:
            text += " (or omit)"
    elif origin in (list, tuple):
        text = f"a list of {_describe(args[0])}" if args else "a list"
    elif origin is dict:
        text = f"a table of {_describe(args[1])}" if args else "a table"
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        text = f"a table with keys {', '.join(annotation.model_fields)}"
    else:
        names = {float: "a number", int: "an integer", str: "a string", bool: "true or false",
                 _dt.date: "a date (YYYY-MM-DD)"}
        text = names.get(annotation, getattr(annotation, "__name__", str(annotation)))
    return f"{text} {' and '.join(bounds)}" if bounds else text


def _field_at(loc: tuple[Any, ...], root: type[BaseModel]
              ) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """Walk ``loc`` through the models: (model owning the last key, that key's FieldInfo)."""
    model: Any = root
    info: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            continue  # list index: ``model`` already is the item model
        if model is None or part not in model.model_fields:
            return model, None
        info = model.model_fields[part]
        ann = info.annotation
        candidates = [ann, *typing.get_args(ann)]
        if typing.get_origin(ann) is list:
            candidates = list(typing.get_args(ann))
        for c in list(candidates):  # e.g. list[Model] | None
            candidates.extend(typing.get_args(c))
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    return model, info


def _allowed(loc: tuple[Any, ...], root: type[BaseModel]) -> str | None:
    _, info = _field_at(loc, root)
    if info is None:
        return None
    ann = info.annotation
    if loc and isinstance(loc[-1], int) and typing.get_origin(ann) in (list, tuple):
        return _describe(typing.get_args(ann)[0])  # one item of a list is wrong: say what an item is
    return _describe(ann, info.metadata)


def validation_error(exc: ValidationError, file: str,
                     root: type[BaseModel]) -> PolicyError:
    """One :class:`PolicyError` naming file, key, problem and allowed values for ``exc``.

    ``root`` is the model that was validated (:func:`payment.policy.validation_error`
    passes the payment policy when none is given).
    """
    lines: list[str] = []
    first: PolicyError | None = None
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc)
        allowed: str | None = None
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, KeyedValueError):
            key = ".".join(p for p in (key, cause.key) if p)
            message, allowed = cause.message, cause.allowed
        elif err["type"] == "extra_forbidden":
            owner, _ = _field_at(loc[:-1], root)
            message = "unknown key"
            if owner is not None and isinstance(owner, type):
                allowed = ", ".join(owner.model_fields)
        elif err["type"] == "missing":
            message = "required key is missing"
            allowed = _allowed(loc, root)
        else:
            message = err["msg"].removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], dict | list):
                message += f" (got {err['input']!r})"
            if "allowed:" in message:
                message, allowed = (s.strip(" ;") for s in message.split("allowed:", 1))
            else:
                allowed = _allowed(loc, root)
        pe = PolicyError(file, key, message, allowed)
        first = first or pe
        lines.append(str(pe))
    assert first is not None
    if len(lines) > 1:
        return PolicyError(file, first.key, "; ".join(lines[i].split(": ", 1)[1]
                                                       for i in range(len(lines))))
    return first
