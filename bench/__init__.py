"""Benchmark: the gateway against a hand-written endpoint and a static body, in one run."""
