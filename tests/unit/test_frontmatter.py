"""Splitting a query file never loses a line: the YAML front-matter comes back as data with the file
line of every key and list item, the SQL comes back byte for byte with the file line it starts on,
and every malformed block is a FrontMatterSyntaxError pointing at the offending line."""

from __future__ import annotations

import pytest

from gateway.catalog.frontmatter import FrontMatterSyntaxError, line_of, split_query_file


def line_no(text: str, needle: str) -> int:
    """1-based line of the only line of ``text`` containing ``needle``."""
    hits = [i for i, line in enumerate(text.split("\n"), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


WIDGET = """/*
---
name: Daily prices
category: Equity
params:
  - paramName: ticker
    type: text
    value: AAPL
  - paramName: start
    type: date
data:
  table:
    columnsDefs:
      - {field: close, cellDataType: number}
---
*/
SELECT close
FROM prices
WHERE symbol = :ticker AND date >= :start
"""


def test_split_returns_whole_text_as_sql_when_file_has_no_comment() -> None:
    text = "SELECT 1\nFROM t\n"

    split = split_query_file(text)

    assert split.meta == {}
    assert split.lines == {}
    assert split.sql == text
    assert (split.sql_line, split.meta_line) == (1, 1)


def test_split_treats_leading_comment_without_fences_as_sql() -> None:
    text = "/* Prices of one ticker.\n   Author: ops */\nSELECT 1\n"

    split = split_query_file(text)

    assert split.meta == {}
    assert split.sql == text
    assert split.sql_line == 1


def test_split_treats_comment_with_dashes_inside_text_as_sql_when_no_fence_line() -> None:
    text = "/* a --- b */\nSELECT 1"

    split = split_query_file(text)

    assert split.meta == {}
    assert split.sql == text


def test_split_parses_front_matter_into_plain_data() -> None:
    split = split_query_file(WIDGET)

    assert split.meta["name"] == "Daily prices"
    assert split.meta["params"] == [
        {"paramName": "ticker", "type": "text", "value": "AAPL"},
        {"paramName": "start", "type": "date"},
    ]
    assert split.meta["data"]["table"]["columnsDefs"] == [{"field": "close", "cellDataType": "number"}]


def test_split_returns_sql_after_comment_byte_for_byte() -> None:
    split = split_query_file(WIDGET)

    assert split.sql == WIDGET[WIDGET.index("*/") + 2 :]
    assert "paramName" not in split.sql


def test_split_sql_line_maps_every_sql_line_to_the_same_file_line() -> None:
    split = split_query_file(WIDGET)
    file_lines = WIDGET.split("\n")

    for k, sql_line in enumerate(split.sql.split("\n")):
        assert file_lines[split.sql_line - 1 + k].endswith(sql_line)
    assert split.sql_line == line_no(WIDGET, "*/")


def test_split_records_meta_line_at_opening_fence() -> None:
    text = "\n\n" + WIDGET

    assert split_query_file(text).meta_line == 4


def test_split_records_file_line_of_every_key() -> None:
    lines = split_query_file(WIDGET).lines

    assert lines[("name",)] == line_no(WIDGET, "name: Daily")
    assert lines[("category",)] == line_no(WIDGET, "category:")
    assert lines[("params",)] == line_no(WIDGET, "params:")
    assert lines[("data", "table", "columnsDefs")] == line_no(WIDGET, "columnsDefs:")


def test_split_records_file_line_of_list_items_and_their_keys() -> None:
    lines = split_query_file(WIDGET).lines

    assert lines[("params", 0)] == line_no(WIDGET, "paramName: ticker")
    assert lines[("params", 0, "value")] == line_no(WIDGET, "value: AAPL")
    assert lines[("params", 1)] == line_no(WIDGET, "paramName: start")
    assert lines[("params", 1, "type")] == line_no(WIDGET, "type: date")
    assert lines[("data", "table", "columnsDefs", 0, "cellDataType")] == line_no(WIDGET, "{field: close")


def test_split_line_numbers_shift_with_blank_lines_before_comment() -> None:
    shifted = "\n\n\n" + WIDGET

    lines = split_query_file(shifted).lines

    assert lines[("params", 1, "type")] == line_no(WIDGET, "type: date") + 3
    assert split_query_file(shifted).sql_line == line_no(WIDGET, "*/") + 3


def test_split_reads_crlf_files_with_the_same_lines() -> None:
    crlf = WIDGET.replace("\n", "\r\n")

    split = split_query_file(crlf)

    assert split.meta["name"] == "Daily prices"
    assert split.lines[("params", 1)] == line_no(WIDGET, "paramName: start")
    assert split.sql.startswith("\r\nSELECT close")


def test_split_returns_empty_meta_for_empty_front_matter() -> None:
    split = split_query_file("/*\n---\n---\n*/\nSELECT 1")

    assert split.meta == {}
    assert split.sql == "\nSELECT 1"
    assert split.sql_line == 4


@pytest.mark.parametrize("word", ["NO", "no", "on", "On", "off", "yes", "Yes", "y", "n", "OFF"])
def test_split_keeps_yaml11_boolean_words_as_strings(word: str) -> None:
    split = split_query_file(f"/*\n---\nticker: {word}\n---\n*/\nSELECT 1")

    assert split.meta == {"ticker": word}


@pytest.mark.parametrize(
    ("word", "expected"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("FALSE", False)],
)
def test_split_reads_yaml12_booleans_as_bools(word: str, expected: bool) -> None:
    split = split_query_file(f"/*\n---\nflag: {word}\n---\n*/\nSELECT 1")

    assert split.meta["flag"] is expected


@pytest.mark.parametrize("value", ["2024-01-02", "2025-02-30", "2024-01-02 10:00:00"])
def test_split_keeps_date_like_values_as_strings(value: str) -> None:
    split = split_query_file(f"/*\n---\nvalue: {value}\n---\n*/\nSELECT 1")

    assert split.meta == {"value": value}


def test_split_keeps_numbers_and_null_typed() -> None:
    split = split_query_file("/*\n---\na: 10\nb: 1.5\nc: null\nd: '10'\n---\n*/\nSELECT 1")

    assert split.meta == {"a": 10, "b": 1.5, "c": None, "d": "10"}


def test_split_rejects_yaml_syntax_error_at_its_line() -> None:
    text = "/*\n---\nname: a\ncategory: b\n  oops: c\n---\n*/\nSELECT 1"

    with pytest.raises(FrontMatterSyntaxError) as info:
        split_query_file(text)

    assert info.value.line == line_no(text, "oops")
    assert "invalid YAML" in info.value.message


def test_split_rejects_tab_indentation_at_its_line() -> None:
    text = "/*\n---\nname: a\n\tcategory: b\n---\n*/\nSELECT 1"

    with pytest.raises(FrontMatterSyntaxError) as info:
        split_query_file(text)

    assert info.value.line == line_no(text, "\tcategory")


def test_split_rejects_duplicate_top_level_key_at_second_occurrence() -> None:
    text = "/*\n---\nname: a\ncategory: x\nname: b\n---\n*/\nSELECT 1"

    with pytest.raises(FrontMatterSyntaxError) as info:
        split_query_file(text)

    assert info.value.line == line_no(text, "name: b")
    assert "duplicate key 'name'" in info.value.message


def test_split_rejects_duplicate_key_inside_list_item_at_its_line() -> None:
    text = "/*\n---\nparams:\n  - paramName: a\n    type: text\n    paramName: b\n---\n*/\nSELECT 1"

    with pytest.raises(FrontMatterSyntaxError) as info:
        split_query_file(text)

    assert info.value.line == line_no(text, "paramName: b")
    assert "paramName" in info.value.message


def test_split_allows_same_key_in_different_list_items() -> None:
    text = "/*\n---\nparams:\n  - paramName: a\n  - paramName: b\n---\n*/\nSELECT 1"

    assert split_query_file(text).meta["params"] == [{"paramName": "a"}, {"paramName": "b"}]


def test_split_rejects_front_matter_that_is_not_a_mapping() -> None:
    text = "/*\n---\n- a\n- b\n---\n*/\nSELECT 1"

    with pytest.raises(FrontMatterSyntaxError) as info:
        split_query_file(text)

    assert info.value.line == 3
    assert "mapping" in info.value.message


def test_split_rejects_missing_closing_fence_at_opening_fence() -> None:
    text = "/*\n\n---\nname: a\n*/\nSELECT 1"

    with pytest.raises(FrontMatterSyntaxError) as info:
        split_query_file(text)

    assert info.value.line == 3
    assert "closing '---'" in info.value.message


def test_split_rejects_unclosed_comment_at_its_opening_line() -> None:
    text = "\n\n/*\n---\nname: a\n---\nSELECT 1"

    with pytest.raises(FrontMatterSyntaxError) as info:
        split_query_file(text)

    assert info.value.line == 3
    assert "unclosed" in info.value.message


def test_split_rejects_text_before_opening_fence_at_that_text() -> None:
    text = "/*\nWidget notes\n---\nname: a\n---\n*/\nSELECT 1"

    with pytest.raises(FrontMatterSyntaxError) as info:
        split_query_file(text)

    assert info.value.line == line_no(text, "Widget notes")


@pytest.mark.parametrize("tagged", ["!!int abc", "!!float x", "!!timestamp 2025-02-30", "!!timestamp soon"])
def test_split_rejects_explicit_tag_with_bad_value_as_syntax_error(tagged: str) -> None:
    text = f"/*\n---\nname: a\nvalue: {tagged}\n---\n*/\nSELECT 1"

    with pytest.raises(FrontMatterSyntaxError) as info:
        split_query_file(text)

    assert info.value.message.startswith("invalid YAML")


def test_split_refuses_python_object_tags() -> None:
    text = "/*\n---\nname: !!python/object/apply:os.system ['true']\n---\n*/\nSELECT 1"

    with pytest.raises(FrontMatterSyntaxError) as info:
        split_query_file(text)

    assert info.value.line == 3


def test_split_rejects_recursive_alias_instead_of_recursing_forever() -> None:
    text = "/*\n---\nname: a\nloop: &x [*x]\n---\n*/\nSELECT 1"

    with pytest.raises(FrontMatterSyntaxError) as info:
        split_query_file(text)

    assert info.value.line == line_no(text, "loop")
    assert "recursive" in info.value.message


def test_split_accepts_shared_alias_and_points_it_at_its_anchor() -> None:
    text = "/*\n---\nbase: &b {w: 10, h: 5}\nother: *b\n---\n*/\nSELECT 1"

    split = split_query_file(text)

    assert split.meta["other"] == {"w": 10, "h": 5}
    assert split.lines[("other",)] == line_no(text, "other:")


def test_line_of_falls_back_to_nearest_recorded_ancestor() -> None:
    lines = split_query_file(WIDGET).lines

    assert line_of(lines, ("params", 0, "options", 3), 99) == line_no(WIDGET, "paramName: ticker")
    assert line_of(lines, ("nothing", "here"), 99) == lines[()]
    assert line_of({}, ("x",), 99) == 99
