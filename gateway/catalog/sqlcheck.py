"""SQL safety proof and placeholder compilation, with a real parser (sqlglot), no regexes.

A query file must hold exactly one read-only statement. ``:name`` placeholders are found by the
tokenizer (so ``'10:30'``, ``x::int`` and comments never count) and cross-checked with the parse
tree. Compilation rewrites only placeholder tokens into the driver's positional style; the rest of
the author's SQL reaches the database byte for byte.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType  # type: ignore[attr-defined]

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its fallback notices are not ours to log
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WRITE_NODES: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable",
        "Command", "Set", "Pragma", "Transaction", "Commit", "Rollback", "Use", "Copy",
        "Attach", "Detach", "Grant", "Revoke", "Into", "Lock", "LoadData", "Analyze",
    )
    if hasattr(exp, name)
)  # fmt: skip
# String literals never name a keyword: `SELECT 'delete' ...` must not move an error's line.
_LITERALS = frozenset(
    getattr(TokenType, name)
    for name in (
        "STRING", "BYTE_STRING", "HEREDOC_STRING", "HEX_STRING", "BIT_STRING", "NATIONAL_STRING",
        "RAW_STRING", "NATIONAL_RAW_STRING", "UNICODE_STRING",
    )
    if hasattr(TokenType, name)
)  # fmt: skip
_READ_ROOTS: tuple[type[exp.Expr], ...] = (exp.Select, exp.SetOperation, exp.Subquery, exp.Values)
# Functions that change server or session state even inside a read-only transaction.
_DENIED_FUNCTIONS = frozenset({
    "set_config", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf",
    "pg_rotate_logfile", "pg_promote", "pg_switch_wal", "lo_import", "lo_export", "lo_unlink",
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "dblink", "dblink_exec",
    "dblink_connect", "pg_advisory_lock", "pg_advisory_xact_lock", "pg_notify", "nextval",
    "setval", "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
})  # fmt: skip


class SqlProblem(Exception):
    """A problem in the SQL text; ``line`` is 1-based within the SQL text."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    start: int
    """Offset of the ``:``."""
    end: int
    """Offset just past the name."""
    line: int
    in_list: tuple[int, int] | None
    """``(start, end)`` of the whole ``IN (:name)`` when the placeholder is the list's only item."""
    whole_number: bool = False
    """Used where SQL needs a non-negative integer (LIMIT, OFFSET, FETCH)."""


@dataclass(frozen=True, slots=True)
class CompiledSql:
    """The statement in the driver's positional style and the param name of each position."""

    text: str
    order: tuple[str, ...]


