"""Catalogue folders: save / load round trip, planner edits, validation messages, import."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from grouper.dip import (
    CatalogueError,
    DipConfig,
    build_catalogue,
    group,
    import_catalogue,
    load_catalogue,
)
from grouper.dip.synth import tiny_scheme

SCHEME = tiny_scheme()
HISTORY = pd.DataFrame({
    "case_id": [f"h{i}" for i in range(8)],
    "sex": 1, "age": [40, 40, 70, 70, 40, 70, 40, 0], "age_days": [None] * 7 + [10],
    "birth_weight": [None] * 7 + [3000],
    "diagnoses": ["K80.100", "K80.100|E11.900", "K80.101", "K80.100", "K80.200", "K80.200", "K35.800", "K35.800"],
    "procedures": ["51.2300", "51.2300", "51.2300|99.0401", "99.0401|51.2300", "", "", "87.4100", ""],
    "total_cost": [100.0, 200.0, 300.0, 500.0, 50.0, 70.0, 90.0, 110.0],
    "year": [2024, 2025, 2025, 2025, 2025, 2024, 2025, 2025],
})
CFG = DipConfig(core_threshold=2, aux_min_cases=1)


@pytest.fixture()
def saved(tmp_path):
    cat = build_catalogue(HISTORY, CFG, SCHEME, version="test-1")
    return cat, cat.save(tmp_path / "cat")


def test_round_trip_csv_and_parquet(saved, tmp_path):
    cat, path = saved
    assert sorted(p.name for p in path.iterdir()) == ["aux.csv", "groups.csv", "manifest.json"]
    m = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert m["format"] == "drgsim-dip-catalogue" and m["version"] == "test-1"
    assert m["config"]["core_threshold"] == 2 and m["scale"] == 100
    assert m["all_case_mean"] == pytest.approx(cat.all_case_mean)
    for p in (path, cat.save(tmp_path / "pq", fmt="parquet")):
        back = load_catalogue(p)
        pd.testing.assert_frame_equal(back.groups[["group_code", "type", "diagnosis", "procedures", "treatment"]],
                                      cat.groups[["group_code", "type", "diagnosis", "procedures", "treatment"]], check_dtype=False)
        pd.testing.assert_series_equal(back.groups["score"], cat.groups["score"], check_exact=True)
        pd.testing.assert_series_equal(back.aux["coefficient"], cat.aux["coefficient"], check_exact=True)
        pd.testing.assert_frame_equal(group(HISTORY, back, SCHEME), group(HISTORY, cat, SCHEME))


def test_planner_edits_take_effect(saved):
    cat, path = saved
    g = pd.read_csv(path / "groups.csv", dtype=str, keep_default_na=False)
    core = g["group_code"] == "K80.1/51.2300+99.0401"
    g.loc[core, "score"] = "123.5"
    g.loc[core, "procedures"] = "99.0401 + 51.2300"  # reordered, spaced: normalised on load
    g.to_csv(path / "groups.csv", index=False)
    a = pd.read_csv(path / "aux.csv", dtype=str, keep_default_na=False)
    a = a[a["group_code"] != "K80.1/51.2300+99.0401"]  # drop its aux rows: coefficient 1.0
    a.to_csv(path / "aux.csv", index=False)
    out = group(HISTORY.iloc[[2]], load_catalogue(path), SCHEME)
    assert out["dip_group"].iloc[0] == "K80.1/51.2300+99.0401"
    assert out["score"].iloc[0] == 123.5 and out["final_score"].iloc[0] == 123.5


def _edit(path, table: str, row: int, col: str, value: str) -> None:
    df = pd.read_csv(path / f"{table}.csv", dtype=str, keep_default_na=False)
    df.loc[row - 1, col] = value
    df.to_csv(path / f"{table}.csv", index=False)


@pytest.mark.parametrize(("table", "row", "col", "value", "message"), [
    ("groups", 2, "score", "abc", "groups.csv: row 2 (line 3), column 'score': 'abc' is not allowed"),
    ("groups", 1, "score", "-1", "row 1 (line 2), column 'score'"),
    ("groups", 1, "score", "", "column 'score'"),
    ("groups", 2, "type", "core-ish", "column 'type': 'core-ish' (allowed: core, comprehensive)"),
    ("groups", 1, "diagnosis", "K80.10", "column 'diagnosis': 'K80.10'"),
    ("groups", 1, "group_code", "", "column 'group_code': empty"),
    ("aux", 1, "coefficient", "0", "aux.csv: row 1 (line 2), column 'coefficient'"),
    ("aux", 1, "dimension", "tumour", "column 'dimension': 'tumour'"),
    ("aux", 1, "level", "9", "column 'level': '9'"),
    ("aux", 1, "group_code", "nope", "'nope' is not a group_code of groups"),
])
def test_validation_names_file_row_column(saved, table, row, col, value, message):
    _, path = saved
    _edit(path, table, row, col, value)
    with pytest.raises(CatalogueError) as e:
        load_catalogue(path)
    assert message in str(e.value)


def test_duplicates_are_reported(saved):
    _, path = saved
    g = pd.read_csv(path / "groups.csv", dtype=str, keep_default_na=False)
    g = pd.concat([g, g.iloc[[0]]], ignore_index=True)
    g.to_csv(path / "groups.csv", index=False)
    with pytest.raises(CatalogueError) as e:
        load_catalogue(path)
    n = len(g)
    assert f"row {n} (line {n + 1}), column 'group_code'" in str(e.value)
    assert "repeats row 1" in str(e.value)
    g.loc[n - 1, "group_code"] = "renamed"
    g.to_csv(path / "groups.csv", index=False)
    with pytest.raises(CatalogueError, match="one group per"):
        load_catalogue(path)


def test_manifest_and_file_problems(saved, tmp_path):
    _, path = saved
    with pytest.raises(CatalogueError, match="manifest.json: file missing"):
        load_catalogue(tmp_path / "nowhere")
    m = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    m["config"]["scale"] = 7
    (path / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(CatalogueError, match="key 'config'.*scale=7"):
        load_catalogue(path)
    (path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid UTF-8 JSON"):
        load_catalogue(path)


def test_missing_column(saved):
    _, path = saved
    pd.read_csv(path / "groups.csv", dtype=str).drop(columns=["score"]).to_csv(path / "groups.csv", index=False)
    with pytest.raises(CatalogueError, match=r"groups.csv: header: missing column\(s\) \['score'\]"):
        load_catalogue(path)


def test_import_published_catalogue(tmp_path):
    published = pd.DataFrame({
        "病种编码": ["D001", "D002", "Z001", "Z002"],
        "病种名称": ["胆囊结石腹腔镜", "胆囊结石腹腔镜+输血", "胆囊结石保守", "胆囊结石手术"],
        "主要诊断编码": ["K80.1", "K80.1", "K80", "K80"],
        "手术操作编码": ["51.2300", "99.0401+51.2300", "保守治疗", "相关手术"],
        "分值": ["80", "150.5", "20", "210"],
    })
    f = tmp_path / "published.csv"
    published.to_csv(f, index=False, encoding="utf-8-sig")
    cat = import_catalogue(f, DipConfig(), version="region-2025")
    assert list(cat.groups["type"]) == ["core", "core", "comprehensive", "comprehensive"]
    assert list(cat.groups["procedures"]) == ["51.2300", "51.2300+99.0401", "", ""]
    assert list(cat.groups["treatment"])[2:] == ["conservative", "surgery"]
    cases = HISTORY.iloc[[0, 2, 4]].reset_index(drop=True)
    cases.loc[3] = cases.loc[0]
    cases.loc[3, ["case_id", "diagnoses", "procedures"]] = ["x", "K80.200", "51.2200"]
    out = group(cases, cat, SCHEME)
    assert list(out["dip_group"]) == ["D001", "D002", "Z001", "Z002"]
    assert list(out["score"]) == [80.0, 150.5, 20.0, 210.0]
    assert list(out["aux_coefficient"]) == [1.0] * 4
    back = load_catalogue(cat.save(tmp_path / "imported"))
    assert back.manifest["source"] == "import"
    pd.testing.assert_frame_equal(group(cases, back, SCHEME), out)


def test_import_problems():
    with pytest.raises(CatalogueError, match="no column for score"):
        import_catalogue(pd.DataFrame({"主要诊断编码": ["K80.1"]}))
    with pytest.raises(CatalogueError, match=r"row 1 \(line 2\), column 'diagnosis': 'K80.1' \(allowed: a 3-character"):
        import_catalogue(pd.DataFrame({"主要诊断编码": ["K80.1"], "手术操作编码": ["保守治疗"], "分值": ["3"]}))
