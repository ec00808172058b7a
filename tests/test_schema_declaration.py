"""Issue 10 item 3: one declaration of every table's columns (cases, grouped, priced, preview
answer), and every other list of columns held to it: the readers' dtypes, the tables the code
returns, stream's column pruning, and the service's request / answer models.

Known drift between the service and the declaration is listed in ``SERVICE_DRIFT`` as strict
xfails: when drgsim/service is brought in line, the xfail turns into a failure and the entry
goes. ``SERVICE_BY_DESIGN`` lists the differences that are the service's contract.
"""

from __future__ import annotations

import datetime as dt
import types
import typing

import pandas as pd
import pytest
from shared_data import ROOT

import grouper
import payment
from drgsim import preview_schema, stream
from grouper import schema
from payment import columns as pcols

service_models = pytest.importorskip("drgsim.service.models")
columnar = pytest.importorskip("drgsim.service.columnar")
service_engine = pytest.importorskip("drgsim.service.engine")

CASES = ROOT / "sample_cases" / "cases.csv"

#: declared case columns the service's request does not accept or types differently (reported)
SERVICE_DRIFT: dict[str, str] = {}
#: differences that are the service's contract, not drift
SERVICE_BY_DESIGN = {
    "case_id": "optional in a request: the position stands in when absent",
    "diagnoses": "a JSON array of codes instead of '|'-separated text",
    "procedures": "a JSON array of codes instead of '|'-separated text",
}

_PY = {"text": (str,), "int": (int,), "float": (float,), "date": (dt.date,), "bool": (bool,),
       "category": (str,), "list": (list,), "object": (dict,)}


