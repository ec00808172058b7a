"""The catalogue as data: a folder a planner can open in a spreadsheet, edit and re-load.

Layout of a catalogue folder::

    manifest.json   format, format_version, version, created, source (build | import),
                    scheme (id / path), config (every DipConfig field), scale, all_case_mean
                    (yuan), years, year_weights, counts
    groups.csv      group_code, type (core | comprehensive), diagnosis (key at dx_level for
                    core, 3-character category for comprehensive), procedures (core: procedure
                    keys joined by '+', '' = no procedure; comprehensive: ''), treatment
                    (conservative | diagnostic | therapeutic | surgery; for a core group the
                    most frequent treatment type of its cases, informative), cases, cases_kept,
                    mean, median (yuan), cv, score, name
    aux.csv         group_code, dimension (severity | age), level (severity 0…cap; newborn,
                    child, adult, elderly), cases, cases_kept, mean (yuan), coefficient

(``.parquet`` instead of ``.csv`` when saved with ``fmt="parquet"``.) Grouping reads
``group_code, type, diagnosis, procedures, treatment, score`` and the aux coefficients; the
other columns are informative. Every problem found on load is reported with the file, the
row (1-based data row; the spreadsheet line is row + 1) and the column.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DrgsimError
from .config import TREATMENTS, DipConfig, code_prefix_len
from .severity import AUX_COLUMNS, DIMENSIONS, level_names
from .tables import FORMAT, FORMAT_VERSION, GROUP_COLUMNS, GROUP_TYPES, Catalogue

GROUP_REQUIRED = ("group_code", "type", "diagnosis", "procedures", "treatment", "score")
AUX_REQUIRED = ("group_code", "dimension", "level", "coefficient")
_NUMERIC_GROUP = ("cases", "cases_kept", "mean", "median", "cv", "score")
_NUMERIC_AUX = ("cases", "cases_kept", "mean", "coefficient")


class CatalogueError(DrgsimError):
    """A catalogue folder or table is malformed; ``problems`` lists every finding as
    ``file: row r, column 'c': what is wrong (allowed: …)``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:20]
        more = f"\n… and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the catalogue:\n" + "\n".join(shown) + more)


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
        return df.astype({c: "str" for c in df.columns if df[c].dtype == object})
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def load_catalogue(path: str | Path) -> Catalogue:
    """Load and validate a catalogue folder; raises :class:`CatalogueError` listing problems."""
    root = Path(path)
    mpath = root / "manifest.json"
    if not mpath.exists():
        raise CatalogueError([f"{mpath}: file missing (a catalogue folder holds manifest.json, groups.csv, aux.csv)"])
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CatalogueError([f"{mpath}: not valid UTF-8 JSON: {e}"]) from None
    problems = _check_manifest(manifest, str(mpath))
    if problems:
        raise CatalogueError(problems)
    files = manifest.get("files") or {}
    tables = {}
    for name in ("groups", "aux"):
        fname = files.get(name)
        cands = [root / fname] if fname else [root / f"{name}.csv", root / f"{name}.parquet"]
        found = [p for p in cands if p.exists()]
        if not found:
            if name == "aux":
                tables[name] = pd.DataFrame({c: pd.Series([], dtype="str") for c in AUX_COLUMNS})
                continue
            raise CatalogueError([f"{cands[0]}: file missing"])
        try:
            tables[name] = _read(found[0])
        except Exception as e:  # noqa: BLE001 - any reader failure is reported with its file
            raise CatalogueError([f"{found[0]}: cannot be read: {e}"]) from None
        tables[name].attrs["file"] = str(found[0])
    return validate_catalogue(Catalogue(tables["groups"], tables["aux"], manifest))


def _check_manifest(m: Any, file: str) -> list[str]:
    if not isinstance(m, dict):
        return [f"{file}: top level must be a JSON object"]
    if m.get("format") is None and "tables" in m and "kind" in m:
        return [f"{file}: this is a weights directory (kind {m.get('kind')!r}, written by `drgsim weights`), "
                "but a DIP catalogue folder was expected (manifest format 'drgsim-dip-catalogue', "
                "written by `drgsim dip build` or `dip import`); pass the weights directory to "
                "`drgsim price -w` instead"]
    out = []
    if m.get("format") != FORMAT:
        out.append(f"{file}: key 'format' is {m.get('format')!r} (allowed: {FORMAT!r})")
    if m.get("format_version") != FORMAT_VERSION:
        out.append(f"{file}: key 'format_version' is {m.get('format_version')!r} (allowed: {FORMAT_VERSION})")
    try:
        cfg = DipConfig.from_dict(m.get("config") or {})
    except (ValueError, TypeError) as e:
        out.append(f"{file}: key 'config': {e}")
        cfg = None
    if cfg is not None and m.get("scale") != cfg.scale:
        out.append(f"{file}: key 'scale' is {m.get('scale')!r} but config.scale is {cfg.scale} (they must agree)")
    return out


