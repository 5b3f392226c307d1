"""Optimisers (SAM, DP-SAT)."""

__all__: list[str] = []
