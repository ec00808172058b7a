"""drgsim grouper: cases -> MDC / ADRG / DRG (and DIP groups in :mod:`grouper.dip`).

Public API::

    scheme = load_scheme("path/to/scheme")        # validated, compiled once, cached on disk
    cases = read_cases("cases.csv")               # csv / parquet / xlsx, Chinese headers too
    result = group(cases, scheme)                 # one row per case, input order
    print(explain(cases.iloc[0], scheme))         # why a case landed where it did
"""

from pathlib import Path

from .cases import has_chinese_headers, read_cases, read_table
from .catalog import SchemeInfo, available_schemes, resolve_scheme
from .engine import GROUP_COLUMNS, STATUSES, group
from .errors import CaseFileError, CaseValueWarning, DrgsimError, SchemeError
from .explain import explain  # noqa: E402  (the function shadows its module on purpose)
from .scheme import Scheme, load_scheme


def demo_scheme_path() -> Path:
    """Folder of the bundled demo scheme."""
    return Path(__file__).parent / "data" / "demo"


__all__ = [
    "GROUP_COLUMNS", "STATUSES", "CaseFileError", "CaseValueWarning", "DrgsimError", "Scheme", "SchemeError",
    "SchemeInfo", "available_schemes", "demo_scheme_path", "explain", "group", "load_scheme",
    "has_chinese_headers", "read_cases", "read_table", "resolve_scheme",
]