def _where(file: str, i: int, col: str) -> str:
    return f"{file}: row {i + 1} (line {i + 2}), column {col!r}"


def split_procedures(text: str) -> list[str]:
    """Procedure keys of a catalogue cell: '+'-joined (also accepts ',', ';', '/', '|',
    '、' and whitespace), order-free, duplicates removed, sorted."""
    return sorted({p for p in re.split(r"[+,;/|、，；\s]+", text.strip()) if p})


def validate_catalogue(cat: Catalogue) -> Catalogue:
    """Check every row of ``cat`` (types, allowed values, code levels, unique codes and
    combinations, aux references) and return a normalised copy; raises
    :class:`CatalogueError` naming file, row and column of every problem."""
    cfg = DipConfig.from_dict(cat.manifest["config"])
    g = cat.groups.copy()
    a = cat.aux.copy()
    gfile = g.attrs.get("file", "groups")
    afile = a.attrs.get("file", "aux")
    problems: list[str] = []
    for df, req, file in ((g, GROUP_REQUIRED, gfile), (a, AUX_REQUIRED, afile)):
        missing = [c for c in req if c not in df.columns]
        if missing:
            problems.append(f"{file}: header: missing column(s) {missing} (required: {list(req)})")
    if problems:
        raise CatalogueError(problems)
    for c in GROUP_COLUMNS:
        if c not in g.columns:
            g[c] = "" if c == "name" else np.nan
    for c in AUX_COLUMNS:
        if c not in a.columns:
            a[c] = np.nan
    for c in ("group_code", "type", "diagnosis", "procedures", "treatment", "name"):
        g[c] = g[c].astype("str").fillna("").str.strip()
    for c in ("group_code", "dimension", "level"):
        a[c] = a[c].astype("str").fillna("").str.strip()

    def numbers(df: pd.DataFrame, cols, file: str, required: tuple[str, ...]) -> None:
        for c in cols:
            raw = df[c]
            v = pd.to_numeric(raw, errors="coerce").astype(float)
            text = raw.astype("str").fillna("").str.strip()
            bad = v.isna() & (text != "") | (v < 0) | np.isinf(v)
            if c in required:
                bad |= v.isna()
            for i in np.flatnonzero(bad.to_numpy(dtype=bool))[:50]:
                problems.append(f"{_where(file, i, c)}: {raw.iloc[i]!r} is not allowed (allowed: a finite number >= 0{'' if c in required else ' or empty'})")
            df[c] = v

    numbers(g, _NUMERIC_GROUP, gfile, ("score",))
    numbers(a, _NUMERIC_AUX, afile, ("coefficient",))
    for i in np.flatnonzero((a["coefficient"] <= 0).to_numpy(dtype=bool))[:50]:
        problems.append(f"{_where(afile, i, 'coefficient')}: {a['coefficient'].iloc[i]!r} is not allowed (allowed: a number > 0)")

    code = g["group_code"]
    for i in np.flatnonzero((code == "").to_numpy())[:50]:
        problems.append(f"{_where(gfile, i, 'group_code')}: empty (allowed: a unique non-empty code)")
    dup = code.duplicated(keep="first") & (code != "")
    for i in np.flatnonzero(dup.to_numpy())[:50]:
        first = int(np.flatnonzero((code == code.iloc[i]).to_numpy())[0])
        problems.append(f"{_where(gfile, i, 'group_code')}: {code.iloc[i]!r} repeats row {first + 1} (allowed: unique codes)")
    typ = g["type"]
    for i in np.flatnonzero(~typ.isin(GROUP_TYPES).to_numpy())[:50]:
        problems.append(f"{_where(gfile, i, 'type')}: {typ.iloc[i]!r} (allowed: {', '.join(GROUP_TYPES)})")
    core = (typ == "core").to_numpy()
    comp = (typ == "comprehensive").to_numpy()
    tr = g["treatment"]
    bad_tr = comp & ~tr.isin(TREATMENTS).to_numpy()
    bad_tr |= core & ~tr.isin((*TREATMENTS, "")).to_numpy()
    for i in np.flatnonzero(bad_tr)[:50]:
        problems.append(f"{_where(gfile, i, 'treatment')}: {tr.iloc[i]!r} (allowed: {', '.join(TREATMENTS)}{'' if comp[i] else ' or empty'})")
    dx = g["diagnosis"]
    n_dx = code_prefix_len(cfg.dx_level, 3)
    dx_len = dx.str.len().to_numpy()
    bad_dx = (dx_len == 0) | (comp & (dx_len != 3))
    if n_dx:
        bad_dx |= core & (dx_len != n_dx)
    for i in np.flatnonzero(bad_dx)[:50]:
        want = "a 3-character category such as K80" if comp[i] else (
            f"a diagnosis key of {n_dx} characters (dx_level {cfg.dx_level}, e.g. K80.1)" if n_dx else "a diagnosis code")
        problems.append(f"{_where(gfile, i, 'diagnosis')}: {dx.iloc[i]!r} (allowed: {want})")
    for i in np.flatnonzero(comp & (g["procedures"] != "").to_numpy())[:50]:
        problems.append(f"{_where(gfile, i, 'procedures')}: {g['procedures'].iloc[i]!r} (allowed: empty for a comprehensive group)")
    # Normalise procedure cells to the canonical sorted '+'-joined form.
    procs = [split_procedures(p) for p in g["procedures"]]
    n_pr = code_prefix_len(cfg.proc_level, 2)
    if n_pr:
        for i, ps in enumerate(procs):
            wrong = [p for p in ps if len(p) != n_pr]
            if wrong:
                problems.append(f"{_where(gfile, i, 'procedures')}: {wrong} (allowed: procedure keys of {n_pr} characters at proc_level {cfg.proc_level})")
    g["procedures"] = pd.Series(["+".join(ps) for ps in procs], index=g.index, dtype="str")
    # One group per combination.
    combo = g["diagnosis"] + "\t" + g["procedures"]
    ckey = pd.Series(np.where(core, combo, "comp\t" + g["diagnosis"] + "\t" + g["treatment"]), index=g.index)
    dupc = ckey.duplicated(keep="first").to_numpy()
    for i in np.flatnonzero(dupc)[:50]:
        first = int(np.flatnonzero((ckey == ckey.iloc[i]).to_numpy())[0])
        what = "combination (diagnosis + procedures)" if core[i] else "category × treatment"
        problems.append(f"{_where(gfile, i, 'procedures' if core[i] else 'treatment')}: same {what} as row {first + 1} (allowed: one group per {what})")
    # Aux rows refer to known groups and allowed levels.
    known = set(code)
    for i in np.flatnonzero(~a["group_code"].isin(known).to_numpy())[:50]:
        problems.append(f"{_where(afile, i, 'group_code')}: {a['group_code'].iloc[i]!r} is not a group_code of groups")
    for i in np.flatnonzero(~a["dimension"].isin(DIMENSIONS).to_numpy())[:50]:
        problems.append(f"{_where(afile, i, 'dimension')}: {a['dimension'].iloc[i]!r} (allowed: {', '.join(DIMENSIONS)})")
    for dim in DIMENSIONS:
        allowed = level_names(dim, cfg)
        rows = (a["dimension"] == dim) & ~a["level"].isin(allowed)
        for i in np.flatnonzero(rows.to_numpy())[:50]:
            problems.append(f"{_where(afile, i, 'level')}: {a['level'].iloc[i]!r} (allowed for {dim}: {', '.join(allowed)})")
    dupa = a.duplicated(["group_code", "dimension", "level"], keep="first").to_numpy()
    for i in np.flatnonzero(dupa)[:50]:
        problems.append(f"{_where(afile, i, 'level')}: repeats an earlier (group_code, dimension, level) row")
    if problems:
        raise CatalogueError(problems)
    g = g.reindex(columns=list(GROUP_COLUMNS) + [c for c in g.columns if c not in GROUP_COLUMNS])
    return Catalogue(groups=g.reset_index(drop=True), aux=a.reindex(columns=list(AUX_COLUMNS)).reset_index(drop=True), manifest=cat.manifest)


