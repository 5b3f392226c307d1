"""Forecasters (sktime API)."""

__all__: list[str] = []
