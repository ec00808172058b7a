"""Rules and records that both ``grouper`` and ``payment`` use, with no money and no groups.

The layers are grouper → payment → drgsim: payment never imports grouper, and grouper imports
no payment module. Two pieces are nonetheless the same on both sides, so they live here, below
both layers, importing nothing from grouper, payment or drgsim:

- :mod:`drgsim_common.columns`: the ``Column`` record of a declared table column (grouper's
  case and grouped tables, payment's priced table) and the kind → dtype table;
- :mod:`drgsim_common.trim`: the §13 trimming rule (iqr / sd / percentile / none bounds per set,
  inclusive, small sets untrimmed) over grouped statistics each package computes with its own
  kernels (DRG weights in payment.weights, DIP scores in grouper.dip.stats).
"""