#: Header aliases of published regional catalogues → our column names.
IMPORT_ALIASES: dict[str, tuple[str, ...]] = {
    "group_code": ("group_code", "病种编码", "病种代码", "编码", "分组编码", "code"),
    "diagnosis": ("diagnosis", "主要诊断编码", "诊断编码", "主诊断编码", "疾病编码", "dx"),
    "procedures": ("procedures", "手术操作编码", "操作编码", "治疗方式编码", "手术编码", "procedure"),
    "score": ("score", "分值", "病种分值", "基准分值"),
    "name": ("name", "病种名称", "名称"),
    "type": ("type", "病种类型", "类型"),
}
#: Cell text of a published catalogue that denotes a comprehensive group's treatment type.
TREATMENT_ALIASES: dict[str, str] = {
    "conservative": "conservative", "保守治疗": "conservative", "保守": "conservative",
    "diagnostic": "diagnostic", "诊断性操作": "diagnostic", "诊断性": "diagnostic",
    "therapeutic": "therapeutic", "治疗性操作": "therapeutic", "治疗性": "therapeutic",
    "surgery": "surgery", "手术": "surgery", "相关手术": "surgery", "手术治疗": "surgery",
}
_TYPE_ALIASES = {"core": "core", "核心": "core", "核心病种": "core",
                 "comprehensive": "comprehensive", "综合": "comprehensive", "综合病种": "comprehensive"}


