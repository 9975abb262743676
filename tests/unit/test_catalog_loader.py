"""Loading a queries folder either yields a catalog of every valid file or raises one CatalogError that
lists every broken file, each problem as ``path:line: message`` with the line the author must fix.
The demo folder shipped with the package always loads, on both dialects."""

from __future__ import annotations

import tempfile
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.catalog import load_catalog
from gateway.catalog.spec import Catalog
from gateway.errors import CatalogError, QueryFileError

SQLITE = {"default": "sqlite"}
DEMO_QUERIES = Path(__file__).resolve().parents[2] / "queries"


def query(front_matter: str, sql: str = "SELECT 1") -> str:
    """A query file: front-matter (dedented) in the first block comment, then the SQL."""
    body = textwrap.dedent(front_matter).strip("\n")
    return f"/*\n---\n{body}\n---\n*/\n{sql}\n"


def write(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def line_no(text: str, needle: str) -> int:
    hits = [i for i, line in enumerate(text.split("\n"), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def problems_of(root: Path, dialects: dict[str, str] = SQLITE) -> list[QueryFileError]:
    with pytest.raises(CatalogError) as info:
        load_catalog(root, dialects)
    return info.value.problems


def only_problem(tmp_path: Path, name: str, text: str | bytes) -> QueryFileError:
    """Load a folder holding just ``name``; return its single problem after checking the path."""
    write(tmp_path, {name: text})
    problems = problems_of(tmp_path)
    assert len(problems) == 1, [str(p) for p in problems]
    assert problems[0].path == tmp_path / name
    return problems[0]


def load(tmp_path: Path, files: Mapping[str, str | bytes], dialects: dict[str, str] = SQLITE) -> Catalog:
    return load_catalog(write(tmp_path, files), dialects)


# -- valid folders -------------------------------------------------------------------------------

PRICES = query(
    """
    name: Daily prices
    category: Equity
    params:
      - paramName: ticker
        type: text
        value: AAPL
      - paramName: start
        type: date
        value: $currentDate-1y
    """,
    "SELECT date, close FROM prices\nWHERE symbol = :ticker AND date >= :start",
)


def test_load_catalog_returns_every_valid_file(tmp_path: Path) -> None:
    catalog = load(tmp_path, {"prices.sql": PRICES, "plain.sql": "SELECT 1 AS one"})

    assert sorted(catalog.specs) == ["plain", "prices"]
    spec = catalog.get("prices")
    assert spec is not None
    assert spec.name == "Daily prices"
    assert spec.category == "Equity"
    assert [p.name for p in spec.params] == ["ticker", "start"]
    assert spec.compiled.order == ("ticker", "start")
    assert spec.sql_line == line_no(PRICES, "*/")


def test_load_catalog_defaults_name_description_and_category_from_path(tmp_path: Path) -> None:
    catalog = load(tmp_path, {"top_movers.sql": "SELECT 1"})

    spec = catalog.get("top_movers")
    assert spec is not None
    assert spec.name == "Top Movers"
    assert spec.category == "General"
    assert "top_movers.sql" in spec.description


def test_load_catalog_prefixes_ids_with_subfolders_and_defaults_category(tmp_path: Path) -> None:
    catalog = load(
        tmp_path,
        {
            "equity/prices.sql": "SELECT 1",
            "fixed_income/curves/us.sql": "SELECT 1",
            "equity/own.sql": query("category: Mine"),
        },
    )

    assert sorted(catalog.specs) == ["equity_own", "equity_prices", "fixed_income_curves_us"]
    assert catalog.specs["equity_prices"].category == "Equity"
    assert catalog.specs["fixed_income_curves_us"].category == "Fixed Income"
    assert catalog.specs["equity_own"].category == "Mine"


def test_load_catalog_skips_files_and_folders_starting_with_underscore_or_dot(tmp_path: Path) -> None:
    broken = "DELETE FROM t"

    catalog = load(
        tmp_path,
        {
            "ok.sql": "SELECT 1",
            "_draft.sql": broken,
            ".hidden.sql": broken,
            "_wip/x.sql": broken,
            ".git/y.sql": broken,
            "equity/_old.sql": broken,
            "notes.txt": broken,
        },
    )

    assert list(catalog.specs) == ["ok"]


def test_load_catalog_runs_query_on_named_database_with_its_dialect(tmp_path: Path) -> None:
    catalog = load(
        tmp_path,
        {"wh.sql": query("database: warehouse", "SELECT x::int FROM t")},
        {"default": "sqlite", "warehouse": "postgres"},
    )

    spec = catalog.specs["wh"]
    assert (spec.database, spec.dialect) == ("warehouse", "postgres")


def test_load_catalog_reads_file_saved_with_utf8_bom(tmp_path: Path) -> None:
    text = query("name: Bom\nparams:\n  - {paramName: a, value: x}", "SELECT :a AS a")

    catalog = load(tmp_path, {"bom.sql": "\ufeff" + text})

    assert catalog.specs["bom"].name == "Bom"


def test_load_catalog_accepts_valid_options_query_chain(tmp_path: Path) -> None:
    catalog = load(
        tmp_path,
        {
            "tickers.sql": query(
                "widget: false\nparams:\n  - {paramName: sector, value: Energy}",
                "SELECT symbol AS value FROM t WHERE sector = :sector",
            ),
            "main.sql": query(
                """
                params:
                  - {paramName: sector, value: Energy, passThrough: true}
                  - paramName: ticker
                    type: endpoint
                    optionsQuery: tickers
                    optionsParams: {sector: $sector}
                    value: XOM
                """,
                "SELECT :ticker AS t",
            ),
        },
    )

    ticker = catalog.specs["main"].param("ticker")
    assert ticker is not None and ticker.options_query == "tickers"
    sector = catalog.specs["main"].param("sector")
    assert sector is not None and not sector.bound
    assert [s.id for s in catalog.widgets()] == ["main"]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_load_catalog_loads_demo_queries_folder(dialect: str) -> None:
    catalog = load_catalog(DEMO_QUERIES, {"default": dialect})

    files = {p.stem for p in DEMO_QUERIES.glob("*.sql")}
    assert set(catalog.specs) == files
    assert len(catalog) >= 10
    assert all(spec.dialect == dialect for spec in catalog)
    marker = "$" if dialect == "postgres" else "?"
    assert all(":" + name not in spec.compiled.text for spec in catalog for name in spec.compiled.order)
    assert any(marker + "1" in spec.compiled.text for spec in catalog)


def test_load_catalog_rejects_missing_folder(tmp_path: Path) -> None:
    problems = problems_of(tmp_path / "nope")

    assert "not found" in problems[0].message


# -- front-matter problems -----------------------------------------------------------------------


def test_load_catalog_rejects_unknown_key_with_did_you_mean_hint(tmp_path: Path) -> None:
    text = query("name: X\nsubcategory: Prices")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "subcategory")
    assert "unknown key 'subcategory'" in problem.message
    assert "did you mean 'subCategory'" in problem.message
    assert str(problem) == f"{tmp_path / 'w.sql'}:{problem.line}: {problem.message}"


def test_load_catalog_rejects_unknown_key_inside_param_at_its_line(tmp_path: Path) -> None:
    text = query("params:\n  - paramName: a\n    defualt: 1", "SELECT :a")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "defualt")
    assert "defualt" in problem.message


@pytest.mark.parametrize(
    ("front_matter", "needle", "bad"),
    [
        ("type: pie", "type: pie", "pie"),
        (
            "data:\n  table:\n    columnsDefs:\n      - field: a\n        cellDataType: currency",
            "cellDataType",
            "currency",
        ),
        (
            "data:\n  table:\n    columnsDefs:\n      - field: a\n        formatterFn: currency",
            "formatterFn",
            "currency",
        ),
        ("params:\n  - paramName: a\n    type: dropdown", "type: dropdown", "dropdown"),
    ],
)
def test_load_catalog_rejects_bad_enum_value_at_its_line(
    tmp_path: Path, front_matter: str, needle: str, bad: str
) -> None:
    text = query(front_matter, "SELECT 1 AS a")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, needle)
    assert repr(bad) in problem.message


