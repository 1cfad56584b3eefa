"""Refresh the intersphinx inventories and MathJax this documentation ships.

The docs build offline: ``conf.py`` reads the inventories of Python, NumPy,
SciPy, scikit-learn, matplotlib, joblib and PyTorch from this folder (never from the
network), and MathJax from ``docs/_static/mathjax``. Run

    python docs/_inventories/refresh.py            # inventories
    python docs/_inventories/refresh.py --mathjax  # and MathJax 3 from npm

For each project it downloads the published ``objects.inv``. Where that site
cannot be reached it writes an inventory of the installed package's public
API instead (module, class and function pages at the project's documented URL
layout), so that cross-references still link; the script says which it did.
"""

import argparse
import importlib
import inspect
import io
import sys
import tarfile
import urllib.request
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC = HERE.parent / "_static" / "mathjax"
MATHJAX = "https://registry.npmjs.org/mathjax/-/mathjax-3.2.2.tgz"

#: project: (documentation root, modules to list, URL of one object)
PROJECTS = {
    "python": (
        "https://docs.python.org/3/",
        ["builtins", "pickle", "argparse", "pathlib", "warnings", "json", "copy"],
        lambda module, name: (
            f"library/functions.html#{name}"
            if module == "builtins"
            else f"library/{module}.html#{module}.{name}"
        ),
    ),
    "numpy": (
        "https://numpy.org/doc/stable/",
        ["numpy", "numpy.random", "numpy.linalg"],
        lambda module, name: (
            f"reference/random/legacy.html#numpy.random.{name}"
            if module == "numpy.random" and name == "RandomState"
            else f"reference/generated/{module}.{name}.html#{module}.{name}"
        ),
    ),
    "scipy": (
        "https://docs.scipy.org/doc/scipy/",
        [
            "scipy.optimize",
            "scipy.sparse",
            "scipy.special",
            "scipy.stats",
            "scipy.linalg",
        ],
        lambda module, name: (
            f"reference/generated/{module}.{name}.html#{module}.{name}"
        ),
    ),
    "sklearn": (
        "https://scikit-learn.org/stable/",
        [
            "sklearn",
            "sklearn.base",
            "sklearn.datasets",
            "sklearn.model_selection",
            "sklearn.neural_network",
            "sklearn.pipeline",
            "sklearn.preprocessing",
            "sklearn.compose",
            "sklearn.metrics",
            "sklearn.utils",
            "sklearn.utils.validation",
            "sklearn.exceptions",
            "sklearn.multioutput",
            "sklearn.callback",
        ],
        lambda module, name: f"modules/generated/{module}.{name}.html#{module}.{name}",
    ),
    "matplotlib": (
        "https://matplotlib.org/stable/",
        [
            "matplotlib.pyplot",
            "matplotlib.axes",
            "matplotlib.figure",
            "matplotlib.lines",
        ],
        lambda module, name: f"api/_as_gen/{module}.{name}.html#{module}.{name}",
    ),
    "joblib": (
        "https://joblib.readthedocs.io/en/stable/",
        ["joblib"],
        lambda module, name: f"generated/{module}.{name}.html#{module}.{name}",
    ),
    "torch": (
        "https://pytorch.org/docs/stable/",
        ["torch.nn", "torch.autograd"],
        lambda module, name: f"generated/{module}.{name}.html#{module}.{name}",
    ),
}


def _download(url):
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.read()


def _entries(project, root, modules, url_of):
    """``name domain:role priority uri dispname`` lines of the public API."""
    lines = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            print(f"  {project}: {module_name} is not installed here: left out")
            continue
        if module_name != "builtins":
            page = url_of(module_name, "").rsplit("#", 1)[0]
            lines.append(f"{module_name} py:module 0 {page}#module-{module_name} -")
        names = getattr(module, "__all__", None) or dir(module)
        for name in sorted(set(names)):
            if name.startswith("_"):
                continue
            try:
                obj = getattr(module, name, None)
            except ImportError:  # experimental, behind an explicit import
                continue
            if inspect.isclass(obj):
                role = "exception" if issubclass(obj, BaseException) else "class"
            elif callable(obj):
                role = "function"
            else:
                continue
            full = name if module_name == "builtins" else f"{module_name}.{name}"
            lines.append(f"{full} py:{role} 1 {url_of(module_name, name)} -")
    return lines


def _write_generated(project, root, modules, url_of):
    lines = _entries(project, root, modules, url_of)
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n# Version: generated\n"
        "# The remainder of this file is compressed using zlib.\n"
    ).encode()
    body = zlib.compress(("\n".join(lines) + "\n").encode())
    (HERE / f"{project}.inv").write_bytes(header + body)
    return len(lines)


def refresh_inventories():
    for project, (root, modules, url_of) in PROJECTS.items():
        target = HERE / f"{project}.inv"
        try:
            target.write_bytes(_download(root + "objects.inv"))
            print(f"{project}: downloaded {root}objects.inv")
        except OSError as exc:
            count = _write_generated(project, root, modules, url_of)
            print(
                f"{project}: {root} unreachable ({type(exc).__name__}); generated "
                f"{count} entries from the installed package"
            )


def refresh_mathjax():
    """MathJax 3's CommonHTML TeX bundle and its fonts, from the npm registry."""
    wanted = ("package/es5/tex-chtml.js", "package/es5/output/chtml/fonts/woff-v2/")
    data = io.BytesIO(_download(MATHJAX))
    with tarfile.open(fileobj=data, mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith(wanted):
                target = STATIC / member.name.removeprefix("package/es5/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.extractfile(member).read())
    print(f"MathJax: {MATHJAX} unpacked into {STATIC}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mathjax", action="store_true", help="refresh MathJax too")
    args = parser.parse_args(argv)
    refresh_inventories()
    if args.mathjax:
        refresh_mathjax()


if __name__ == "__main__":
    sys.exit(main())
