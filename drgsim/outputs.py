"""Atomic outputs: every file or folder drgsim writes appears complete or not at all.

An output is written under a temporary name beside its target (same file system, so the final
``os.replace`` is atomic) and renamed only when complete. On an error, Ctrl-C or SIGTERM the
temporary is removed and a previous output at the target survives untouched. A temporary left by
a killed process (SIGKILL cannot be caught) is recognised by its name and removed at the next
start once its process is gone.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pandas as pd

TMP_TAG = ".drgsim-tmp-"


class OutputError(ValueError):
    """An output path drgsim cannot or will not write (bad extension, a foreign folder)."""

_TMP_RE = re.compile(r"^\.(?P<name>.+)\.drgsim-tmp-(?P<pid>\d+)$")

#: file kinds every command writes, by extension
TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_path(p: Path) -> None:
    with suppress(OSError):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def clean_stale(target: Path) -> int:
    """Remove temporaries of ``target`` left by processes that no longer run; how many."""
    n = 0
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        return 0
    for p in parent.glob(f".{target.name}{TMP_TAG}*"):
        m = _TMP_RE.match(p.name)
        if m and not _alive(int(m["pid"])):
            remove_path(p)
            n += 1
    return n


def scratch_prefix(kind: str) -> str:
    """Prefix of this process's scratch folders of ``kind`` (for ``tempfile.TemporaryDirectory``)."""
    return f".drgsim-{kind}-{os.getpid()}-"


def sweep_scratch(folder: Path, kind: str) -> int:
    """Remove scratch folders of ``kind`` in ``folder`` left by processes that no longer run."""
    n = 0
    for p in folder.glob(f".drgsim-{kind}-*-*"):
        pid = p.name[len(f".drgsim-{kind}-"):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            remove_path(p)
            n += 1
    return n


def make_parent(target: Path) -> None:
    """Create the folder ``target`` goes in; :class:`OutputError` naming the path when it cannot
    be (a part of it is a file, or no permission)."""
    parent = target.parent if str(target.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        file = next((p for p in (parent, *parent.parents) if p.exists() and not p.is_dir()), parent)
        raise OutputError(f"{target}: cannot be written: {file} is a file, not a folder") from None
    except OSError as e:
        raise OutputError(f"{target}: cannot be written: cannot create the folder {parent} "
                          f"({e.strerror or e})") from None


def temporary_for(target: Path) -> Path:
    """The temporary name of ``target`` for this process (hidden, beside it)."""
    return target.with_name(f".{target.name}{TMP_TAG}{os.getpid()}")


def commit(tmp: Path, target: Path) -> None:
    """Move a complete temporary into place, replacing a previous file or folder."""
    if tmp.is_dir() and target.exists():
        if not target.is_dir():
            raise OutputError(f"{target}: exists and is not a folder")
        foreign = sorted(p.name for p in target.iterdir() if not (tmp / p.name).exists())
        if foreign:
            # never delete what drgsim did not write: a folder is replaced only by its own kind
            raise OutputError(f"{target}: folder holds files this output would not rewrite "
                          f"({', '.join(foreign[:3])}{' …' if len(foreign) > 3 else ''}); "
                          "choose a new or empty folder")
        # a folder cannot be replaced in one rename: move the old one aside first, then drop it
        old = target.with_name(f".{target.name}.drgsim-old-{os.getpid()}")
        remove_path(old)
        os.replace(target, old)
        try:
            os.replace(tmp, target)
        except OSError:
            os.replace(old, target)
            raise
        remove_path(old)
    else:
        os.replace(tmp, target)


@contextmanager
def staged(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``target`` to; rename it into place on success only."""
    target = Path(target)
    make_parent(target)
    clean_stale(target)
    tmp = temporary_for(target)
    remove_path(tmp)
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"{target}: nothing was written")
        commit(tmp, target)
    finally:
        remove_path(tmp)


def check_table_suffix(path: str | Path, *, folder: bool = False) -> None:
    """Refuse an output name whose extension is not a table format drgsim writes.

    ``folder``: a name without an extension is a folder of Parquet parts (streamed outputs).
    """
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES and not (folder and suffix == ""):
        allowed = ", ".join(TABLE_SUFFIXES) + (", or a folder name without extension" if folder else "")
        raise OutputError(f"{path}: unknown output type {suffix or '(none)'!r}; allowed: {allowed}")


def write_table(df: pd.DataFrame, out: str | Path) -> None:
    """Write a table as .csv (UTF-8), .xlsx or .parquet by extension, atomically."""
    out = Path(out)
    check_table_suffix(out)
    suffix = out.suffix.lower()
    with staged(out) as tmp:
        if suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        elif suffix == ".xlsx":
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                df.to_excel(xw, index=False)
        else:
            df.to_csv(tmp, index=False, encoding="utf-8")


def _raise_interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt(f"signal {signum}")


def handle_termination() -> None:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt so temporaries are removed on the way out."""
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            with suppress(ValueError, OSError):  # not the main thread: leave the default
                signal.signal(sig, _raise_interrupt)
