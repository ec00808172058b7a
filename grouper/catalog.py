"""Schemes by name: find a scheme folder from a short name such as ``zhejiang-2022``.

A name is looked up, in order, in every folder of ``$DRGSIM_SCHEMES`` (``os.pathsep``-separated),
then ``../shared/schemes`` next to the source tree and next to the working directory, then the
bundled demo scheme (name ``demo``). A scheme is a sub-folder holding a ``scheme.json``; the
first folder that has a name wins. An existing path is always taken as a path.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import SchemeError

#: environment variable naming the schemes directories (several joined by ``os.pathsep``)
SCHEMES_ENV = "DRGSIM_SCHEMES"
#: the name of the bundled demo scheme
DEMO_NAME = "demo"


@dataclass(frozen=True)
class SchemeInfo:
    """One scheme found by :func:`available_schemes`, read from its ``scheme.json`` only.

    Counts are the ``scheme`` block's ``n_mdc`` / ``n_adrg`` / ``n_drg`` (``None`` when absent);
    ``source`` is ``source.project`` plus the last part of ``source.folder`` when given.
    """

    name: str
    path: Path
    scheme_id: str
    title: str
    version: str
    n_mdc: int | None
    n_adrg: int | None
    n_drg: int | None
    source: str


def _demo_path() -> Path:
    return Path(__file__).parent / "data" / "demo"


def schemes_dirs() -> list[Path]:
    """The schemes directories searched, in order (existing folders only, no duplicates)."""
    cands: list[Path] = []
    env = os.environ.get(SCHEMES_ENV, "")
    cands += [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    repo = Path(__file__).resolve().parent.parent
    cands += [repo.parent / "shared" / "schemes", Path.cwd().parent / "shared" / "schemes"]
    out: list[Path] = []
    seen: set[Path] = set()
    for c in cands:
        try:
            r = c.resolve()
        except OSError:
            continue
        if r.is_dir() and r not in seen:
            seen.add(r)
            out.append(r)
    return out


def _named_folders() -> dict[str, Path]:
    """Scheme name -> folder, first directory wins; the demo scheme last as ``demo``."""
    found: dict[str, Path] = {}
    for d in schemes_dirs():
        try:
            subs = sorted(d.iterdir())
        except OSError:
            continue
        for sub in subs:
            if sub.is_dir() and (sub / "scheme.json").is_file():
                found.setdefault(sub.name, sub)
    found.setdefault(DEMO_NAME, _demo_path())
    return found


def resolve_scheme(name_or_path: str | Path) -> Path:
    """The scheme folder for a name (``zhejiang-2022``, ``demo``) or an existing path.

    An existing file or folder is returned as given; otherwise the name is looked up in
    :func:`schemes_dirs` and then the bundled demo. Raises :class:`SchemeError` listing the
    names available when nothing matches.
    """
    p = Path(name_or_path).expanduser()
    if p.exists():
        return p
    name = str(name_or_path).strip()
    folders = _named_folders()
    if name in folders:
        return folders[name]
    dirs = ", ".join(str(d) for d in schemes_dirs()) or f"none (set ${SCHEMES_ENV})"
    raise SchemeError(str(name_or_path), "scheme",
                      f"does not exist as a path, and no scheme has that name; available: "
                      f"{', '.join(sorted(folders))} (searched: {dirs}; see `drgsim schemes`)")


def _int_or_none(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def scheme_info(name: str, folder: Path) -> SchemeInfo:
    """Read the catalogue facts of one scheme folder from its ``scheme.json``.

    Raises :class:`SchemeError` when the file cannot be read as a JSON object.
    """
    f = folder / "scheme.json"
    try:
        meta = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SchemeError(str(f), "file", f"cannot be read as UTF-8 JSON: {e}") from None
    if not isinstance(meta, dict):
        raise SchemeError(str(f), "top level", "must be a JSON object")
    s = meta.get("scheme") if isinstance(meta.get("scheme"), dict) else {}
    src = meta.get("source") if isinstance(meta.get("source"), dict) else {}
    # the project and the last part of its folder ("OpenDRG/DRG_Python foshan_2022")
    parts = [str(src["project"])] if src.get("project") else []
    if src.get("folder"):
        parts.append(Path(str(src["folder"])).name)
    source = " ".join(parts)
    return SchemeInfo(
        name=name, path=folder, scheme_id=str(s.get("id", name)), title=str(s.get("name", "")),
        version=str(s.get("version", "")), n_mdc=_int_or_none(s.get("n_mdc")),
        n_adrg=_int_or_none(s.get("n_adrg")), n_drg=_int_or_none(s.get("n_drg")), source=source,
    )


def available_schemes() -> list[SchemeInfo]:
    """Every scheme reachable by name, sorted by name (the demo scheme included).

    A folder whose ``scheme.json`` cannot be read is listed with empty facts rather than
    hiding the others.
    """
    out = []
    for name, folder in sorted(_named_folders().items()):
        try:
            out.append(scheme_info(name, folder))
        except SchemeError:
            out.append(SchemeInfo(name, folder, name, "(unreadable scheme.json)", "", None, None,
                                  None, ""))
    return out
