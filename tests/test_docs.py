"""Every public name of sklpriv has a page in the API reference (docs/api.rst)."""

import importlib
import re
from pathlib import Path

import pytest

import sklpriv

API = Path(__file__).parents[1] / "docs" / "api.rst"
SUBPACKAGES = [
    "additive", "cluster", "datasets", "forecasting", "generative", "metrics",
    "neural_network", "optim", "privacy", "robust", "utils",
]  # fmt: skip


def documented():
    """The objects that the reference's autosummary entries name."""
    objects, module = [], None
    for line in API.read_text().splitlines():
        m = re.match(r"\.\. currentmodule:: (\S+)", line.strip())
        if m:
            module = importlib.import_module(m.group(1))
        elif module is not None and re.fullmatch(r"   [A-Za-z_][\w.]*", line):
            objects.append(getattr(module, line.strip()))
    return objects


@pytest.mark.parametrize("package", ["", *SUBPACKAGES])
def test_every_public_name_is_in_the_api_reference(package):
    mod = importlib.import_module("sklpriv" + (f".{package}" if package else ""))
    pages = documented()
    missing = [
        name
        for name in mod.__all__
        if name != "__version__" and not any(getattr(mod, name) is obj for obj in pages)
    ]
    assert not missing, f"sklpriv.{package} names without an API page: {missing}"


def test_the_subpackage_list_is_complete():
    found = {p.name for p in Path(sklpriv.__file__).parent.iterdir()}
    packages = {n for n in found if (Path(sklpriv.__file__).parent / n / "__init__.py").exists()}
    assert packages == set(SUBPACKAGES)
