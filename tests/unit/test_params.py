"""Query-string text becomes typed bind values before any database work: each declared param is parsed
by its type, defaults and ``$currentDate`` shortcuts are resolved against an injected clock, and every
bad param is listed in one InvalidParameters. Equal values always give equal cache keys, and
different values never share one."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.catalog import load_catalog
from gateway.catalog.spec import QuerySpec
from gateway.errors import InvalidParameters
from gateway.params import MAX_QUERY_FIELDS, ParamLimits, cache_key_part, parse_params, split_query_string

NOW = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
LIMITS = ParamLimits()


def load_spec(root: Path, front_matter: str, sql: str) -> QuerySpec:
    body = textwrap.dedent(front_matter).strip("\n")
    (root / "q.sql").write_text(f"/*\n---\n{body}\n---\n*/\n{sql}\n", encoding="utf-8")
    spec = load_catalog(root, {"default": "sqlite"}).get("q")
    assert spec is not None
    return spec


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> QuerySpec:
    """One param of each type, all optional, plus a required number and a static-options text."""
    return load_spec(
        tmp_path_factory.mktemp("typed"),
        """
        params:
          - {paramName: n, type: number, required: false}
          - {paramName: b, type: boolean, required: false}
          - {paramName: d, type: date, required: false}
          - {paramName: t, type: text, required: false}
          - {paramName: k, type: ticker, required: false}
          - {paramName: m, type: text, multiSelect: true, required: false}
          - {paramName: mn, type: number, multiSelect: true, required: false}
          - {paramName: o, type: text, value: a, options: [{value: a}, {value: b}]}
          - {paramName: r, type: number}
          - {paramName: side, type: text, value: x, passThrough: true}
        """,
        "SELECT :n, :b, :d, :t, :k, :o, :r WHERE 1 IN (:m) AND 2 IN (:mn)",
    )


@pytest.fixture(scope="module")
def defaults_spec(tmp_path_factory: pytest.TempPathFactory) -> QuerySpec:
    return load_spec(
        tmp_path_factory.mktemp("defaults"),
        """
        params:
          - {paramName: since, type: date, value: $currentDate-1M}
          - {paramName: until, type: date, value: $currentDate}
          - {paramName: fixed, type: date, value: 2024-01-15}
          - {paramName: top, type: number, value: 10}
          - {paramName: up, type: boolean, value: true}
          - {paramName: pick, type: text, multiSelect: true, value: 'b,a,b'}
          - {paramName: exchange, type: text, value: ''}
        """,
        "SELECT :since, :until, :fixed, :top, :up, :exchange WHERE 1 IN (:pick)",
    )


def parse(spec: QuerySpec, query: dict[str, list[str]], **kwargs: Any) -> dict[str, Any]:
    query = {"r": ["1"], **query}
    return parse_params(
        spec, query, now=kwargs.pop("now", NOW), limits=kwargs.pop("limits", LIMITS), **kwargs
    )


def one(spec: QuerySpec, name: str, raw: str, **kwargs: Any) -> Any:
    return parse(spec, {name: [raw]}, **kwargs)[name]


def bad(spec: QuerySpec, query: dict[str, list[str]], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(InvalidParameters) as info:
        parse(spec, query, **kwargs)
    assert info.value.status == 422
    return {e.param: e.message for e in info.value.errors}


# -- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("42", 42), ("-7", -7), ("+5", 5), (" 2 ", 2), ("007", 7), ("-0", 0)],
)
def test_parse_number_returns_int_for_integer_text(spec: QuerySpec, raw: str, expected: int) -> None:
    value = one(spec, "n", raw)

    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(("raw", "expected"), [("1.5", 1.5), (".5", 0.5), ("-2.", -2.0), ("1e3", 1000.0)])
def test_parse_number_returns_float_for_decimal_text(spec: QuerySpec, raw: str, expected: float) -> None:
    value = one(spec, "n", raw)

    assert value == expected
    assert type(value) is float


@pytest.mark.parametrize("raw", [str(2**63 - 1), str(-(2**63))])
def test_parse_number_accepts_int8_bounds(spec: QuerySpec, raw: str) -> None:
    assert one(spec, "n", raw) == int(raw)


@pytest.mark.parametrize("raw", [str(2**63), str(-(2**63) - 1), "99999999999999999999", "9" * 5000])
def test_parse_number_rejects_integer_beyond_int8(spec: QuerySpec, raw: str) -> None:
    assert "out of range for a 64-bit integer" in bad(spec, {"n": [raw]})["n"]


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400"])
def test_parse_number_rejects_non_finite(spec: QuerySpec, raw: str) -> None:
    assert "n" in bad(spec, {"n": [raw]})


@pytest.mark.parametrize("raw", ["abc", "1_000", "0x10", "1,5", "1 2", "١٢", "--1", "1e", "."])
def test_parse_number_rejects_non_numeric_text(spec: QuerySpec, raw: str) -> None:
    assert "is not a number" in bad(spec, {"n": [raw]})["n"]


# -- booleans ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("false", False), ("1", True), ("0", False), ("TRUE", True), (" False ", False)],
)
def test_parse_boolean_reads_true_false_and_digits(spec: QuerySpec, raw: str, expected: bool) -> None:
    assert one(spec, "b", raw) is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "-1"])
def test_parse_boolean_rejects_other_words(spec: QuerySpec, raw: str) -> None:
    assert "is not a boolean" in bad(spec, {"b": [raw]})["b"]


# -- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-02-29", date(2024, 2, 29)),
        ("1999-12-31", date(1999, 12, 31)),
        ("2024-01-02T10:00:00", date(2024, 1, 2)),
        ("2024-01-02 23:59:59", date(2024, 1, 2)),
    ],
)
def test_parse_date_reads_iso_dates(spec: QuerySpec, raw: str, expected: date) -> None:
    assert one(spec, "d", raw) == expected


@pytest.mark.parametrize("raw", ["2025-02-30", "2023-02-29", "2024-13-01", "2024-00-10"])
def test_parse_date_rejects_impossible_calendar_dates(spec: QuerySpec, raw: str) -> None:
    assert "not a valid calendar date" in bad(spec, {"d": [raw]})["d"]


@pytest.mark.parametrize(
    "raw", ["20240101", "01/02/2024", "2024-1-2", "today", "$currentDate-1m", "$currentDate1d"]
)
def test_parse_date_rejects_other_formats(spec: QuerySpec, raw: str) -> None:
    assert "is not a date" in bad(spec, {"d": [raw]})["d"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$currentDate", date(2024, 3, 31)),
        ("$currentDate+1d", date(2024, 4, 1)),
        ("$currentDate-30d", date(2024, 3, 1)),
        ("$currentDate-2w", date(2024, 3, 17)),
        ("$currentDate+1w", date(2024, 4, 7)),
        ("$currentDate-13h", date(2024, 3, 30)),
        ("$currentDate+11h", date(2024, 3, 31)),
        ("$currentDate+12h", date(2024, 4, 1)),
        ("$currentDate-1M", date(2024, 2, 29)),
        ("$currentDate+1M", date(2024, 4, 30)),
        ("$currentDate-13M", date(2023, 2, 28)),
        ("$currentDate-12M", date(2023, 3, 31)),
        ("$currentDate-1y", date(2023, 3, 31)),
        ("$currentDate+10y", date(2034, 3, 31)),
    ],
)
def test_parse_date_resolves_shortcut_against_injected_now(spec: QuerySpec, raw: str, expected: date) -> None:
    assert one(spec, "d", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$currentDate-1y", date(2023, 2, 28)),
        ("$currentDate+4y", date(2028, 2, 29)),
        ("$currentDate+1M", date(2024, 3, 29)),
    ],
)
def test_parse_date_clamps_shortcut_from_leap_day(spec: QuerySpec, raw: str, expected: date) -> None:
    leap_day = datetime(2024, 2, 29, 8, 0, tzinfo=UTC)

    assert one(spec, "d", raw, now=leap_day) == expected


def test_parse_date_shortcut_crosses_year_boundary_backwards(spec: QuerySpec) -> None:
    new_year = datetime(2024, 1, 31, tzinfo=UTC)

    assert one(spec, "d", "$currentDate-2M", now=new_year) == date(2023, 11, 30)


# -- text and tickers ----------------------------------------------------------------------------


def test_parse_text_keeps_value_verbatim(spec: QuerySpec) -> None:
    assert one(spec, "t", "  ' OR 1=1 -- ") == "  ' OR 1=1 -- "


def test_parse_ticker_strips_and_uppercases(spec: QuerySpec) -> None:
    assert one(spec, "k", " brk.b ") == "BRK.B"


@pytest.mark.parametrize("name", ["t", "n", "d", "b", "k"])
def test_parse_rejects_nul_byte_in_any_type(spec: QuerySpec, name: str) -> None:
    assert "NUL" in bad(spec, {name: ["1\x002"]})[name]


def test_parse_text_enforces_max_param_length(spec: QuerySpec) -> None:
    limits = ParamLimits(max_param_length=5)

    assert one(spec, "t", "abcde", limits=limits) == "abcde"
    assert "longer than 5" in bad(spec, {"t": ["abcdef"]}, limits=limits)["t"]


# -- defaults, empty values, required ------------------------------------------------------------


def test_parse_applies_defaults_when_params_are_absent(defaults_spec: QuerySpec) -> None:
    values = parse_params(defaults_spec, {}, now=NOW, limits=LIMITS)

    assert values == {
        "since": date(2024, 2, 29),
        "until": date(2024, 3, 31),
        "fixed": date(2024, 1, 15),
        "top": 10,
        "up": True,
        "pick": ["a", "b"],
        "exchange": "",
    }


def test_parse_resolves_default_shortcut_at_request_time(defaults_spec: QuerySpec) -> None:
    later = datetime(2025, 7, 15, tzinfo=UTC)

    values = parse_params(defaults_spec, {}, now=later, limits=LIMITS)

    assert (values["since"], values["until"]) == (date(2025, 6, 15), date(2025, 7, 15))


def test_parse_treats_empty_value_as_not_set(defaults_spec: QuerySpec) -> None:
    values = parse_params(defaults_spec, {"top": [""], "since": ["  "], "pick": [""]}, now=NOW, limits=LIMITS)

    assert (values["top"], values["since"], values["pick"]) == (10, date(2024, 2, 29), ["a", "b"])


def test_parse_binds_none_for_empty_optional_param(spec: QuerySpec) -> None:
    values = parse(spec, {"n": [""], "t": [""]})

    assert (values["n"], values["t"], values["m"]) == (None, None, [])


def test_parse_overrides_default_with_given_value(defaults_spec: QuerySpec) -> None:
    values = parse_params(defaults_spec, {"top": ["3"], "up": ["false"]}, now=NOW, limits=LIMITS)

    assert (values["top"], values["up"]) == (3, False)


@pytest.mark.parametrize("query", [{}, {"r": [""]}, {"r": ["  "]}])
def test_parse_rejects_missing_required_param(spec: QuerySpec, query: dict[str, list[str]]) -> None:
    with pytest.raises(InvalidParameters) as info:
        parse_params(spec, query, now=NOW, limits=LIMITS)

    assert [(e.param, e.message) for e in info.value.errors] == [("r", "r is required")]


# -- static options ------------------------------------------------------------------------------


def test_parse_accepts_value_among_static_options(spec: QuerySpec) -> None:
    assert one(spec, "o", "b") == "b"


def test_parse_rejects_value_outside_static_options(spec: QuerySpec) -> None:
    assert "must be one of the options" in bad(spec, {"o": ["c"]})["o"]


def test_parse_rejects_multi_select_item_outside_static_options(tmp_path: Path) -> None:
    multi = load_spec(
        tmp_path,
        "params:\n  - {paramName: s, multiSelect: true, value: a, options: [{value: a}, {value: b}]}",
        "SELECT 1 WHERE 1 IN (:s)",
    )

    assert parse_params(multi, {"s": ["b,a"]}, now=NOW, limits=LIMITS) == {"s": ["a", "b"]}
    with pytest.raises(InvalidParameters) as info:
        parse_params(multi, {"s": ["a,zzz"]}, now=NOW, limits=LIMITS)
    assert [e.param for e in info.value.errors] == ["s"]


# -- multi-select --------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [["b,a,b"], ["b", "a", "b"], ["b,a", "b"], ["a", "", "b,,"], [",b,a,"]])
def test_parse_multi_select_gives_sorted_unique_list_from_any_shape(spec: QuerySpec, raw: list[str]) -> None:
    assert parse(spec, {"m": raw})["m"] == ["a", "b"]


def test_parse_multi_select_numbers_sort_numerically(spec: QuerySpec) -> None:
    assert parse(spec, {"mn": ["10,9,100,-1"]})["mn"] == [-1, 9, 10, 100]


@pytest.mark.parametrize("raw", ["1,1.0,2", "1.0,1,2", "2,1.0,1"])
def test_parse_multi_select_equal_numbers_give_same_list_in_any_order(spec: QuerySpec, raw: str) -> None:
    values = parse(spec, {"mn": [raw]})["mn"]

    assert values == [1, 2]
    assert [type(v) for v in values] == [int, int]


def test_parse_multi_select_enforces_max_list_items(spec: QuerySpec) -> None:
    limits = ParamLimits(max_list_items=3)

    assert parse(spec, {"m": ["a,b,c"]}, limits=limits)["m"] == ["a", "b", "c"]
    assert "at most 3" in bad(spec, {"m": ["a,b", "c,d"]}, limits=limits)["m"]


def test_parse_multi_select_reports_bad_item(spec: QuerySpec) -> None:
    assert "is not a number" in bad(spec, {"mn": ["1,two,3"]})["mn"]


def test_parse_rejects_single_param_repeated_with_different_values(spec: QuerySpec) -> None:
    assert "more than once" in bad(spec, {"t": ["a", "b"]})["t"]


def test_parse_accepts_single_param_repeated_with_same_value(spec: QuerySpec) -> None:
    assert parse(spec, {"t": ["a", "a"]})["t"] == "a"


# -- all problems at once ------------------------------------------------------------------------


def test_parse_lists_every_bad_param_in_one_error(spec: QuerySpec) -> None:
    query = {"n": ["x"], "b": ["maybe"], "d": ["2025-02-30"], "o": ["c"], "t": ["1", "2"], "k": ["ok"]}

    with pytest.raises(InvalidParameters) as info:
        parse_params(spec, query, now=NOW, limits=LIMITS)

    errors = info.value.errors
    assert [e.param for e in errors] == ["n", "b", "d", "t", "o", "r"]
    assert all(e.message.startswith(f"{e.param} ") for e in errors)
    assert info.value.message == "6 invalid parameters: n, b, d, t, o, r"


def test_parse_ignores_unknown_keys(spec: QuerySpec) -> None:
    values = parse(spec, {"theme": ["dark"], "api_key": ["secret"], "zzz": ["\x00"]})

    assert "theme" not in values and "api_key" not in values and "zzz" not in values


def test_parse_leaves_out_pass_through_params_unless_asked(spec: QuerySpec) -> None:
    assert "side" not in parse(spec, {"side": ["y"]})
    assert parse(spec, {"side": ["y"]}, include_pass_through=True)["side"] == "y"


# -- split_query_string --------------------------------------------------------------------------


def test_split_query_string_keeps_repeated_keys_in_order() -> None:
    assert split_query_string(b"a=1&b=2&a=3") == {"a": ["1", "3"], "b": ["2"]}


def test_split_query_string_keeps_blank_values_and_decodes_escapes() -> None:
    assert split_query_string(b"a=&b&c=1+2&d=%C3%A9%2C%26") == {
        "a": [""],
        "b": [""],
        "c": ["1 2"],
        "d": ["é,&"],
    }


def test_invalid_utf8_in_declared_params_is_rejected_naming_each(spec: QuerySpec) -> None:
    query = split_query_string(b"r=1&t=%ff&k=%C3&n=1")
    with pytest.raises(InvalidParameters) as info:
        parse(spec, query)

    assert info.value.status == 422
    assert [e.param for e in info.value.errors] == ["t", "k"]
    assert "not valid UTF-8" in info.value.errors[0].message


def test_invalid_utf8_in_unknown_keys_is_ignored(spec: QuerySpec) -> None:
    query = split_query_string(b"r=1&theme=%ff&%ff=1")
    assert parse(spec, query)["r"] == 1


def test_split_query_string_rejects_too_many_fields() -> None:
    with pytest.raises(InvalidParameters) as info:
        split_query_string(b"&".join([b"k=1"] * (MAX_QUERY_FIELDS + 1)))

    assert info.value.status == 422
    assert [e.param for e in info.value.errors] == ["query"]


def test_split_query_string_accepts_exactly_max_fields() -> None:
    assert len(split_query_string(b"&".join([b"k=1"] * MAX_QUERY_FIELDS))["k"]) == MAX_QUERY_FIELDS


# -- cache keys ----------------------------------------------------------------------------------


def test_cache_key_part_ignores_key_order() -> None:
    assert cache_key_part({"a": 1, "b": "x"}) == cache_key_part({"b": "x", "a": 1})


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"a": "x&b=y", "b": "z"}, {"a": "x", "b": "y&b=z"}),
        ({"a": ["a\\", "b"]}, {"a": ["a,b"]}),
        ({"a": ["a,b"]}, {"a": "a,b"}),
        ({"a": None}, {"a": ""}),
        ({"a": None}, {"a": "None"}),
        ({"a": True}, {"a": "True"}),
        ({"a": 1}, {"a": "1"}),
        ({"a": []}, {"a": [""]}),
        ({"a": date(2024, 1, 1)}, {"a": "2024-01-01"}),
        ({"a": 1.5}, {"a": "1.5"}),
    ],
)
def test_cache_key_part_differs_for_values_that_print_alike(
    left: dict[str, Any], right: dict[str, Any]
) -> None:
    assert cache_key_part(left) != cache_key_part(right)


_TEXT = st.text(alphabet=st.sampled_from("ab,&=[]\\'\" é"), max_size=6)
_VALUES = st.dictionaries(
    st.sampled_from(["a", "b", "c"]),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5),
        st.floats(-2, 2, allow_nan=False).map(lambda f: round(f, 1) + 0.0),  # no -0.0
        _TEXT,
        st.dates(date(2024, 1, 1), date(2024, 1, 3)),
        st.lists(_TEXT, max_size=3),
    ),
    min_size=1,
)


@given(_VALUES, _VALUES)
def test_cache_key_part_is_equal_exactly_when_values_are_equal(
    left: dict[str, Any], right: dict[str, Any]
) -> None:
    def typed(values: dict[str, Any]) -> dict[str, Any]:  # True == 1 == 1.0 in Python, not in SQL
        return {k: (type(v), v) for k, v in values.items()}

    assert (cache_key_part(left) == cache_key_part(right)) == (typed(left) == typed(right))


@given(st.lists(st.sampled_from(["AAPL", "MSFT", "XOM", "a b", "é"]), min_size=1, max_size=6), st.randoms())
def test_cache_key_of_parsed_params_ignores_multi_select_and_key_order(
    spec: QuerySpec, items: list[str], rnd: Any
) -> None:
    shuffled = items[:]
    rnd.shuffle(shuffled)
    first = {"t": ["x"], "m": [",".join(items)], "n": ["2"]}
    second = {"n": ["2"], "m": shuffled, "t": ["x"]}

    key_one = cache_key_part(parse(spec, first))
    key_two = cache_key_part(parse(spec, dict(reversed(list(second.items())))))

    assert key_one == key_two


@given(
    st.lists(st.sampled_from(["AAPL", "MSFT", "XOM"]), min_size=1, max_size=3),
    st.sampled_from(["n", "t", "m"]),
)
def test_cache_key_of_parsed_params_changes_when_any_value_changes(
    spec: QuerySpec, items: list[str], changed: str
) -> None:
    base = {"t": ["x"], "m": [",".join(items)], "n": ["2"]}
    other = {**base, changed: {"n": ["3"], "t": ["y"], "m": [",".join([*items, "NEW"])]}[changed]}

    assert cache_key_part(parse(spec, base)) != cache_key_part(parse(spec, other))


# -- text round trip -----------------------------------------------------------------------------

_ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200).filter(
    lambda s: s.strip() != ""
)


@given(_ANY_TEXT)
def test_parse_text_round_trips_any_nul_free_text(spec: QuerySpec, text: str) -> None:
    assert one(spec, "t", text) == text


@given(_ANY_TEXT)
def test_text_survives_url_encoding_split_and_parse_unchanged(spec: QuerySpec, text: str) -> None:
    raw = urlencode({"r": "1", "t": text, "theme": "dark"}, quote_via=quote).encode("ascii")

    values = parse_params(spec, split_query_string(raw), now=NOW, limits=LIMITS)

    assert values["t"] == text