def test_load_catalog_rejects_wrong_value_type_at_its_line(tmp_path: Path) -> None:
    text = query("name: X\nstaleTime: soon")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "staleTime")
    assert "staleTime" in problem.message


@pytest.mark.parametrize(
    ("front_matter", "needle", "words"),
    [
        ("staleTime: 0", "staleTime", "staleTime must be > 0"),
        ("refetchInterval: 500", "refetchInterval", ">= 1000"),
        ("refetchInterval: true", "refetchInterval", "false or a cron string"),
        ("refetchInterval: every minute", "refetchInterval", "cron"),
        ("gridData:\n  w: 41\n  h: 10", "w: 41", "gridData.w"),
        ("gridData: {w: 10, h: 0}", "gridData", "gridData.h"),
        ("timeoutMs: 0", "timeoutMs", "timeoutMs must be > 0"),
        ("source: []", "source", "at least one"),
    ],
)
def test_load_catalog_rejects_out_of_range_widget_field_at_its_line(
    tmp_path: Path, front_matter: str, needle: str, words: str
) -> None:
    text = query(f"name: X\n{front_matter}")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, needle)
    assert words in problem.message


@pytest.mark.parametrize(
    "interval", ["refetchInterval: 1000", "refetchInterval: false", "refetchInterval: '0 9 * * 1-5'"]
)
def test_load_catalog_accepts_valid_refetch_interval(tmp_path: Path, interval: str) -> None:
    assert "w" in load(tmp_path, {"w.sql": query(interval)}).specs


