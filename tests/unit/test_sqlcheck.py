"""A query file's SQL is accepted only as one read-only statement, on both dialects, and every
refusal names the 1-based line at fault. Only real ``:name`` tokens are placeholders (never text in
strings, casts or comments), and compilation rewrites those tokens, and nothing else, into the
driver's positional style."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.catalog.sqlcheck import SqlProblem, analyze, compile_sql

DIALECTS = ["postgres", "sqlite"]


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def rejection(sql: str, dialect: str) -> SqlProblem:
    with pytest.raises(SqlProblem) as info:
        analyze(sql, dialect)
    return info.value


def compiled(sql: str, dialect: str, lists: frozenset[str] = frozenset()) -> tuple[str, tuple[str, ...]]:
    result = compile_sql(sql, analyze(sql, dialect), dialect, lists)
    return result.text, result.order


# -- one statement ---------------------------------------------------------------------------------


def test_analyze_accepts_one_select_without_placeholders(dialect: str) -> None:
    assert analyze("SELECT symbol, close\nFROM prices\nORDER BY date", dialect) == ()


@pytest.mark.parametrize(
    "sql",
    [
        "WITH r AS (SELECT 1 AS x) SELECT x FROM r",
        "SELECT 1 UNION ALL SELECT 2",
        "VALUES (1), (2)",
        "(SELECT 1)",
        "SELECT 1;",
        "SELECT 1;  \n",
    ],
)
def test_analyze_accepts_read_only_statement_shapes(sql: str, dialect: str) -> None:
    assert analyze(sql, dialect) == ()


@pytest.mark.parametrize(
    ("sql", "line"),
    [
        ("SELECT 1; SELECT 2", 1),
        ("SELECT 1;\nSELECT 2", 2),
        ("SELECT 1\n;\n\nDROP TABLE prices", 4),
        ("SELECT 1;\n-- harmless?\nSELECT 2;", 3),
    ],
)
def test_analyze_rejects_second_statement_at_its_line(sql: str, line: int, dialect: str) -> None:
    problem = rejection(sql, dialect)

    assert problem.line == line
    assert "only one SQL statement" in problem.message


@pytest.mark.parametrize("sql", ["", "   \n", "-- nothing here\n", "/* nor here */"])
def test_analyze_rejects_file_without_statement(sql: str, dialect: str) -> None:
    assert "no SQL statement" in rejection(sql, dialect).message


def test_analyze_reports_syntax_error_at_its_line(dialect: str) -> None:
    problem = rejection("SELECT a,\n  b\nFROM t\nWHERE (a = 1", dialect)

    assert problem.message.startswith("SQL syntax error")
    assert problem.line == 4


# -- read-only only ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "line", "word"),
    [
        ("INSERT INTO t VALUES (1)", 1, "INSERT"),
        ("\n\nINSERT INTO t VALUES (1)", 3, "INSERT"),
        ("UPDATE t SET a = 1", 1, "UPDATE"),
        ("-- clean up\nDELETE FROM t", 2, "DELETE"),
        ("DROP TABLE t", 1, "DROP"),
        ("CREATE TABLE t (a int)", 1, "CREATE"),
        ("COPY t TO '/tmp/out.csv'", 1, "COPY"),
        ("SET search_path = evil", 1, "SET"),
        ("PRAGMA journal_mode = WAL", 1, "PRAGMA"),
        ("VACUUM", 1, "VACUUM"),
        ("EXPLAIN ANALYZE DELETE FROM t", 1, "EXPLAIN"),
    ],
)
def test_analyze_rejects_write_or_session_statement_at_its_line(
    sql: str, line: int, word: str, dialect: str
) -> None:
    problem = rejection(sql, dialect)

    assert problem.line == line
    assert word in problem.message


def test_analyze_rejects_attach_on_sqlite_naming_it() -> None:
    problem = rejection("ATTACH DATABASE '/tmp/other.db' AS other", "sqlite")

    assert problem.line == 1
    assert "ATTACH" in problem.message


def test_analyze_rejects_attach_on_postgres() -> None:
    assert rejection("ATTACH DATABASE '/tmp/other.db' AS other", "postgres").line == 1


def test_analyze_rejects_data_modifying_cte_at_line_of_the_write(dialect: str) -> None:
    sql = "WITH d AS (\n  SELECT 1\n), gone AS (\n  DELETE FROM t RETURNING *\n)\nSELECT * FROM gone"

    problem = rejection(sql, dialect)

    assert problem.line == 4
    assert "DELETE is not allowed" in problem.message


def test_analyze_rejects_one_line_data_modifying_cte(dialect: str) -> None:
    problem = rejection("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", dialect)

    assert problem.line == 1
    assert "DELETE" in problem.message


@pytest.mark.parametrize("write", ["INSERT INTO t VALUES (1) RETURNING *", "UPDATE t SET a = 2 RETURNING *"])
def test_analyze_rejects_insert_or_update_hidden_in_cte(write: str) -> None:
    problem = rejection(f"WITH w AS (\n{write}\n) SELECT * FROM w", "postgres")

    assert problem.line == 2


def test_analyze_rejects_select_into_at_line_of_into(dialect: str) -> None:
    problem = rejection("SELECT *\nINTO backup\nFROM prices", dialect)

    assert problem.line == 2
    assert "INTO" in problem.message


@pytest.mark.parametrize(
    ("clause", "kind"),
    [("FOR UPDATE", "FOR UPDATE"), ("FOR NO KEY UPDATE", "FOR UPDATE"), ("FOR SHARE", "FOR SHARE")],
)
def test_analyze_rejects_locking_clause_at_its_line(clause: str, kind: str, dialect: str) -> None:
    problem = rejection(f"SELECT *\nFROM prices\n{clause}", dialect)

    assert problem.line == 3
    assert kind in problem.message


def test_analyze_rejects_locking_clause_inside_subquery(dialect: str) -> None:
    problem = rejection("SELECT *\nFROM (SELECT * FROM t\n  FOR UPDATE) s", dialect)

    assert problem.line == 3


@pytest.mark.parametrize(
    "call",
    [
        "set_config('role', 'admin', false)",
        "nextval('seq')",
        "setval('seq', 1)",
        "pg_terminate_backend(42)",
        "pg_read_file('/etc/passwd')",
        "load_extension('evil.so')",
        "SET_CONFIG('role', 'admin', false)",
        "pg_catalog.set_config('role', 'admin', false)",
        "\"set_config\"('role', 'admin', false)",
    ],
)
def test_analyze_rejects_denied_function_at_its_line(call: str, dialect: str) -> None:
    problem = rejection(f"SELECT 1 AS a,\n\n  {call} AS b", dialect)

    assert problem.line == 3
    assert "is not allowed" in problem.message


def test_analyze_rejects_denied_function_nested_in_expression(dialect: str) -> None:
    problem = rejection("SELECT 1\nUNION ALL\nSELECT coalesce(nextval('s'), 0)", dialect)

    assert problem.line == 3
    assert "nextval()" in problem.message


def test_analyze_ignores_keyword_in_string_when_locating_error(dialect: str) -> None:
    sql = "SELECT 'nextval' AS label,\n  'delete' AS other,\n  nextval('s')"

    assert rejection(sql, dialect).line == 3


def test_analyze_accepts_denied_function_name_inside_string(dialect: str) -> None:
    assert analyze("SELECT 'set_config(1)' AS s, 'DELETE FROM t' AS d", dialect) == ()


# -- placeholders --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT '10:30' AS t",
        "SELECT x::int FROM t",
        "SELECT '{\"a\": 1}'::jsonb AS j",
        "SELECT '::jsonb' AS s",
        "SELECT 1 -- :x\n",
        "SELECT /* :x */ 1",
        'SELECT 1 AS "a:b"',
        "SELECT '''' || ':x' AS s",
    ],
)
def test_analyze_finds_no_placeholder_in_lookalikes(sql: str, dialect: str) -> None:
    assert analyze(sql, dialect) == ()


def test_analyze_finds_real_placeholders_among_lookalikes(dialect: str) -> None:
    sql = "SELECT '10:30' AS t, x::int, '::jsonb' AS s, :real -- :fake\n/* :also_fake */ FROM t"

    found = analyze(sql, dialect)

    assert [p.name for p in found] == ["real"]


def test_analyze_returns_placeholders_in_text_order_with_lines_and_offsets(dialect: str) -> None:
    sql = "SELECT :a,\n  :b_2\nFROM t\nWHERE c = :a"

    found = analyze(sql, dialect)

    assert [(p.name, p.line) for p in found] == [("a", 1), ("b_2", 2), ("a", 4)]
    for p in found:
        assert sql[p.start : p.end] == f":{p.name}"


def test_analyze_finds_placeholder_followed_by_cast(dialect: str) -> None:
    found = analyze("SELECT :n::int + CAST(:m AS int)", dialect)

    assert [p.name for p in found] == ["n", "m"]


def test_analyze_marks_in_list_span_only_for_sole_item(dialect: str) -> None:
    sql = "SELECT 1 FROM t WHERE a IN (:one) AND b NOT IN ( :two ) AND c IN (:x, :y)"

    spans = {p.name: p.in_list for p in analyze(sql, dialect)}

    one, two = spans["one"], spans["two"]
    assert one is not None and sql[one[0] : one[1]] == "IN (:one)"
    assert two is not None and sql[two[0] : two[1]] == "NOT IN ( :two )"
    assert spans["x"] is None and spans["y"] is None


@pytest.mark.parametrize(
    ("sql", "line"),
    [
        ("SELECT *\nFROM t\nWHERE a = ?", 3),
        ("SELECT *\nFROM t\nWHERE a = $1", 3),
        ("SELECT *\nFROM t\nWHERE a = @x", 3),
    ],
)
def test_analyze_rejects_positional_or_at_parameters_at_their_line(sql: str, line: int, dialect: str) -> None:
    problem = rejection(sql, dialect)

    assert problem.line == line
    assert "named :placeholders" in problem.message


# -- compilation ---------------------------------------------------------------------------------


def test_compile_numbers_placeholders_by_first_appearance_on_postgres() -> None:
    assert compiled("SELECT :b, :a, :b", "postgres") == ("SELECT $1, $2, $1", ("b", "a"))


def test_compile_numbers_placeholders_by_first_appearance_on_sqlite() -> None:
    assert compiled("SELECT :b, :a, :b", "sqlite") == ("SELECT ?1, ?2, ?1", ("b", "a"))


def test_compile_leaves_every_other_byte_unchanged(dialect: str) -> None:
    sql = (
        "select  '10:30'  as T,\tx::int, '::jsonb' as j,\n"
        '  :v AS "Value"  -- :not_me\n'
        "/* :nor_me */ from t where y=:v"
    )
    marker = "$1" if dialect == "postgres" else "?1"

    text, order = compiled(sql, dialect)

    assert text == sql.replace(":v", marker)
    assert order == ("v",)


def test_compile_strips_trailing_semicolon_and_whitespace(dialect: str) -> None:
    text, _ = compiled("SELECT :a\n;\n\n", dialect)

    assert text == ("SELECT $1" if dialect == "postgres" else "SELECT ?1")


def test_compile_rewrites_multi_select_in_list_as_array_on_postgres() -> None:
    sql = "SELECT * FROM t WHERE a IN (:p) AND b NOT IN (:q) AND c = :r"

    text, order = compiled(sql, "postgres", frozenset({"p", "q"}))

    assert text == "SELECT * FROM t WHERE a = ANY($1) AND b <> ALL($2) AND c = $3"
    assert order == ("p", "q", "r")


def test_compile_rewrites_multi_select_in_list_as_json_each_on_sqlite() -> None:
    sql = "SELECT * FROM t WHERE a IN (:p) AND b NOT IN (:q) AND c = :r"

    text, order = compiled(sql, "sqlite", frozenset({"p", "q"}))

    assert text == (
        "SELECT * FROM t WHERE a IN (SELECT value FROM json_each(?1))"
        " AND b NOT IN (SELECT value FROM json_each(?2)) AND c = ?3"
    )
    assert order == ("p", "q", "r")


def test_compile_rewrites_lowercase_spaced_not_in(dialect: str) -> None:
    text, _ = compiled("SELECT 1 FROM t WHERE a  not  in  (  :p  ) ORDER BY a", dialect, frozenset({"p"}))

    expected = "<> ALL($1)" if dialect == "postgres" else "NOT IN (SELECT value FROM json_each(?1))"
    assert text == f"SELECT 1 FROM t WHERE a  {expected} ORDER BY a"


def test_compile_reuses_number_of_repeated_multi_select(dialect: str) -> None:
    text, order = compiled("SELECT 1 FROM t WHERE a IN (:p) OR b IN (:p)", dialect, frozenset({"p"}))

    assert order == ("p",)
    marker = "$1" if dialect == "postgres" else "?1"
    assert text.count(marker) == 2


def test_compile_keeps_in_list_of_single_valued_param(dialect: str) -> None:
    text, _ = compiled("SELECT 1 FROM t WHERE a IN (:p)", dialect)

    assert text == (
        "SELECT 1 FROM t WHERE a IN ($1)" if dialect == "postgres" else "SELECT 1 FROM t WHERE a IN (?1)"
    )


def test_compile_keeps_multi_select_outside_sole_in_list_as_plain_marker(dialect: str) -> None:
    text, _ = compiled("SELECT 1 FROM t WHERE a IN (:p, :q)", dialect, frozenset({"p"}))

    assert "ANY" not in text and "json_each" not in text


# A prefix keeps generated names clear of SQL keywords, which sqlglot cannot parse as `:from`.
_NAMES = st.from_regex(r"p_[a-zA-Z0-9_]{0,8}", fullmatch=True)


@given(st.lists(_NAMES, min_size=1, max_size=8))
def test_compile_numbering_matches_first_appearance_for_any_names(names: list[str]) -> None:
    sql = "SELECT " + ", ".join(f":{n}" for n in names)

    text, order = compiled(sql, "postgres")

    expected_order = tuple(dict.fromkeys(names))
    assert order == expected_order
    assert re.findall(r"\$(\d+)", text) == [str(expected_order.index(n) + 1) for n in names]
    assert re.sub(r"\$\d+", "", text) == re.sub(r":\w+", "", sql)
