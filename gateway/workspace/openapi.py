"""Catalog -> an OpenAPI 3.1 document: every widget's data route with its typed query params.

The data routes are ASGI mounts, invisible to Litestar's generated schema; this document is what
clients and fuzzers (schemathesis, #6) read instead. Pure: specs in, a dict out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.catalog.spec import ParamSpec, QuerySpec

_ERROR = {"$ref": "#/components/schemas/Error"}
_ERRORS = {
    "401": "missing or invalid API key",
    "404": "unknown widget",
    "422": "invalid parameters (every one listed in errors)",
    "500": "the query failed",
    "503": "database busy or unavailable (see Retry-After)",
    "504": "the query exceeded its time limit",
}


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    title: str
    version: str
    api_key_header: str | None
    """None: authentication is off."""
    api_key_query_param: str
    max_param_length: int


def build_openapi(
    widgets: Sequence[QuerySpec], options: Sequence[QuerySpec], info: DocumentInfo
) -> dict[str, Any]:
    """The OpenAPI document for these widgets (``/sql/<id>``) and options queries."""
    paths: dict[str, Any] = {
        "/widgets.json": _static("Widget definitions for OpenBB Workspace", "object"),
        "/apps.json": _static("Dashboards (apps) for OpenBB Workspace", "array"),
        "/templates.json": _static("Dashboards (apps), older name", "array"),
        "/health": _static("Liveness: the process answers", "object", public=True),
        "/ready": _static("Readiness: every database answers", "object", codes=("503",)),
    }
    for spec in widgets:
        paths[f"/sql/{spec.id}"] = _query_route(spec, info, "widget data")
    for spec in options:
        paths[f"/options/{spec.id}"] = _query_route(spec, info, "dropdown options [{label, value}]")
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": info.title, "version": info.version},
        "paths": paths,
        "components": {"schemas": {"Error": _error_schema()}},
    }
    if info.api_key_header is not None:
        document["components"]["securitySchemes"] = {
            "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": info.api_key_header},
            "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": info.api_key_query_param},
        }
        document["security"] = [{"ApiKeyHeader": []}, {"ApiKeyQuery": []}]
    return document


def _static(summary: str, kind: str, *, public: bool = False, codes: Sequence[str] = ()) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _json_response("OK", {"type": kind})}
    for code in (*codes, *(() if public else ("401",))):
        responses[code] = _json_response(_ERRORS[code], _ERROR)
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if public:
        operation["security"] = []
    return {"get": operation}


def _query_route(spec: QuerySpec, info: DocumentInfo, what: str) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _json_response(what, {})}
    responses.update({code: _json_response(text, _ERROR) for code, text in _ERRORS.items()})
    operation: dict[str, Any] = {
        "operationId": f"{'sql' if spec.is_widget else 'options'}_{spec.id}",
        "summary": spec.name,
        "parameters": [_parameter(p, info) for p in spec.params],
        "responses": responses,
    }
    if spec.description:
        operation["description"] = spec.description
    return {"get": operation}


def _parameter(param: ParamSpec, info: DocumentInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": param.name,
        "in": "query",
        "required": param.required and param.default is None,
        "schema": param_schema(param, info.max_param_length),
    }
    description = param.model.description
    if isinstance(description, str):
        entry["description"] = description
    return entry


def param_schema(param: ParamSpec, max_length: int) -> dict[str, Any]:
    """The JSON schema of one query-string value, as the params layer parses it."""
    if param.multi:  # comma-joined (or repeated keys), as Workspace sends a multi-select
        return {"type": "string", "description": "comma-separated values"}
    schema: dict[str, Any]
    if param.type == "number":
        schema = {"type": "number"}
    elif param.type == "boolean":
        schema = {"type": "boolean"}
    elif param.type == "date":
        schema = {"type": "string", "format": "date"}
    else:
        schema = {"type": "string", "maxLength": max_length}
    if param.choices is not None:
        schema["enum"] = sorted(param.choices, key=lambda v: (type(v).__name__, str(v)))
    return schema


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error_schema() -> dict[str, Any]:
    """The one error body (``gateway.errors.error_body``)."""
    return {
        "type": "object",
        "required": ["ok", "status", "code", "error", "detail", "errors"],
        "properties": {
            "ok": {"const": False},
            "status": {"type": "integer"},
            "code": {"type": "string"},
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "request_id": {"type": ["string", "null"]},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"param": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }
