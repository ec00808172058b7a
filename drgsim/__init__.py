"""drgsim application layer: the ``drgsim`` command line and the preview service.

The engines live in the top-level packages :mod:`grouper` (cases -> groups) and
:mod:`payment` (groups -> weights, prices, settlement); this package only wires them to users.
"""

__version__ = "0.1.0"
