"""The DIP catalogue (:class:`Catalogue`) and building it from history (:func:`build_catalogue`).

A combination is (principal diagnosis key at ``dx_level``) × (set of counted procedure keys at
``proc_level``: order-free, duplicates removed). Combinations with at least ``core_threshold``
cases are core groups; every other case is pooled into the comprehensive group of its
3-character diagnosis category × treatment type. Scores, medians, CVs and the auxiliary
catalogue are grouped reductions over integer labels (:mod:`grouper.dip.stats`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import TREATMENTS, DipConfig
from .encode import SUCCESS, _num, build_vocab, check_columns, encode_cases
from .severity import AUX_COLUMNS, estimate_aux
from .stats import grouped_mean_sd, grouped_quantile, trim_keep, weighted_mean
from .tables import FORMAT, FORMAT_VERSION, Catalogue

Progress = Callable[[str, float], None]


def resolve_scheme(scheme: Any) -> Any:
    """``scheme`` itself, or the bundled demo scheme when it is ``None``."""
    if scheme is not None:
        return scheme
    try:
        from .. import demo_scheme_path  # type: ignore[attr-defined]
    except ImportError:
        raise ValueError(
            "no scheme given and the bundled demo scheme is not available; pass scheme= "
            "(a scheme folder or a loaded grouper.Scheme)"
        ) from None
    return demo_scheme_path()


def scheme_identity(scheme: Any) -> dict[str, Any]:
    """What the manifest records about the scheme (id, name, path) for re-loading later."""
    if isinstance(scheme, (str, Path)):
        return {"path": str(Path(scheme).resolve())}
    out: dict[str, Any] = {}
    for attr in ("id", "name", "content_hash"):
        v = getattr(scheme, attr, None)
        if isinstance(v, str):
            out[attr] = v
    p = getattr(scheme, "path", None)
    if p is not None:
        out["path"] = str(p)
    return out


def as_frame(cases: Any) -> pd.DataFrame:
    """A case table: a DataFrame as is, or a file read with ``grouper.read_cases``."""
    if isinstance(cases, pd.DataFrame):
        return cases
    try:
        from ..cases import read_cases  # type: ignore[import-not-found]
    except ImportError:
        p = Path(cases)
        if p.suffix.lower() == ".parquet":
            return pd.read_parquet(p)
        return pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
    return read_cases(cases)


def _year_index(df: pd.DataFrame, used: np.ndarray, config: DipConfig):
    """(year index per case, weights array, years list, in-window mask)."""
    n = len(df)
    if config.year_weights and "year" in df.columns:
        year = _num(df, "year")
        ok = used & np.isfinite(year)
        if ok.any():
            k = len(config.year_weights)
            last = int(np.max(year[ok]))
            first = last - k + 1
            yidx = np.where(np.isfinite(year), year - first, -1).astype(np.int64)
            window = np.isfinite(year) & (yidx >= 0) & (yidx < k)
            return np.where(window, yidx, 0), np.asarray(config.year_weights, float), list(range(first, last + 1)), window
    return np.zeros(n, np.int64), np.ones(1), [], np.ones(n, bool)


def build_catalogue(
    history: pd.DataFrame | str | Path,
    config: DipConfig | None = None,
    scheme: Any = None,
    *,
    version: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> Catalogue:
    """Build a catalogue from historical cases (canonical columns; ``total_cost`` in yuan,
    optional ``year``). Cases that fail validation (the DRG grouper's, ``strict`` as there),
    have no positive cost, or fall outside the year window are left out (counted in the
    manifest)."""
    config = config or DipConfig()
    scheme = resolve_scheme(scheme)
    tick = progress or (lambda stage, frac: None)
    df = as_frame(history)
    check_columns(df, ("total_cost",))
    n = len(df)

    tick("encode", 0.0)
    vocab = build_vocab(scheme, config)
    dx_key_ids, dx_key_names = pd.factorize(vocab.dx_keys, sort=True)
    cat_ids, cat_names = pd.factorize(vocab.dx_cats, sort=True)
    pr_key_ids, pr_key_names = pd.factorize(vocab.pr_keys, sort=True)
    f = encode_cases(df, vocab, config, dx_key_ids, cat_ids, pr_key_ids, strict=strict)
    cost = _num(df, "total_cost")
    valid = f.status == SUCCESS
    has_cost = np.isfinite(cost) & (cost > 0)
    yidx, weights, years, window = _year_index(df, valid & has_cost, config)
    used = valid & has_cost & window
    tick("combinations", 0.3)

    # Combinations: factorize the 64-bit combination hash of the used cases.
    idx = np.flatnonzero(used)
    combo, _ = pd.factorize(f.key[idx])
    n_combo = int(combo.max()) + 1 if len(combo) else 0
    count = np.bincount(combo, minlength=n_combo)
    first = np.empty(n_combo, np.int64)
    first[combo[::-1]] = np.arange(len(combo) - 1, -1, -1)
    if np.any(f.key2[idx] != f.key2[idx][first][combo]):
        raise RuntimeError("64-bit combination hash collision; please report this history")
    core_combo = np.flatnonzero(count >= config.core_threshold)

    # Core groups: their diagnosis key and procedure keys, read from one representative case.
    from ._kernels import case_sets

    rep = idx[first[core_combo]]
    soff, sids = case_sets(rep, f.pr.off, f.pr.tok, f.pr.empty, pr_key_ids.astype(np.int64), vocab.pr_counted)
    pr_names = np.asarray(pr_key_names, dtype=object)[sids]
    core_dx = np.asarray(dx_key_names, dtype=object)[f.dxkey[rep]]
    core_pr = np.array(["+".join(pr_names[soff[i]:soff[i + 1]]) for i in range(len(rep))], dtype=object)

    # Comprehensive groups: category × treatment of the cases in non-core combinations.
    is_core = np.zeros(n_combo, bool)
    is_core[core_combo] = True
    core_rank = np.full(n_combo, -1, np.int64)
    core_rank[core_combo] = np.arange(len(core_combo))
    case_core = is_core[combo]
    comp_key = f.cat[idx].astype(np.int64) * 4 + f.ttype[idx]
    comp_codes, comp_uniq = pd.factorize(comp_key[~case_core])
    comp_uniq = np.asarray(comp_uniq, np.int64)
    comp_dx = np.asarray(cat_names, dtype=object)[comp_uniq // 4]

    # One table of groups, sorted for review: by diagnosis, core before comprehensive.
    n_core, n_comp = len(core_combo), len(comp_uniq)
    table = pd.DataFrame({
        "diagnosis": np.concatenate([core_dx, comp_dx]),
        "type": ["core"] * n_core + ["comprehensive"] * n_comp,
        "procedures": np.concatenate([core_pr, np.full(n_comp, "", dtype=object)]),
        "_trank": np.concatenate([np.zeros(n_core, np.int64), comp_uniq % 4]),
    })
    order = table.sort_values(["diagnosis", "type", "procedures", "_trank"], ascending=[True, False, True, True], kind="stable").index.to_numpy()
    new_id = np.empty(len(order), np.int64)
    new_id[order] = np.arange(len(order))
    table = table.iloc[order].reset_index(drop=True)
    n_groups = len(table)

    g_used = np.empty(len(idx), np.int64)
    g_used[case_core] = new_id[core_rank[combo[case_core]]]
    g_used[~case_core] = new_id[n_core + comp_codes]
    g = np.full(n, -1, np.int64)
    g[idx] = g_used
    tick("trim", 0.5)

    ny = len(weights)
    cell = np.where(used, g * ny + yidx, -1)
    keep = trim_keep(cell, cost, n_groups * ny, config.trim, config.trim_k, config.trim_lower, config.trim_upper, config.trim_min_cases)
    tick("scores", 0.7)
    mean = weighted_mean(g, yidx, cost, keep, n_groups, weights, config.year_weighting)
    all_label = np.where(used, 0, -1)
    all_mean = float(weighted_mean(all_label, yidx, cost, keep, 1, weights, config.year_weighting)[0])
    gk = np.where(keep, g, -1)
    cases = np.bincount(g[used], minlength=n_groups)
    kept_n, pooled_mean, sd = grouped_mean_sd(gk, cost, n_groups)
    median = grouped_quantile(gk, cost, n_groups, 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = sd / pooled_mean
    score = mean / all_mean * config.scale
    tt = np.bincount(g[used] * 4 + f.ttype[used], minlength=n_groups * 4).reshape(n_groups, 4)
    is_comp = (table["type"] == "comprehensive").to_numpy()
    treatment = np.where(is_comp, table["_trank"].to_numpy(), tt.argmax(axis=1))

    codes = np.where(
        is_comp,
        table["diagnosis"].to_numpy(dtype=object) + "/" + np.asarray(TREATMENTS, dtype=object)[table["_trank"].to_numpy()],
        table["diagnosis"].to_numpy(dtype=object) + "/" + np.where(table["procedures"].to_numpy(dtype=object) == "", "none", table["procedures"].to_numpy(dtype=object)),
    )
    groups = pd.DataFrame({
        "group_code": pd.Series(codes, dtype="str"),
        "type": pd.Series(table["type"], dtype="str"),
        "diagnosis": pd.Series(table["diagnosis"], dtype="str"),
        "procedures": pd.Series(table["procedures"], dtype="str"),
        "treatment": pd.Series(np.asarray(TREATMENTS, dtype=object)[treatment], dtype="str"),
        "cases": cases.astype(np.int64),
        "cases_kept": kept_n.astype(np.int64),
        "mean": mean,
        "median": median,
        "cv": cv,
        "score": score,
        "name": pd.Series([""] * n_groups, dtype="str"),
    })
    tick("aux", 0.85)
    aux = estimate_aux(g, {"severity": f.sev.astype(np.int64), "age": f.age.astype(np.int64)}, yidx, cost, keep, mean, codes, weights, config)
    core_cases = int(cases[~is_comp].sum())
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "version": version or _dt.date.today().isoformat(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "source": "build",
        "strict_codes": strict,
        "scheme": scheme_identity(scheme),
        "config": config.to_dict(),
        "scale": config.scale,
        "all_case_mean": all_mean,
        "years": years,
        "year_weights": {str(y): w for y, w in zip(years, weights.tolist(), strict=False)},
        "counts": {
            "history_rows": n,
            "cases_used": int(used.sum()),
            "cases_kept": int(keep.sum()),
            "invalid": int((~valid).sum()),
            "no_positive_cost": int((valid & ~has_cost).sum()),
            "outside_years": int((valid & has_cost & ~window).sum()),
            "combinations": n_combo,
            "groups": n_groups,
            "core_groups": n_core,
            "comprehensive_groups": n_comp,
            "core_cases": core_cases,
        },
    }
    tick("done", 1.0)
    return Catalogue(groups=groups, aux=aux.reindex(columns=list(AUX_COLUMNS)), manifest=manifest)
