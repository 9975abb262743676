"""Hostile input is a 4xx, never a 5xx (INJ-1..3, properties): whatever bytes, repeated keys or
unknown names a query string holds, a widget answers 200 or a 422 in the one error shape listing
only declared params, and any NUL-free text comes back from an echo widget unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Backend, make_settings
from tests.faults import (
    assert_error,
    leak_guard,  # noqa: F401  (autouse: no connection outlives a module)
    threaded_server,
)

EXAMPLES = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
TYPED = """/*
---
name: Typed
cache: false
params:
  - paramName: p
    type: text
    value: x
  - paramName: n
    type: number
    value: 1
  - paramName: d
    type: date
    value: $currentDate
  - paramName: b
    type: boolean
    value: true
  - paramName: m
    type: text
    multiSelect: true
    required: false
  - paramName: top
    type: number
    value: 3
---
*/
SELECT :p AS p, :n + 0 AS n, :d AS d, CASE WHEN :b THEN 1 ELSE 0 END AS b,
       (SELECT COUNT(*) FROM tickers WHERE symbol IN (:m)) AS m
FROM tickers
LIMIT :top
"""
ECHO = (
    "/*\n---\nname: Echo\ncache: false\nparams:\n  - paramName: v\n    type: text\n---\n*/\nSELECT :v AS v\n"
)
DECLARED = ("p", "n", "d", "b", "m", "top")

# Values that are the kind of thing a param wants, and then anything at all.
plausible = st.sampled_from(
    [
        "1", "-1", "0", "2.5", "1e308", "-1e400", "9223372036854775808", "NaN", "inf", "0x10",
        "2024-02-29", "2025-02-30", "2024-13-01", "0000-00-00", "$currentDate-1y", "$currentDate+5000y",
        "true", "false", "yes", "2", "", " ", "AAPL,MSFT", ",,,", "a" * 60, "'; DROP TABLE tickers; --",
    ]
)  # fmt: skip
raw_value = st.one_of(
    plausible.map(lambda s: quote(s, safe="")),
    st.text(max_size=30).map(lambda s: quote(s, safe="")),
    st.binary(max_size=30).map(lambda b: quote_from_bytes(b, safe="")),
)
names = st.one_of(st.sampled_from(DECLARED), st.sampled_from(["zz", "P", "_refresh", "theme", "n[]", ""]))
query_strings = st.lists(st.tuples(names, raw_value), max_size=8).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)


def check_answer(response: httpx.Response) -> None:
    assert response.status_code in (200, 422), (response.request.url, response.status_code, response.text)
    if response.status_code == 422:
        body = assert_error(response, 422, "invalid_parameter")
        listed = [e["param"] for e in body["errors"]]
        assert listed and set(listed) <= set(DECLARED), body
    else:
        assert isinstance(response.json(), list)


def test_any_query_string_is_answered_200_or_422_never_5xx(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"typed.sql": TYPED})
    with (
        threaded_server(make_settings(backend, queries_dir=queries, max_param_length=50)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):

        @EXAMPLES
        @given(query_strings)
        def property_(raw: str) -> None:
            check_answer(client.get(f"/sql/typed?{raw}"))

        property_()
        assert client.get("/sql/typed").status_code == 200  # and the app is still fine


def test_every_bad_param_of_a_request_is_listed_in_one_422(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"typed.sql": TYPED})
    bad = "p=%00&n=abc&d=2025-02-30&b=maybe&m=" + "x" * 51 + "&top=-1&top=2&zz=1"
    with (
        threaded_server(make_settings(backend, queries_dir=queries, max_param_length=50)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        body = assert_error(client.get(f"/sql/typed?{bad}"), 422, "invalid_parameter")
        assert sorted(e["param"] for e in body["errors"]) == sorted(DECLARED)


def test_an_echo_widget_returns_any_nul_free_text_unchanged(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"echo.sql": ECHO})
    with (
        threaded_server(make_settings(backend, queries_dir=queries)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):

        @EXAMPLES
        @given(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=200))
        def property_(text: str) -> None:
            response = client.get("/sql/echo", params={"v": text})
            if not text.strip():  # blank means "not set": the param is then missing
                assert_error(response, 422, "invalid_parameter")
                return
            assert response.status_code == 200, (text, response.text)
            assert response.json() == [{"v": text}]

        property_()


def test_a_whole_number_beyond_64_bits_is_422_not_an_overflow(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    # Found by schemathesis: LIMIT 1e236 reached sqlite3 as a Python int it cannot bind (500).
    queries = write_queries({"typed.sql": TYPED})
    with (
        threaded_server(make_settings(backend, queries_dir=queries)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        for top in ("1e300", "4.740878795695455e+236", "9223372036854775808"):
            body = assert_error(client.get("/sql/typed", params={"top": top}), 422, "invalid_parameter")
            assert [e["param"] for e in body["errors"]] == ["top"]
        assert client.get("/sql/typed", params={"top": "2"}).status_code == 200
