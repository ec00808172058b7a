"""Σ points for a budget point value (§4, §13), exact over a whole table or over its parts.

``point_value.source = "budget"`` divides the budget by the points of all cases, so the sum must
not depend on how the cases were cut: :func:`total_points` is ``math.fsum`` (correctly rounded)
of the finite points; :class:`PointsSum` keeps a few exact partial sums per part
(:func:`exact_partials`) and gives the same float for any chunking and order.
"""

from __future__ import annotations

import math

import numpy as np


def total_points(points: np.ndarray) -> float:
    """Σ points for a budget point value: ``math.fsum`` of the finite values (correctly
    rounded, so independent of order and chunking); with any nan or ±inf, their IEEE sum."""
    x = np.asarray(points, dtype=np.float64).reshape(-1)
    fin = np.isfinite(x)
    if not fin.all():
        return float(x[~fin].sum())
    return math.fsum(x.tolist())


def exact_partials(points: np.ndarray) -> list[float]:
    """A few floats whose exact sum is the exact sum of the finite ``points``.

    ``math.fsum`` of the partials of several chunks is then :func:`total_points` of all of
    them, whatever the chunking (each step peels off the correctly rounded remainder, about 53
    bits at a time, until nothing is left).
    """
    x = np.asarray(points, dtype=np.float64).reshape(-1)
    vals = x[np.isfinite(x)].tolist()
    terms: list[float] = []
    while True:
        s = math.fsum(vals + [-t for t in terms])
        if s == 0.0:
            return terms
        terms.append(s)


class PointsSum:
    """:func:`total_points` of cases seen in parts: :meth:`add` each part's points (or
    :meth:`merge` partials computed elsewhere), then :meth:`total` once."""

    def __init__(self) -> None:
        self.partials: list[float] = []
        self.nonfinite: list[float] = []

    def add(self, points: np.ndarray) -> None:
        """Add the points of one part (any float array)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1)
        fin = np.isfinite(pts)
        self.merge(exact_partials(pts[fin]), [float(pts[~fin].sum())] if not fin.all() else [])

    def merge(self, partials: list[float], nonfinite: list[float]) -> None:
        """Add the :attr:`partials` and :attr:`nonfinite` sums of another :class:`PointsSum`."""
        self.partials.extend(partials)
        self.nonfinite.extend(nonfinite)
        if len(self.partials) > 4096:  # keep the list short: the same exact sum in fewer floats
            self.partials = exact_partials(np.asarray(self.partials))

    def total(self) -> float:
        """Σ points of everything added: equal to :func:`total_points` of all of it."""
        return float(sum(self.nonfinite)) if self.nonfinite else math.fsum(self.partials)


__all__ = ["PointsSum", "exact_partials", "total_points"]
