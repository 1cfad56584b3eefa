"""Sphinx configuration of the sk_dlsetup documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``: every
gallery example is executed, and any warning (a broken reference, a docstring
numpydoc cannot parse, an example that raises) fails the build.
"""

import os
import re
import sys
from pathlib import Path

from threadpoolctl import threadpool_limits

import sk_dlsetup

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))  # for the _cli_help extension below

# The examples' matrices are small: BLAS threads cost more than they save,
# and oversubscribe a shared CI machine.
threadpool_limits(limits=1, user_api="blas")
os.environ.setdefault("MPLBACKEND", "Agg")

project = "sk_dlsetup"
author = "The sk_dlsetup developers"
copyright = "2026, The sk_dlsetup developers"
release = sk_dlsetup.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "_cli_help",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "sg_execution_times.rst"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "literal"

# -- API reference ---------------------------------------------------------
autosummary_generate = True
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False


def _quote_shape_names(app, what, name, obj, options, lines):
    """``(n_features_in_,)`` in a type reads as a reST link target: quote it.

    Runs before numpydoc (lower priority number), on every docstring.
    """
    for i, line in enumerate(lines):
        if "shape (" in line:
            lines[i] = _SHAPE_NAME.sub(r"``\1``", line)


_SHAPE_NAME = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?=[,)])")


def _unlink_sklearn_refs(app, what, name, obj, options, lines):
    """Methods inherited from scikit-learn (score, set_output, ...) keep their
    docstrings, but their :ref:/:term: links point into scikit-learn's own
    documentation, which this build cannot resolve (no network, so no
    intersphinx): keep the text, drop the link."""
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("sklearn"):
        return
    for i, line in enumerate(lines):
        lines[i] = _SKLEARN_ROLE.sub(
            lambda m: m.group("text") or m.group("target"), line
        )


_SKLEARN_ROLE = re.compile(
    r":(?:ref|term):`(?:(?P<text>[^`<]+?)\s*<[^`>]+>|(?P<target>[^`<]+))`"
)


def setup(app):
    app.connect("autodoc-process-docstring", _quote_shape_names, priority=100)
    app.connect("autodoc-process-docstring", _unlink_sklearn_refs, priority=100)


# -- Links to other projects, offline ---------------------------------------
# Read from docs/_inventories only (never the network): the build is the same
# with or without one. ``python docs/_inventories/refresh.py`` updates them.
_INVENTORIES = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "sklearn": "https://scikit-learn.org/stable/",
    "matplotlib": "https://matplotlib.org/stable/",
    "joblib": "https://joblib.readthedocs.io/en/stable/",
    "torch": "https://pytorch.org/docs/stable/",
}
intersphinx_mapping = {
    name: (url, str(DOCS / "_inventories" / f"{name}.inv"))
    for name, url in _INVENTORIES.items()
}
intersphinx_disabled_reftypes = ["std:doc"]

# -- Math: MathJax served with the pages, not from a CDN ----------------------
mathjax_path = "mathjax/tex-chtml.js"

# -- HTML ------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sk_dlsetup {release}"
html_static_path = ["_static"]
html_css_files = ["sk_dlsetup.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": [], "changelog": [], "benchmarks": []}

# -- Gallery ---------------------------------------------------------------


def _has(module):
    from importlib.util import find_spec

    return find_spec(module) is not None


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Examples that need an optional library run only where it is installed
    # (their code is shown either way).
    "filename_pattern": "/plot_" + ("|/jax_" if _has("jax") else ""),
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sk_dlsetup",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"sk_dlsetup": None},
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "remove_config_comments": True,
    "show_memory": False,
    "plot_gallery": "True",
    "image_srcset": ["2x"],  # sharp figures on high-density screens
}

# -- MyST (the changelog is Markdown) ----------------------------------------
myst_heading_anchors = 2
suppress_warnings = ["myst.header"]
