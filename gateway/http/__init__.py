"""HTTP layer: the Litestar app, its routes and the edge middleware."""

from gateway.http.app import create_app

__all__ = ["create_app"]