def test_load_catalog_rejects_duplicate_column_at_second_definition(tmp_path: Path) -> None:
    text = query("data:\n  table:\n    columnsDefs:\n      - field: a\n      - field: b\n      - field: a")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == text.split("\n").index("      - field: a", 6) + 1
    assert "defined twice" in problem.message


def test_load_catalog_reports_yaml_syntax_error_at_its_line(tmp_path: Path) -> None:
    text = "\n\n" + query("name: X\ncategory: Equity\n  oops: 1\nstaleTime: 1000")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "oops")
    assert "invalid YAML" in problem.message


def test_load_catalog_reports_duplicate_key_at_second_occurrence(tmp_path: Path) -> None:
    text = query("name: X\nstaleTime: 1000\nname: Y")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "name: Y")
    assert "duplicate key 'name'" in problem.message


# -- params versus SQL ---------------------------------------------------------------------------


def test_load_catalog_rejects_undeclared_placeholder_at_its_sql_line(tmp_path: Path) -> None:
    text = query("name: X", "SELECT *\nFROM prices\nWHERE symbol = :ticker")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, ":ticker")
    assert "placeholder :ticker is not declared" in problem.message


def test_load_catalog_rejects_undeclared_placeholder_in_file_without_front_matter(tmp_path: Path) -> None:
    text = "-- no front-matter\nSELECT *\nFROM t WHERE a = :a\n"

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == 3


def test_load_catalog_rejects_declared_but_unused_param_at_its_line(tmp_path: Path) -> None:
    text = query(
        """
        params:
          - paramName: used
            value: 1
          - paramName: unused
            value: 2
        """,
        "SELECT :used",
    )

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "paramName: unused")
    assert "'unused' is declared but never used" in problem.message


def test_load_catalog_rejects_pass_through_param_used_in_sql(tmp_path: Path) -> None:
    text = query("params:\n  - paramName: a\n    value: 1\n    passThrough: true", "SELECT :a")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "paramName: a")
    assert "passThrough" in problem.message


def test_load_catalog_rejects_duplicate_param_name_at_second_declaration(tmp_path: Path) -> None:
    text = query(
        "params:\n  - paramName: a\n    value: 1\n  - paramName: b\n    value: 2\n"
        "  - paramName: a\n    value: 3",
        "SELECT :a, :b",
    )

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == text.split("\n").index("  - paramName: a", 4) + 1
    assert "'a' is declared twice" in problem.message


def test_load_catalog_rejects_duplicate_param_name_across_rows(tmp_path: Path) -> None:
    text = query(
        "params:\n  - - paramName: a\n      value: 1\n  - - paramName: a\n      value: 2",
        "SELECT :a",
    )

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == text.split("\n").index("  - - paramName: a", 4) + 1


def test_load_catalog_rejects_param_name_that_is_not_an_identifier(tmp_path: Path) -> None:
    text = query("params:\n  - paramName: 'my param'\n    value: 1", "SELECT 1")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "my param")


