"""Decimal helpers of the reference: yuan to the cent, half-up, read as the decimal written."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import TypeVar

CENT = Decimal("0.01")

#: the reference's own arithmetic: 60 digits whatever the caller's context says. (Its products
#: of three 17-digit decimals, e.g. points × review coefficient × yuan per point, used to be
#: rounded to the thread's precision, 28 digits by default and 40 in a pytest run that had
#: imported tests/test_dip_docs.py, which sets ``getcontext().prec = 40`` for the process.)
CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN,
                  traps=[InvalidOperation, DivisionByZero, Overflow])

F = TypeVar("F", bound=Callable)


def exact(fn: F) -> F:
    """Run ``fn`` in :data:`CONTEXT` (a copy), so no caller's decimal context reaches it."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with localcontext(CONTEXT):
            return fn(*args, **kwargs)

    return run  # type: ignore[return-value]


def dec(x: object) -> Decimal:
    """A number as the decimal it prints as (0.1 → Decimal('0.1')); Decimals pass through."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, bool):
        return Decimal(int(x))
    if isinstance(x, int):
        return Decimal(x)
    f = float(x)  # type: ignore[arg-type]
    if not math.isfinite(f):
        raise ValueError(f"not a finite amount: {x!r}")
    return Decimal(repr(f))


#: money is first read to 1e-6 cent (1e-8 yuan): a product of floats such as 118.7399… × 82.301…
#: = 9772.4349999999955 stands for the half 9772.435 that exact arithmetic on the decimals
#: meant (the library documents the same reading); then rounded half-up to the cent
NOISE = Decimal("1e-8")


@exact
def cents(x: object) -> Decimal:
    """Round half-up (away from zero on an exact half) to 0.01 yuan, after reading the amount
    to 1e-8 yuan (:data:`NOISE`)."""
    with localcontext() as ctx:
        ctx.prec = 60
        return dec(x).quantize(NOISE, ROUND_HALF_UP).quantize(CENT, ROUND_HALF_UP)


@exact
def half_up(x: object, decimals: int) -> Decimal:
    """Round half-up to ``decimals`` decimals."""
    with localcontext() as ctx:
        ctx.prec = 60
        return dec(x).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


def floor_int(x: Decimal) -> int:
    return int(x.to_integral_value(ROUND_FLOOR))


def ceil_int(x: Decimal) -> int:
    return int(x.to_integral_value(ROUND_CEILING))


def half_up_int(x: Decimal) -> int:
    return int(x.to_integral_value(ROUND_HALF_UP))


@exact
def largest_remainder(exact: list[Decimal], total: Decimal, keys: list[str]) -> list[Decimal]:
    """Split ``total`` (whole cents) over ``exact`` amounts: floors in cents, then one cent each
    to the largest fractional parts (ties: key order) until the parts add up to ``total``."""
    fl = [floor_int(e * 100) for e in exact]
    left = int(total * 100) - sum(fl)
    frac = [(e * 100 - f, i) for i, (e, f) in enumerate(zip(exact, fl, strict=True))]
    order = sorted(range(len(exact)), key=lambda i: (-frac[i][0], keys[i]))
    out = list(fl)
    for i in order[:max(left, 0)]:
        out[i] += 1
    return [Decimal(v) / 100 for v in out]
