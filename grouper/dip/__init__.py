"""DIP (按病种分值付费): build a disease-score catalogue from history and group cases into it.

>>> cat = build_catalogue(history, DipConfig(core_threshold=15), scheme)   # doctest: +SKIP
>>> cat.save("catalogue/")                                                 # doctest: +SKIP
>>> out = group(cases, load_catalogue("catalogue/"), scheme)               # doctest: +SKIP
"""

from .catalogue import Catalogue, build_catalogue
from .config import AGE_BANDS, TREATMENTS, DipConfig
from .group import OUTPUT_COLUMNS, compile_catalogue, group
from .io import CatalogueError, import_catalogue, load_catalogue, validate_catalogue
from .tables import save_catalogue

__all__ = [
    "AGE_BANDS", "OUTPUT_COLUMNS", "TREATMENTS", "Catalogue", "CatalogueError", "DipConfig",
    "build_catalogue", "compile_catalogue", "group", "import_catalogue", "load_catalogue",
    "save_catalogue", "validate_catalogue",
]
