"""Workspace layer: specs and rows -> the JSON shapes OpenBB Workspace reads."""
