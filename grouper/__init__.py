"""drgsim grouper: cases -> MDC / ADRG / DRG (and DIP groups in :mod:`grouper.dip`).

Public API::

    scheme = load_scheme("path/to/scheme")        # validated, compiled once, cached on disk
    cases = read_cases("cases.csv")               # csv / parquet / xlsx, Chinese headers too
    result = group(cases, scheme)                 # one row per case, input order
    print(explain(cases.iloc[0], scheme))         # why a case landed where it did
"""

from pathlib import Path

from .engine import GROUP_COLUMNS, STATUSES, group
from .errors import CaseFileError, DrgsimError, SchemeError
from .scheme import Scheme, load_scheme


def demo_scheme_path() -> Path:
    """Folder of the bundled demo scheme."""
    return Path(__file__).parent / "data" / "demo"


def __getattr__(name: str):
    # read_cases and explain import pandas/openpyxl paths only when used
    if name == "read_cases":
        from .cases import read_cases

        return read_cases
    if name == "explain":
        from .explain import explain

        return explain
    raise AttributeError(name)


__all__ = [
    "GROUP_COLUMNS", "STATUSES", "CaseFileError", "DrgsimError", "Scheme", "SchemeError",
    "demo_scheme_path", "explain", "group", "load_scheme", "read_cases",
]
