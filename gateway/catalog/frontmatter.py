"""Split a query file into YAML front-matter and SQL, keeping line numbers for error messages.

The front-matter lives in the file's first block comment, between two ``---`` lines::

    /*
    ---
    name: Daily prices
    ---
    */
    SELECT ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans only: ``NO`` (a ticker) or ``on`` stay strings, as users mean them.

    No YAML 1.1 timestamps either: ``2025-02-30`` stays a string that the loader reports with its
    line, instead of a ``ValueError`` escaping from the date constructor.
    """


_YAML11_ONLY = frozenset({"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"})
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class FrontMatterSyntaxError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


@dataclass(frozen=True, slots=True)
class SplitFile:
    meta: dict[str, Any]
    """Parsed front-matter (empty when the file has none)."""
    lines: dict[Path_, int]
    """1-based file line of every key and list item, by its path in ``meta``."""
    meta_line: int
    """Line of the opening ``---`` (1 when the file has no front-matter)."""
    sql: str
    """The SQL after the front-matter comment."""
    sql_line: int
    """File line on which ``sql`` starts (its line 1)."""


def split_query_file(text: str) -> SplitFile:
    """Separate the front-matter block comment from the SQL text."""
    stripped = text.lstrip()
    if not stripped.startswith("/*"):
        return SplitFile({}, {}, 1, text, 1)
    start = len(text) - len(stripped)
    end = text.find("*/", start)
    if end < 0:
        raise FrontMatterSyntaxError(text.count("\n", 0, start) + 1, "unclosed /* comment")
    comment = text[start + 2 : end]
    comment_line = text.count("\n", 0, start) + 1
    body = comment.split("\n")
    fences = [i for i, line in enumerate(body) if line.strip() == "---"]
    if not fences:
        # An ordinary leading comment: no front-matter, the whole file is SQL.
        return SplitFile({}, {}, 1, text, 1)
    if any(line.strip() for line in body[: fences[0]]):
        first_text = next(i for i, line in enumerate(body) if line.strip())
        raise FrontMatterSyntaxError(comment_line + first_text, "front-matter must start with a '---' line")
    if len(fences) < 2:
        message = "front-matter has no closing '---'"
        if body[-1].strip():  # text right before "*/": the comment ended inside the YAML
            message += (
                " (a '*/' inside it ends the comment early, e.g. the cron step '*/5': write '0-59/5' instead)"
            )
        raise FrontMatterSyntaxError(comment_line + fences[0], message)
    yaml_first_line = comment_line + fences[0] + 1
    yaml_text = "\n".join(body[fences[0] + 1 : fences[1]])
    meta, lines = _load_yaml(yaml_text, yaml_first_line)
    sql_start = end + 2
    return SplitFile(
        meta=meta,
        lines=lines,
        meta_line=comment_line + fences[0],
        sql=text[sql_start:],
        sql_line=text.count("\n", 0, sql_start) + 1,
    )


def _load_yaml(text: str, first_line: int) -> tuple[dict[str, Any], dict[Path_, int]]:
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        raise FrontMatterSyntaxError(line, f"invalid YAML: {exc.problem or exc}") from None
    except (ValueError, TypeError, AttributeError) as exc:  # unmarked constructor errors (`!!int x`)
        raise FrontMatterSyntaxError(first_line, f"invalid YAML value: {exc}") from None
    if node is None:
        return {}, {}
    if not isinstance(data, dict):
        raise FrontMatterSyntaxError(first_line, "front-matter must be a YAML mapping")
    lines: dict[Path_, int] = {}
    _record_lines(node, (), first_line, lines, frozenset(), set())
    return data, lines


def _record_lines(
    node: yaml.Node, path: Path_, offset: int, out: dict[Path_, int], above: frozenset[int], visited: set[int]
) -> None:
    out[path] = offset + node.start_mark.line
    if id(node) in above:  # `a: &x [*x]` would otherwise recurse forever
        raise FrontMatterSyntaxError(out[path], "recursive YAML alias")
    if id(node) in visited:  # an alias: its lines were recorded where its anchor is defined
        return
    visited.add(id(node))
    above = above | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise FrontMatterSyntaxError(offset + key_node.start_mark.line, f"duplicate key {key!r}")
            seen.add(key)
            _record_lines(value_node, (*path, key), offset, out, above, visited)
            out[(*path, key)] = offset + key_node.start_mark.line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), offset, out, above, visited)


def line_of(lines: Mapping[Path_, int], path: Path_, default: int) -> int:
    """The line of ``path``, or of its nearest recorded ancestor."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get((), default)


def load_yaml(text: str, first_line: int = 1) -> tuple[dict[str, Any], dict[Path_, int]]:
    """A YAML mapping and the file line of every key (for files that are all YAML, like apps)."""
    return _load_yaml(text, first_line)
