"""The gateway's exceptions and the one JSON error body every failure uses.

Each exception carries an HTTP ``status`` and a stable machine ``code``. Codes are part of the
public interface: renaming one is a breaking change (see CHANGELOG.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class ParamProblem:
    """One invalid request parameter."""

    param: str
    message: str


class GatewayError(Exception):
    """Base of every error the gateway reports to a client."""

    status: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[ParamProblem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = tuple(errors)
        self.headers = dict(headers or {})


class InternalError(GatewayError):
    """A bug: the client gets this shape, the log gets the traceback."""

    status, code = 500, "internal_error"


class InvalidParameters(GatewayError):
    status, code = 422, "invalid_parameter"

    def __init__(self, problems: Sequence[ParamProblem]) -> None:
        count = len(problems)
        noun = "parameter" if count == 1 else "parameters"
        names = ", ".join(p.param for p in problems)
        super().__init__(f"{count} invalid {noun}: {names}", errors=problems)


class Unauthorized(GatewayError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str = "missing or invalid API key") -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'ApiKey realm="gateway"'})


class Forbidden(GatewayError):
    status, code = 403, "forbidden"


class UnknownWidget(GatewayError):
    status, code = 404, "unknown_widget"


class NotFound(GatewayError):
    status, code = 404, "not_found"


class PayloadTooLarge(GatewayError):
    status, code = 413, "payload_too_large"


class QueryFailed(GatewayError):
    status, code = 500, "query_failed"


class DatabaseBusy(GatewayError):
    status, code = 503, "database_busy"

    def __init__(self, message: str = "database busy, retry shortly", retry_after_s: int = 1):
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


class DatabaseUnavailable(GatewayError):
    status, code = 503, "database_unavailable"

    def __init__(self, message: str = "database unavailable", retry_after_s: int = 5):
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


class ConnectionLost(DatabaseUnavailable):
    """The connection broke while in use; a read-only query may safely be retried once."""

    def __init__(self) -> None:
        super().__init__("database connection lost, retry shortly", retry_after_s=1)


class QueryTimeout(GatewayError):
    status, code = 504, "query_timeout"


class ExplainError(QueryFailed):
    """The database refused to compile a query file (``gateway check``, startup only)."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(f"database rejected the query: {message}")
        self.line = line


class QueryFileError(Exception):
    """A problem in one query file, reported as ``path:line: message``."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


class CatalogError(Exception):
    """Every problem found while loading a queries folder; the server refuses to start."""

    def __init__(self, problems: Sequence[QueryFileError]) -> None:
        self.problems = sorted(problems, key=lambda p: (str(p.path), p.line))
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(Exception):
    """Invalid settings (config file, environment or command line)."""


def error_body(
    status: int,
    code: str,
    message: str,
    *,
    request_id: str | None = None,
    errors: Sequence[ParamProblem] = (),
) -> dict[str, Any]:
    """Build the JSON error body used by every non-2xx response.

    Shape: ``{"ok": false, "status", "code", "error", "detail", "request_id", "errors"}``.
    ``detail`` duplicates ``error`` because OpenBB Workspace reads either key. ``errors`` lists
    ``{"param", "message"}`` for each invalid parameter (422) and is empty otherwise. Keys may be
    added in later versions, never removed.
    """
    return {
        "ok": False,
        "status": status,
        "code": code,
        "error": message,
        "detail": message,
        "request_id": request_id,
        "errors": [{"param": e.param, "message": e.message} for e in errors],
    }
