"""Privacy accounting, warnings and mechanisms."""

__all__: list[str] = []