# -- dropdowns -----------------------------------------------------------------------------------


def test_load_catalog_rejects_endpoint_param_without_options_query(tmp_path: Path) -> None:
    text = query("params:\n  - paramName: t\n    type: endpoint\n    value: A", "SELECT :t")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "paramName: t")
    assert "optionsQuery" in problem.message


def test_load_catalog_rejects_options_query_naming_missing_file(tmp_path: Path) -> None:
    text = query(
        "params:\n  - paramName: t\n    type: endpoint\n    optionsQuery: tickers\n    value: A", "SELECT :t"
    )

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "paramName: t")
    assert "optionsQuery 'tickers' names no query file" in problem.message


def test_load_catalog_rejects_options_params_key_the_options_query_lacks(tmp_path: Path) -> None:
    main = query(
        """
        params:
          - paramName: t
            type: endpoint
            optionsQuery: tickers
            optionsParams: {region: EU}
            value: A
        """,
        "SELECT :t",
    )
    write(tmp_path, {"tickers.sql": "SELECT 'A' AS value", "main.sql": main})

    problems = problems_of(tmp_path)

    assert [(p.path.name, p.line) for p in problems] == [("main.sql", line_no(main, "paramName: t"))]
    assert "optionsParams key 'region' is not a param of tickers" in problems[0].message


def test_load_catalog_rejects_options_query_whose_required_param_is_not_supplied(tmp_path: Path) -> None:
    main = query(
        "params:\n  - paramName: t\n    type: endpoint\n    optionsQuery: tickers\n    value: A", "SELECT :t"
    )
    options = query("params:\n  - paramName: sector", "SELECT symbol AS value FROM t WHERE sector = :sector")
    write(tmp_path, {"tickers.sql": options, "main.sql": main})

    problems = problems_of(tmp_path)

    assert [(p.path.name, p.line) for p in problems] == [("main.sql", line_no(main, "paramName: t"))]
    assert "needs param 'sector'" in problems[0].message


def test_load_catalog_rejects_options_params_reference_to_unknown_param(tmp_path: Path) -> None:
    text = query(
        """
        params:
          - paramName: t
            type: endpoint
            optionsQuery: tickers
            optionsParams: {sector: $nope}
            value: A
        """,
        "SELECT :t",
    )
    write(
        tmp_path,
        {"tickers.sql": query("params:\n  - {paramName: sector, value: x}", "SELECT :sector AS value")},
    )

    problem = only_problem(tmp_path, "w.sql", text)

    assert "$nope names no param" in problem.message
    assert problem.line == line_no(text, "optionsParams")


def test_load_catalog_rejects_options_query_on_non_endpoint_param(tmp_path: Path) -> None:
    text = query("params:\n  - paramName: t\n    optionsQuery: tickers\n    value: A", "SELECT :t")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "optionsQuery")


# -- defaults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "words"),
    [
        ("{paramName: p, type: date, value: 2025-02-30}", "not a valid calendar date"),
        ("{paramName: p, type: date, value: yesterday}", "is not a date"),
        ("{paramName: p, type: number, value: abc}", "is not a number"),
        ("{paramName: p, type: number, value: 99999999999999999999}", "out of range"),
        ("{paramName: p, type: boolean, value: maybe}", "not a boolean"),
        ("{paramName: p, type: text, value: true}", "does not suit type text"),
        ("{paramName: p, type: text, value: [a, b]}", "needs multiSelect"),
        ("{paramName: p, value: c, options: [{value: a}, {value: b}]}", "not one of the options"),
        ("{paramName: p, multiSelect: true, value: 'a,z', options: [{value: a}]}", "not one of the options"),
    ],
)
def test_load_catalog_rejects_bad_default_at_its_line(tmp_path: Path, param: str, words: str) -> None:
    text = query(f"name: X\nparams:\n  - {param}", "SELECT 1 WHERE 1 IN (:p)")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "paramName: p")
    assert words in problem.message


def test_load_catalog_points_bad_default_at_value_line_in_block_style(tmp_path: Path) -> None:
    text = query("params:\n  - paramName: d\n    type: date\n    value: 2025-02-30", "SELECT :d")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "2025-02-30")