def import_catalogue(
    table: pd.DataFrame | str | Path,
    config: DipConfig | None = None,
    *,
    version: str = "imported",
    source: str = "",
) -> Catalogue:
    """A catalogue from a region's published list (group code, diagnosis, procedures, score;
    Chinese headers accepted, see :data:`IMPORT_ALIASES`).

    A row is comprehensive when its type says so or its procedures cell is a treatment word
    (保守治疗, 诊断性操作, 治疗性操作, 相关手术 …; see :data:`TREATMENT_ALIASES`) — then the
    diagnosis must be a 3-character category. The auxiliary catalogue is empty (coefficient
    1.0). ``config`` must describe how the published codes are keyed (dx_level, proc_level,
    scale); scores are taken as published.
    """
    config = config or DipConfig()
    if isinstance(table, pd.DataFrame):
        raw, file = table.copy(), "table"
    else:
        p = Path(table)
        file = str(p)
        if p.suffix.lower() in (".xlsx", ".xls"):
            raw = pd.read_excel(p, dtype=str).fillna("")
        else:
            raw = _read(p)
    raw.columns = [str(c).strip() for c in raw.columns]
    cols: dict[str, str] = {}
    for ours, names in IMPORT_ALIASES.items():
        for n in names:
            if n in raw.columns:
                cols[ours] = n
                break
    missing = [c for c in ("diagnosis", "score") if c not in cols]
    if missing:
        raise CatalogueError([f"{file}: header: no column for {m} (accepted headers: {list(IMPORT_ALIASES[m])})" for m in missing])
    n = len(raw)

    def col(name: str) -> pd.Series:
        return raw[cols[name]].astype("str").fillna("").str.strip() if name in cols else pd.Series([""] * n, dtype="str")

    procs = col("procedures")
    typ = col("type").map(lambda t: _TYPE_ALIASES.get(t, t))
    treat_word = procs.map(lambda t: TREATMENT_ALIASES.get(t, ""))
    comp = (typ == "comprehensive") | ((typ == "") & (treat_word != ""))
    typ = pd.Series(np.where(comp, "comprehensive", np.where(typ == "", "core", typ)), dtype="str")
    dx = col("diagnosis")
    proc_cells = pd.Series(np.where(comp, "", procs), dtype="str")
    treatment = pd.Series(np.where(comp, treat_word, ""), dtype="str")
    code = col("group_code")
    auto = np.where(comp, dx + "/" + treatment, dx + "/" + proc_cells.map(lambda s: "+".join(split_procedures(s)) or "none"))
    code = pd.Series(np.where(code == "", auto, code), dtype="str")
    groups = pd.DataFrame({
        "group_code": code, "type": typ, "diagnosis": dx, "procedures": proc_cells,
        "treatment": treatment, "cases": np.nan, "cases_kept": np.nan, "mean": np.nan,
        "median": np.nan, "cv": np.nan, "score": col("score"), "name": col("name"),
    })
    groups.attrs["file"] = file
    aux = pd.DataFrame({c: pd.Series([], dtype="str") for c in AUX_COLUMNS})
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "version": version,
        "source": "import", "imported_from": source or file, "scheme": {},
        "config": config.to_dict(), "scale": config.scale, "all_case_mean": None,
        "years": [], "year_weights": {}, "counts": {"groups": n},
    }
    return validate_catalogue(Catalogue(groups, aux, manifest))
