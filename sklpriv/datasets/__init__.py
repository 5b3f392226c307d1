"""Data set generators and loaders (nothing downloads)."""

from ._dead_leaves import make_dead_leaves
from ._digits import make_styled_digits
from ._ett import ett_borders, load_ett
from ._facts import make_fictitious_facts
from ._scenes import make_digit_scenes
from ._windows import make_sines, sliding_windows

__all__ = [
    "ett_borders",
    "load_ett",
    "make_dead_leaves",
    "make_digit_scenes",
    "make_fictitious_facts",
    "make_sines",
    "make_styled_digits",
    "sliding_windows",
]
