"""Neural additive models."""

__all__: list[str] = []
