"""gateway: a folder of SQL files becomes an OpenBB Workspace custom backend."""

__version__ = "0.1.0"
