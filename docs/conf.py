"""Sphinx configuration: user guide, API reference (numpydoc) and the example gallery."""

import sklpriv

project = "sklpriv"
version = release = sklpriv.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]  # the class page ends with the examples that use it
autosummary_generate = True
numpydoc_show_class_members = False
html_theme = "pydata_sphinx_theme"
exclude_patterns = ["_build", "auto_examples/*.ipynb"]
autoclass_content = "class"  # parameters are documented in the class docstring
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "download_all_examples": False,
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sklpriv",),
}
suppress_warnings = ["ref.ref"]  # labels in docstrings inherited from scikit-learn
