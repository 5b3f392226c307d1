"""Data set generators and loaders (nothing downloads)."""

__all__: list[str] = []