def analyze(sql: str, dialect: str) -> tuple[Placeholder, ...]:
    """Prove ``sql`` is one read-only statement and return its placeholders in text order."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(sql)
        scanned = _placeholders(tokens)
        # Parse with neutral placeholder names, so `:from` or `:end` (keywords) parse too.
        neutral = _neutral_text(sql, scanned)
        trees = [t for t in sqlglot.parse(neutral, read=dialect) if t is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise SqlProblem(int(first.get("line") or 1), _parse_message(exc)) from None
    except TokenError as exc:
        raise SqlProblem(_token_error_line(str(exc)), f"SQL syntax error: {exc}") from None
    if not trees:
        raise SqlProblem(1, "the file holds no SQL statement")
    if len(trees) > 1:
        raise SqlProblem(_second_statement_line(tokens), "only one SQL statement is allowed")
    tree = trees[0]
    _check_read_only(tree, tokens)
    names = _neutral_names(scanned)
    _cross_check(tree, scanned, tokens, names)
    counted = {names[n] for n in _whole_number_placeholders(tree) if n in names}
    return tuple(replace(p, whole_number=p.name in counted) for p in scanned)


def _neutral_names(placeholders: tuple[Placeholder, ...]) -> dict[str, str]:
    """Neutral name -> real name (``p_0`` for the first distinct placeholder, and so on)."""
    real = list(dict.fromkeys(p.name for p in placeholders))
    return {f"gw_p_{i}": name for i, name in enumerate(real)}


def _neutral_text(sql: str, placeholders: tuple[Placeholder, ...]) -> str:
    neutral = {real: neutral for neutral, real in _neutral_names(placeholders).items()}
    out, cursor = [], 0
    for ph in placeholders:
        out += [sql[cursor : ph.start], ":", neutral[ph.name]]
        cursor = ph.end
    out.append(sql[cursor:])
    return "".join(out)


def _whole_number_placeholders(tree: exp.Expr) -> set[str]:
    found = set()
    for node in tree.find_all(exp.Placeholder):
        parent = node.parent
        while isinstance(parent, exp.Paren | exp.Cast):
            parent = parent.parent
        if isinstance(parent, exp.Limit | exp.Offset | exp.Fetch):
            found.add(node.name)
    return found


def compile_sql(
    sql: str, placeholders: tuple[Placeholder, ...], dialect: str, lists: frozenset[str]
) -> CompiledSql:
    """Rewrite ``:name`` into ``$n`` (PostgreSQL) or ``?n`` (SQLite).

    A multi-select param written as ``IN (:name)`` becomes ``= ANY($n)`` / ``<> ALL($n)`` on
    PostgreSQL (one array argument, any length) and ``IN (SELECT value FROM json_each(?n))`` on
    SQLite (one JSON argument), so list length never changes the statement.
    """
    order: list[str] = []
    out: list[str] = []
    cursor = 0
    for ph in placeholders:
        if ph.name not in order:
            order.append(ph.name)
        marker = f"${order.index(ph.name) + 1}" if dialect == "postgres" else f"?{order.index(ph.name) + 1}"
        start, end, replacement = ph.start, ph.end, marker
        if ph.name in lists and ph.in_list is not None:
            start, end = ph.in_list
            negated = sql[start:end].upper().startswith("NOT")
            if dialect == "postgres":
                replacement = f"<> ALL({marker})" if negated else f"= ANY({marker})"
            else:
                keyword = "NOT IN" if negated else "IN"
                replacement = f"{keyword} (SELECT value FROM json_each({marker}))"
        out.append(sql[cursor:start])
        out.append(replacement)
        cursor = end
    out.append(sql[cursor:])
    return CompiledSql("".join(out).rstrip().rstrip(";").rstrip(), tuple(order))


_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.\w+, text: (.*?), line: .*?>")


def _parse_message(exc: ParseError) -> str:
    first = exc.errors[0] if exc.errors else {}
    desc = _TOKEN_REPR.sub(r"'\1'", str(first.get("description") or exc).split("\n")[0])
    near = str(first.get("highlight") or "").strip()
    return f"SQL syntax error: {desc}" + (f" near {near!r}" if near else "")


def _token_error_line(message: str) -> int:
    match = re.search(r"[Ll]ine (\d+)", message)
    return int(match.group(1)) if match else 1


def _second_statement_line(tokens: list[Token]) -> int:
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.SEMICOLON and i + 1 < len(tokens):
            return tokens[i + 1].line
    return 1


def _check_read_only(tree: exp.Expr, tokens: list[Token]) -> None:
    if not isinstance(tree, _READ_ROOTS):
        kind = tokens[0].text.upper() if tokens else type(tree).__name__
        raise SqlProblem(
            tokens[0].line if tokens else 1,
            f"only read-only SELECT/WITH statements are allowed, not {kind}",
        )
    for node in tree.walk():
        if isinstance(node, exp.Lock):  # `FOR UPDATE` / `FOR SHARE`: no LOCK token to point at
            kind = "FOR UPDATE" if node.args.get("update") else "FOR SHARE"
            raise SqlProblem(
                _line_of_locking_clause(tokens),
                f"{kind} is not allowed: the gateway only runs read-only statements",
            )
        if isinstance(node, _WRITE_NODES):
            kind = type(node).__name__.upper()
            raise SqlProblem(
                _line_of_keyword(tokens, kind),
                f"{kind} is not allowed: the gateway only runs read-only statements",
            )
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in _DENIED_FUNCTIONS:
                raise SqlProblem(
                    _line_of_keyword(tokens, name.upper()),
                    f"function {name}() is not allowed in a query file",
                )


def _line_of_keyword(tokens: list[Token], word: str) -> int:
    for tok in tokens:
        if tok.token_type not in _LITERALS and tok.text.upper() == word:
            return tok.line
    return tokens[0].line if tokens else 1


def _line_of_locking_clause(tokens: list[Token]) -> int:
    for tok, nxt in itertools.pairwise(tokens):
        if tok.token_type == TokenType.FOR and nxt.text.upper() in {"UPDATE", "SHARE", "NO", "KEY"}:
            return tok.line
    return tokens[0].line if tokens else 1


def _placeholders(tokens: list[Token]) -> tuple[Placeholder, ...]:
    found = []
    for i, tok in enumerate(tokens[:-1]):
        nxt = tokens[i + 1]
        if tok.token_type != TokenType.COLON or nxt.start != tok.end + 1:
            continue
        if not _IDENT.match(nxt.text):
            continue
        found.append(Placeholder(nxt.text, tok.start, nxt.end + 1, tok.line, _in_list(tokens, i)))
    return tuple(found)


def _in_list(tokens: list[Token], colon: int) -> tuple[int, int] | None:
    """Span of ``[NOT] IN ( :name )`` around the colon at ``tokens[colon]``, if that is the shape."""
    if colon < 2 or colon + 2 >= len(tokens):
        return None
    before, keyword, after = tokens[colon - 1], tokens[colon - 2], tokens[colon + 2]
    shaped = (
        before.token_type == TokenType.L_PAREN
        and keyword.token_type == TokenType.IN
        and after.token_type == TokenType.R_PAREN
    )
    if not shaped:
        return None
    start = keyword.start
    if colon >= 3 and tokens[colon - 3].token_type == TokenType.NOT:
        start = tokens[colon - 3].start
    return start, after.end + 1


def _cross_check(
    tree: exp.Expr, placeholders: tuple[Placeholder, ...], tokens: list[Token], names: dict[str, str]
) -> None:
    parsed: set[str] = set()
    for node in tree.find_all(exp.Placeholder):
        if not node.name or node.name == "?":
            raise SqlProblem(_line_of_keyword(tokens, "?"), "use named :placeholders, not positional '?'")
        parsed.add(names.get(node.name, node.name))
    for tok in tokens:
        positional = tok.token_type == TokenType.PARAMETER or (
            tok.token_type == TokenType.VAR and tok.text.startswith("$")
        )
        if positional:
            raise SqlProblem(tok.line, f"use named :placeholders, not {tok.text!r}-style parameters")
    scanned = {p.name for p in placeholders}
    if parsed != scanned:
        odd = sorted(parsed ^ scanned)
        raise SqlProblem(
            placeholders[0].line if placeholders else 1,
            f"ambiguous placeholder(s) {odd}: write them as ':name' outside strings",
        )