def test_load_catalog_rejects_static_options_on_date_param(tmp_path: Path) -> None:
    text = query("params:\n  - paramName: d\n    type: date\n    options:\n      - {value: x}", "SELECT :d")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "options:")


def test_load_catalog_keeps_valid_defaults_and_marks_params_without_one_required(tmp_path: Path) -> None:
    text = query(
        """
        params:
          - {paramName: d, type: date, value: 2024-02-29}
          - {paramName: n, type: number, value: 5}
          - {paramName: m, multiSelect: true, value: 'b,a'}
          - {paramName: r, type: number}
          - {paramName: o, type: number, required: false}
        """,
        "SELECT :d, :n, :r, :o WHERE 1 IN (:m)",
    )

    spec = load(tmp_path, {"w.sql": text}).specs["w"]

    by_name = {p.name: p for p in spec.params}
    assert by_name["d"].default == "2024-02-29"
    assert by_name["n"].default == 5
    assert by_name["m"].default == ["b", "a"]
    assert (by_name["r"].required, by_name["o"].required, by_name["n"].required) == (True, False, False)


# -- database, encoding, SQL ---------------------------------------------------------------------


def test_load_catalog_rejects_unknown_database_at_its_line(tmp_path: Path) -> None:
    text = query("name: X\ndatabase: warehouse")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "database")
    assert "unknown database 'warehouse'" in problem.message


def test_load_catalog_rejects_non_utf8_file(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "w.sql", b"SELECT '\xff\xfe' AS x\n")

    assert problem.line == 1
    assert "not UTF-8" in problem.message


def test_load_catalog_rejects_two_statements_at_line_of_second(tmp_path: Path) -> None:
    text = query("name: X", "SELECT 1;\nSELECT 2")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "SELECT 2")
    assert "only one SQL statement" in problem.message


def test_load_catalog_rejects_write_statement_at_its_line(tmp_path: Path) -> None:
    text = query("name: X", "\n-- tidy up\nDELETE FROM prices")

    problem = only_problem(tmp_path, "w.sql", text)

    assert problem.line == line_no(text, "DELETE")
    assert "DELETE" in problem.message


def test_load_catalog_rejects_empty_file(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "w.sql", "")

    assert "no SQL statement" in problem.message


@pytest.mark.parametrize("name", ["my-widget.sql", "my widget.sql", "café.sql"])
def test_load_catalog_rejects_file_name_that_is_no_widget_id(tmp_path: Path, name: str) -> None:
    problem = only_problem(tmp_path, name, "SELECT 1")

    assert "rename the file" in problem.message


def test_load_catalog_rejects_duplicate_widget_id_from_folder_and_file(tmp_path: Path) -> None:
    write(tmp_path, {"a/b.sql": "SELECT 1", "a_b.sql": "SELECT 2"})

    problems = problems_of(tmp_path)

    assert len(problems) == 1
    assert (problems[0].path, problems[0].line) == (tmp_path / "a_b.sql", 1)
    assert "'a_b'" in problems[0].message
    assert str(tmp_path / "a" / "b.sql") in problems[0].message


# -- many problems at once -----------------------------------------------------------------------


def test_load_catalog_reports_every_broken_file_at_once(tmp_path: Path) -> None:
    files = {
        "enum.sql": query("type: pie"),
        "two.sql": "SELECT 1;\nSELECT 2",
        "undeclared.sql": query("name: X", "SELECT\n  :x"),
        "write.sql": "UPDATE t SET a = 1",
        "sub/grid.sql": query("gridData: {w: 41, h: 4}"),
        "ok.sql": "SELECT 1",
    }
    write(tmp_path, files)

    problems = problems_of(tmp_path)

    found = {(p.path.relative_to(tmp_path).as_posix(), p.line) for p in problems}
    assert found == {
        ("enum.sql", 3),
        ("two.sql", 2),
        ("undeclared.sql", line_no(files["undeclared.sql"], ":x")),
        ("write.sql", 1),
        ("sub/grid.sql", 3),
    }


def test_catalog_error_lists_problems_sorted_by_path_then_line(tmp_path: Path) -> None:
    write(tmp_path, {"b.sql": "DELETE FROM t", "a.sql": query("type: pie")})

    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path, SQLITE)

    lines = str(info.value).split("\n")
    assert lines[0].startswith(f"{tmp_path / 'a.sql'}:3: ")
    assert lines[1].startswith(f"{tmp_path / 'b.sql'}:1: ")