def _base(annotation) -> set[type]:
    """The Python types an annotation admits, without None, Annotated or list arguments."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_base(a) for a in typing.get_args(annotation) if a is not type(None)))
    if origin is not None:
        return {origin}
    return {annotation}


# --- the declaration itself ------------------------------------------------------------------------


@pytest.mark.parametrize("table", [schema.CASE_COLUMNS, schema.READ_COLUMNS, schema.GROUPED_COLUMNS,
                                   schema.DIP_GROUPED_COLUMNS, pcols.PRICED_COLUMNS,
                                   preview_schema.PREVIEW_COLUMNS], ids=lambda t: t[0].name + "…")
def test_every_column_is_fully_declared(table):
    names = [c.name for c in table]
    assert len(names) == len(set(names))
    for c in table:
        assert c.kind in schema.DTYPES and c.meaning and c.header_zh
        assert c.unit in ("", "points", *schema.UNIT_SUFFIXES), c
    zh = [c.header_zh for c in table]
    assert len(zh) == len(set(zh)), "two columns share a Chinese header"


def test_case_schema_has_icu_month_and_the_weight_alias():
    by = schema.COLUMNS_BY_NAME
    assert by["icu"].kind == "bool" and by["month"].kind == "int"
    assert schema.alias_map()["weight"] == "birth_weight"
    got = grouper.cases.canonicalise(pd.DataFrame({"case_id": ["1"], "sex": ["1"], "age": ["0"],
                                                   "age_days": ["3"], "weight": ["3200克"],
                                                   "diagnoses": ["P07.100"], "icu": ["是"],
                                                   "month": ["7"]}))
    assert got["birth_weight"].iloc[0] == 3200 and bool(got["icu"].iloc[0]) and got["month"].iloc[0] == 7
    assert all(alias not in schema.alias_map() or schema.alias_map()[alias] == c.name
               for c in schema.CASE_COLUMNS for alias in c.aliases)


# --- the code's tables -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tables(demo_scheme):
    cases = grouper.read_cases(CASES)
    g = grouper.group(cases, demo_scheme, keep_columns=True)
    pol = payment.load_policy("zhejiang_drg")
    year = int(g["year"].max())
    w = payment.compute_weights(g[g["year"] < year], pol)
    priced = payment.price(g[g["year"] == year].reset_index(drop=True), w, pol)
    return cases, priced


def test_reader_gives_the_declared_dtypes(tables):
    cases, _ = tables
    for name in cases.columns:
        c = schema.KNOWN_COLUMNS.get(name)
        assert c is not None, f"read_cases returned an undeclared column {name}"
        if c.kind == "date":
            assert pd.api.types.is_datetime64_any_dtype(cases[name].dtype), name
        elif c.kind == "text":
            assert pd.api.types.is_string_dtype(cases[name].dtype), name
        else:
            assert str(cases[name].dtype) == c.dtype, (name, cases[name].dtype)
    assert list(cases.columns[-2:]) == list(schema.names(schema.READ_COLUMNS))


def test_grouped_tables_are_the_declared_ones(demo_scheme, sample_cases, tables):
    cases, _ = tables
    plain = [c.name for c in schema.GROUPED_COLUMNS if c.name != "read_status"]
    given = sample_cases.head(5).drop(columns=["read_status", "read_warnings"])  # not from a file
    assert list(grouper.group(given, demo_scheme).columns) == plain
    assert tuple(grouper.GROUP_COLUMNS) == tuple(plain)
    assert list(grouper.group(cases.head(5), demo_scheme).columns) == list(schema.names(schema.GROUPED_COLUMNS))
    from grouper.dip.group import OUTPUT_COLUMNS

    assert tuple(OUTPUT_COLUMNS) == tuple(c.name for c in schema.DIP_GROUPED_COLUMNS if c.name != "read_status")


def test_priced_table_is_the_declared_one(tables):
    _, priced = tables
    assert list(priced.columns) == list(pcols.names())
    for c in pcols.PRICED_COLUMNS:
        dtype = priced[c.name].dtype
        ok = {"text": pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype),
              "category": isinstance(dtype, pd.CategoricalDtype),
              "bool": pd.api.types.is_bool_dtype(dtype),
              "int": pd.api.types.is_integer_dtype(dtype),
              "float": pd.api.types.is_float_dtype(dtype)}[c.kind]
        assert ok, (c.name, c.kind, dtype)
    assert payment.pricing.CASE_COLUMNS == pcols.PRICED_CASE_COLUMNS == tuple(priced.columns[:7])


def test_column_pruning_reads_the_declarations():
    assert stream.GROUP_INPUT_COLUMNS == schema.GROUP_INPUT_COLUMNS
    assert stream.PRICE_INPUT_COLUMNS == pcols.PRICE_INPUT_COLUMNS
    declared = set(schema.COLUMNS_BY_NAME) | set(schema.alias_map())
    assert set(schema.GROUP_INPUT_COLUMNS) <= declared
    # every case column pricing reads is declared (status is the grouped table's,
    # aux_coefficient the DIP grouped table's)
    assert set(pcols.PRICE_INPUT_COLUMNS) - {"status", "aux_coefficient"} <= set(schema.COLUMNS_BY_NAME)
    assert "aux_coefficient" in {c.name for c in schema.DIP_GROUPED_COLUMNS}


def test_a_priced_file_reads_back_typed(tmp_path, tables):
    _, priced = tables
    p = tmp_path / "p.csv"
    priced.head(50).to_csv(p, index=False)
    back = grouper.read_table(p, kinds=pcols.PRICED_BY_NAME)
    for c in ("payment", "points", "r", "sr_amount"):
        assert pd.api.types.is_float_dtype(back[c].dtype)
    assert back["sr_approved"].dtype == bool and str(back["month"].dtype) == "Int64"
    assert (back["payment"].to_numpy() == priced["payment"].head(50).to_numpy()).all()


# --- the service's models against the declaration ---------------------------------------------------


def _case_params():
    for c in schema.CASE_COLUMNS:
        marks = [pytest.mark.xfail(strict=True, reason=SERVICE_DRIFT[c.name])] if c.name in SERVICE_DRIFT else []
        yield pytest.param(c, id=c.name, marks=marks)


@pytest.mark.parametrize("col", list(_case_params()))
def test_request_model_field_matches_the_case_column(col):
    fields = service_models.CaseIn.model_fields
    assert col.name in fields, f"CaseIn has no {col.name}"
    f = fields[col.name]
    if col.name in ("diagnoses", "procedures"):
        assert _base(f.annotation) == {list}
    else:
        assert _base(f.annotation) <= set(_PY[col.kind]), (col.name, f.annotation)
    if col.name != "case_id":
        assert f.is_required() == col.required, col.name
    # the columnar fast route types the field the same way
    kind_sets = {"int": columnar.INT_FIELDS, "float": columnar.NUM_ONLY_FIELDS,
                 "date": columnar.DATE_FIELDS}
    if col.kind in kind_sets:
        assert col.name in kind_sets[col.kind], (col.name, col.kind)
    if col.kind == "text" and col.name not in ("diagnoses", "procedures"):
        assert col.name in columnar.ID_FIELDS
    assert col.name in columnar.ALLOWED


def test_request_model_has_nothing_undeclared():
    fields = set(service_models.CaseIn.model_fields)
    assert fields <= set(schema.COLUMNS_BY_NAME)
    assert set(columnar.ALLOWED) == fields
    assert set(columnar.REQUIRED) == {c.name for c in schema.CASE_COLUMNS if c.required} - {"case_id"}
    numeric = {c.name for c in schema.CASE_COLUMNS if c.kind in ("int", "float")}
    assert set(service_engine.NUM_FIELDS) <= numeric
    assert set(service_engine.TEXT_FIELDS) <= {c.name for c in schema.CASE_COLUMNS if c.kind == "text"}
    assert set(SERVICE_BY_DESIGN) <= set(schema.COLUMNS_BY_NAME)


def _answer_fields() -> dict[str, set[type]]:
    out: dict[str, set[type]] = {}
    for name, f in service_models.PreviewOut.model_fields.items():
        sub = [t for t in _base(f.annotation) if isinstance(t, type) and hasattr(t, "model_fields")]
        if sub:
            for k, g in sub[0].model_fields.items():
                out[f"{name}.{k}"] = _base(g.annotation)
        else:
            out[name] = _base(f.annotation)
    return out


def test_answer_model_is_the_declared_answer():
    got = _answer_fields()
    declared = {c.name: c for c in preview_schema.PREVIEW_COLUMNS}
    assert list(got) == list(declared)
    for name, types_ in got.items():
        c = declared[name]
        assert types_ <= set(_PY[c.kind]) | ({int} if c.kind == "float" else set()), (name, types_, c.kind)
