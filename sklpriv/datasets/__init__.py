"""Data set generators and loaders (nothing downloads)."""

from ._ett import ett_borders, load_ett

__all__ = ["ett_borders", "load_ett"]