# -- any front-matter: a catalog or a CatalogError, nothing else ---------------------------------

_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(), _TEXT, st.sampled_from(["", "$a"])
)
_JUNK = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` nine times in ten, junk otherwise: deep checks get reached, odd shapes still tried."""
    return st.integers(0, 9).flatmap(lambda roll: _JUNK if roll == 0 else valid)


_PARAM = st.fixed_dictionaries(
    {"paramName": mostly(st.sampled_from(["a", "b", "1x", ""]))},
    optional={
        "type": mostly(st.sampled_from(["text", "number", "boolean", "date", "ticker", "endpoint", "pie"])),
        "value": mostly(
            st.sampled_from(["$currentDate-1y", "2025-02-30", "2024-01-02", "a,b", 3, 1.5, True, ""])
        ),
        "multiSelect": mostly(st.booleans()),
        "options": mostly(st.lists(st.fixed_dictionaries({"value": _SCALAR}), max_size=3)),
        "optionsQuery": mostly(st.sampled_from(["opts", "missing"])),
        "optionsParams": mostly(
            st.dictionaries(st.sampled_from(["s", "x"]), st.sampled_from(["$a", "$nope", "v"]))
        ),
        "required": mostly(st.booleans()),
        "passThrough": mostly(st.booleans()),
        "label": mostly(_TEXT),
    },
)
_COLUMN = st.fixed_dictionaries(
    {"field": mostly(st.sampled_from(["a", "b"]))},
    optional={
        "cellDataType": mostly(st.sampled_from(["text", "number", "currency"])),
        "renderFn": mostly(st.sampled_from(["greenRed", "cellOnClick", "hoverCard", "columnColor"])),
        "decimalPlaces": mostly(st.integers(-2, 4)),
    },
)
_FRONT_MATTER = st.fixed_dictionaries(
    {},
    optional={
        "name": mostly(_TEXT),
        "type": mostly(st.sampled_from(["table", "chart", "markdown", "pie"])),
        "category": mostly(_TEXT),
        "subcategory": _JUNK,
        "gridData": mostly(st.fixed_dictionaries({"w": st.integers(-1, 50), "h": st.integers(-1, 120)})),
        "staleTime": mostly(st.integers(-5, 10**6)),
        "refetchInterval": mostly(st.sampled_from([False, True, 500, 60_000, "0 9 * * 1", "hourly"])),
        "params": mostly(st.lists(_PARAM, max_size=3) | st.lists(st.lists(_PARAM, max_size=2), max_size=2)),
        "data": mostly(
            st.fixed_dictionaries(
                {"table": st.fixed_dictionaries({"columnsDefs": st.lists(_COLUMN, max_size=2)})}
            )
        ),
        "database": mostly(st.sampled_from(["default", "elsewhere"])),
        "widget": mostly(st.booleans()),
        "timeoutMs": mostly(st.integers(-1, 10**4)),
    },
)
_SQL = st.sampled_from(
    ["SELECT 1", "SELECT :a", "SELECT :a, :b", "SELECT 1 WHERE 1 IN (:a)", "DELETE FROM t"]
)
_OPTIONS = "/*\n---\nwidget: false\nparams:\n  - {paramName: s, value: v}\n---\n*/\nSELECT :s AS value\n"


@settings(deadline=None)
@given(_FRONT_MATTER, _SQL)
def test_load_catalog_returns_catalog_or_catalog_error_for_any_front_matter(
    front_matter: dict[str, Any], sql: str
) -> None:
    text = "/*\n---\n" + yaml.safe_dump(front_matter, allow_unicode=True, sort_keys=False) + "---\n*/\n" + sql
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write(root, {"w.sql": text, "opts.sql": _OPTIONS})
        loaded: set[str] = set()
        problems: list[QueryFileError] = []
        try:
            loaded = set(load_catalog(root, SQLITE).specs)
        except CatalogError as exc:  # any other exception fails the test
            problems = exc.problems

    assert loaded == {"w", "opts"} or problems
    assert all(p.line >= 1 and p.path.parent == root for p in problems)
