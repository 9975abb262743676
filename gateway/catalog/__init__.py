"""Catalog layer: query files -> validated, immutable specs. No database, no HTTP."""

from gateway.catalog.loader import load_catalog, load_query_file, widget_id_for
from gateway.catalog.spec import Catalog, ParamSpec, QuerySpec

__all__ = ["Catalog", "ParamSpec", "QuerySpec", "load_catalog", "load_query_file", "widget_id_for"]
