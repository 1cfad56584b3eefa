"""This tree against another checkout of sk_dlsetup, paired in one process.

Both trees are imported into one process (the other one first, under its own
module objects) and every case alternates between them, so that the machine's
drift hits both alike; each pair gives a ratio ``this / other`` (below 1: this
tree is faster). Prints the median and the range of the ratios per case.

Cases: ``fit`` on bench_train.py's problem (20,000 x 100, 10 classes, hidden
(256, 128), adam, batch 200, 2 epochs) in float64 and float32;
``predict_proba`` on the same data; a full fast gradient check of
bench_gradcheck.py's 50k network (relu and tanh) and 235k network (relu); a
full check of the 1k tanh network's J as a black box (the plain engine);
and, where PyTorch is installed, the same fit on PyTorch CPU tensors under
``array_api_dispatch``.

Usage::

    git worktree add /tmp/before <commit>
    python benchmarks/bench_versions.py --other /tmp/before --repeats 15
"""

import os

# scikit-learn's array_api_dispatch needs scipy's, read once at scipy's import.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import sys
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

HERE = Path(__file__).resolve().parents[1]


def load(tree):
    """The sk_dlsetup package of ``tree``, imported afresh under its own modules."""
    for name in [m for m in sys.modules if m.split(".")[0] == "sk_dlsetup"]:
        del sys.modules[name]
    sys.path.insert(0, str(tree))
    try:
        package = importlib.import_module("sk_dlsetup")
        importlib.import_module("sk_dlsetup.gradcheck")
    finally:
        sys.path.remove(str(tree))
    assert Path(package.__file__).resolve().is_relative_to(Path(tree).resolve())
    return package


def cases(package):
    """``{name: callable}`` of the timed work for one version."""
    X, y = make_classification(
        20_000, 100, n_informative=60, n_classes=10, random_state=0
    )
    params = dict(
        hidden_layer_sizes=(256, 128), batch_size=200, max_iter=2, tol=0,
        random_state=0,
    )  # fmt: skip
    MLP = package.MLPFromScratch
    fitted = MLP(**params).fit(X, y)
    rng = np.random.RandomState(0)
    X_check = rng.randn(64, 196)
    y_check = np.arange(64) % 10
    objectives = {
        activation: MLP(
            (192, 64),
            activation=activation,
            init="he" if activation == "relu" else "xavier",
            random_state=0,
        )
        .initialize(X_check, y_check)
        .objective(X_check, y_check)
        for activation in ("relu", "tanh")
    }
    X_big, y_big = rng.randn(64, 784), np.arange(64) % 10
    big = (
        MLP((256, 128), init="he", random_state=0)
        .initialize(X_big, y_big)
        .objective(X_big, y_big)
    )
    small = (
        MLP((32,), activation="tanh", init="xavier", random_state=0)
        .initialize(X_check[:, :20], y_check)
        .objective(X_check[:, :20], y_check)
    )
    # The 1k tanh network's J as a black box: the plain engine.
    black_box = package.make_objective(small.loss, small.gradient, small.theta0)
    work = {
        "fit float64": lambda: MLP(**params).fit(X, y),
        "fit float32": lambda: MLP(**params).fit(X.astype(np.float32), y),
        "predict_proba": lambda: fitted.predict_proba(X),
        "check 50k relu": lambda: package.check_gradients(
            objectives["relu"], mode="full"
        ),
        "check 50k tanh": lambda: package.check_gradients(
            objectives["tanh"], mode="full"
        ),
        "check 235k relu": lambda: package.check_gradients(big, mode="full"),
        "function 1k tanh": lambda: package.check_gradients(black_box, mode="full"),
    }
    try:
        import torch
    except ImportError:
        return work
    X_t, y_t = torch.asarray(X), torch.asarray(y)

    def fit_torch():
        with sklearn.config_context(array_api_dispatch=True):
            MLP(**params).fit(X_t, y_t)

    work["fit torch CPU"] = fit_torch
    return work


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", required=True, help="another checkout's root")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--only", nargs="*", help="case names to run")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    versions = {"other": cases(load(args.other)), "this": cases(load(HERE))}
    names = args.only or list(versions["this"])
    print(f"this tree / {args.other}: time ratios, {args.repeats} alternated pairs")
    print(f"{'case':18} {'median':>7} {'(range)':>13}   {'this s':>7} {'other s':>8}")
    for name in names:
        seconds = {"this": [], "other": []}
        for version in versions.values():
            version[name]()  # warm-up: caches, thread pools, lazy imports
        for repeat in range(args.repeats):
            order = ("this", "other") if repeat % 2 else ("other", "this")
            for label in order:
                start = time.perf_counter()
                versions[label][name]()
                seconds[label].append(time.perf_counter() - start)
        ratio = np.array(seconds["this"]) / np.array(seconds["other"])
        print(
            f"{name:18} {np.median(ratio):7.3f} {ratio.min():6.3f}-{ratio.max():.3f}"
            f"   {np.median(seconds['this']):7.3f} {np.median(seconds['other']):8.3f}"
        )


if __name__ == "__main__":
    main()
