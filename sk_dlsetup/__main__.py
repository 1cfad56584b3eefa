"""The main job: ``python -m sk_dlsetup`` (also the ``sk-dlsetup`` console script).

On scikit-learn's digits, or on a CSV file of yours, set a deep-learning problem
up the way the lecture teaches and show why each step matters:

1. normalize the inputs with the training set's statistics, and show how much
   better conditioned the problem becomes;
2. check backpropagation against finite differences at initialization and
   again after training (:class:`~sk_dlsetup.GradientChecker`);
3. compare the initialization schemes 'he', 'xavier' and 'random' on a deep
   network: the signal per layer at initialization, and cross-validated scores.

Tables go to stdout, one progress line per step to stderr. The exit status is 0
when every gradient check passed, 1 when one failed, and 2 for a usage or data
error (missing file, missing target column, non-numeric features, ...).
"""

import argparse
import csv
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.utils.multiclass import type_of_target

from . import __version__
from .diagnostics import layer_statistics, linear_conditioning
from .gradcheck import GradientChecker
from .neural_network import MLPFromScratch, MLPFromScratchRegressor
from .preprocessing import InputNormalizer

INITS = ("he", "xavier", "random")
EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2


class DataError(Exception):
    """A problem with the user's data or arguments: exit status 2, no traceback."""


# ------------------------------------------------------------------ arguments


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser():
    """The command line's :class:`argparse.ArgumentParser`."""
    parser = argparse.ArgumentParser(
        prog="sk-dlsetup",
        description=(
            "Set a deep-learning problem up well and see why: normalize the "
            "inputs, check backpropagation at initialization and after "
            "training, and compare the He / Xavier / small random "
            "initializations with cross-validation. Runs on scikit-learn's "
            "digits unless --csv is given."
        ),
        epilog=(
            "Exit status: 0 if every gradient check passed, 1 if one failed, "
            "2 for a usage or data error."
        ),
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--csv",
        metavar="PATH",
        type=Path,
        help="a CSV file with a header row; every column but the target must be "
        "numeric",
    )
    data.add_argument(
        "--target", metavar="COLUMN", help="the target column of --csv (required)"
    )
    data.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="what the target is; 'auto' calls a target with non-integer values "
        "or more than 20 distinct values a regression target (default: auto)",
    )
    model = parser.add_argument_group("network and training")
    model.add_argument(
        "--depth",
        type=_positive_int,
        help="hidden layers of the network compared across inits (default: 6; 3 "
        "with --quick)",
    )
    model.add_argument(
        "--width",
        type=_positive_int,
        default=32,
        help="units per hidden layer (default: 32)",
    )
    model.add_argument(
        "--activation",
        choices=("relu", "tanh"),
        default="relu",
        help="hidden activation (default: relu)",
    )
    model.add_argument(
        "--epochs",
        type=_positive_int,
        help="training epochs of each fit (default: 30; 8 with --quick)",
    )
    model.add_argument(
        "--cv",
        type=_positive_int,
        help="cross-validation folds for the init comparison (default: 3; 2 "
        "with --quick)",
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--quick",
        action="store_true",
        help="a smaller, faster run: 3 hidden layers, 8 epochs and 2 folds, "
        "unless --depth, --epochs or --cv say otherwise",
    )
    run.add_argument(
        "--plot",
        metavar="FILE.png",
        type=Path,
        help="also write the figures to this image file (needs matplotlib)",
    )
    run.add_argument(
        "--seed", type=int, default=0, help="random seed of everything (default: 0)"
    )
    run.add_argument(
        "--n-threads",
        type=_positive_int,
        default=1,
        help="BLAS threads (default: 1; the matrices here are small and extra "
        "threads cost more than they save)",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    return parser


# (normal, --quick) defaults of the options --quick changes; an option the
# user gives explicitly wins over both.
_RUN_SIZE_DEFAULTS = {"depth": (6, 3), "epochs": (30, 8), "cv": (3, 2)}


def _settings(args):
    """Check the combination of arguments; fill in the (--quick) defaults."""
    for name, (normal, quick) in _RUN_SIZE_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else normal)
    if args.target is not None and args.csv is None:
        raise DataError("--target needs --csv: the digits dataset has its own.")
    if args.csv is not None and args.target is None:
        raise DataError("--csv needs --target COLUMN: which column to predict.")
    if args.cv < 2:
        raise DataError(f"--cv must be at least 2, got {args.cv}.")
    return args


# ----------------------------------------------------------------------- data


def load_csv(path, target):
    """Read a numeric CSV with a header: ``(X, y, feature_names)``.

    The target column may hold any labels; every other column must parse as a
    number. Raises :class:`DataError` with a message for the user otherwise.
    """
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [
                row
                for row in csv.reader(handle, skipinitialspace=True)
                if any(c.strip() for c in row)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path} as CSV: {exc}") from None
    if not rows:
        raise DataError(f"{path} is empty.")
    header, body = [name.strip() for name in rows[0]], rows[1:]
    if target not in header:
        raise DataError(
            f"target column {target!r} not found in {path}; its columns are: "
            + ", ".join(repr(name) for name in header)
        )
    if len(header) < 2:
        raise DataError(f"{path} has no feature column besides {target!r}.")
    if len(body) < 10:
        raise DataError(f"{path} has {len(body)} data rows; at least 10 are needed.")
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(
                f"{path}, line {line}: {len(row)} fields, but the header has "
                f"{len(header)}."
            )
    t = header.index(target)
    features = [name for j, name in enumerate(header) if j != t]
    y = np.array([row[t].strip() for row in body], dtype=object)
    if any(label == "" for label in y):
        raise DataError(f"the target column {target!r} has empty values.")
    X = np.empty((len(body), len(features)))
    for j, name in enumerate(features):
        col = header.index(name)
        for i, row in enumerate(body):
            X[i, j] = _number(row[col], name, i + 2, path)
    return X, _as_numbers_if_possible(y), features


def _number(text, column, line, path):
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        raise DataError(
            f"feature column {column!r} is not numeric ({path}, line {line}: "
            f"{text!r}). Encode it as numbers or drop it first."
        ) from None
    if not math.isfinite(value):
        raise DataError(
            f"feature column {column!r} has a missing or infinite value ({path}, "
            f"line {line}: {text!r}). Impute or drop it first."
        )
    return value


def _as_numbers_if_possible(y):
    try:
        return y.astype(np.float64)
    except ValueError:
        return y.astype(str)


def _task(y, requested):
    if requested != "auto":
        return requested
    kind = type_of_target(y)
    if kind == "continuous":
        return "regression"
    if kind == "multiclass" and y.dtype.kind == "f" and np.unique(y).size > 20:
        return "regression"
    return "classification"


def load_data(args):
    """``(X, y, description, task)`` for digits or the user's CSV."""
    if args.csv is None:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        name = "digits (scikit-learn)"
    else:
        X, y, _ = load_csv(args.csv, args.target)
        name = str(args.csv)
    task = _task(y, args.task)
    if task == "classification":
        labels, counts = np.unique(y, return_counts=True)
        if labels.size < 2:
            raise DataError(f"the target has a single class ({labels[0].item()!r}).")
        if counts.min() < args.cv:
            rare = labels[np.argmin(counts)].item()
            raise DataError(
                f"class {rare!r} has {counts.min()} samples, fewer than "
                f"--cv={args.cv} folds."
            )
        what = f"{labels.size} classes"
    else:
        try:
            y = np.asarray(y, dtype=np.float64)
        except ValueError:
            raise DataError("--task regression needs a numeric target.") from None
        what = "a real-valued target"
    description = f"{name}: {X.shape[0]} samples x {X.shape[1]} features, {what}"
    return X, y, description, task


# ---------------------------------------------------------------------- steps


class _Progress:
    """One line per step on stderr, with the time it took."""

    def __init__(self, n_steps, stream):
        self.n_steps, self.stream, self.step = n_steps, stream, 0

    def start(self, what):
        self.step += 1
        self.t0 = time.perf_counter()
        print(f"[{self.step}/{self.n_steps}] {what} ...", file=self.stream, flush=True)

    def done(self):
        elapsed = time.perf_counter() - self.t0
        print(
            f"[{self.step}/{self.n_steps}] done in {elapsed:.1f} s",
            file=self.stream,
            flush=True,
        )


def _table(head, rows):
    """A plain-text table, columns left-aligned."""
    cells = [[str(c) for c in row] for row in [head, *rows]]
    widths = [max(len(row[c]) for row in cells) for c in range(len(head))]

    def line(row):
        return "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()

    ruler = ["-" * w for w in widths]
    return "\n".join([line(cells[0]), line(ruler), *(line(r) for r in cells[1:])])


def _section(title):
    return f"\n{title}\n{'=' * len(title)}"


def _network(task, args, init):
    estimator = MLPFromScratch if task == "classification" else MLPFromScratchRegressor
    return estimator(
        hidden_layer_sizes=(args.width,) * args.depth,
        activation=args.activation,
        init=init,
        max_iter=args.epochs,
        learning_rate_init=1e-3,
        random_state=args.seed,
    )


def normalize_step(X_train, out):
    """Fit the normalizer on the training set; print the conditioning gain."""
    normalizer = InputNormalizer().fit(X_train)
    varying = ~normalizer.constant_features_
    raw = linear_conditioning(X_train[:, varying])
    normalized = linear_conditioning(normalizer.transform(X_train)[:, varying])
    print(_section("1. Normalize the inputs (training-set mean and std)"), file=out)
    print(
        f"feature means {normalizer.mean_.min():.3g} .. {normalizer.mean_.max():.3g}, "
        f"standard deviations {np.sqrt(normalizer.var_).min():.3g} .. "
        f"{np.sqrt(normalizer.var_).max():.3g}",
        file=out,
    )
    n_constant = int(normalizer.constant_features_.sum())
    if n_constant:
        print(
            f"{n_constant} constant feature(s) (scale_ = 1) are left out of the "
            "conditioning numbers below.",
            file=out,
        )
    rows = [
        (
            "condition number of the least-squares Hessian",
            _fmt(raw["condition_number"]),
            _fmt(normalized["condition_number"]),
        ),
        (
            "largest stable gradient-descent step",
            _fmt(raw["max_stable_learning_rate"]),
            _fmt(normalized["max_stable_learning_rate"]),
        ),
        (
            "steps to shrink the error 1e6 times",
            _fmt(raw["steps_to_tolerance"]),
            _fmt(normalized["steps_to_tolerance"]),
        ),
    ]
    print(_table(["", "raw", "normalized"], rows), file=out)
    print("The test set is transformed with these same training statistics.", file=out)
    return normalizer, raw, normalized


def gradient_check_step(task, args, X_train, y_train, X_test, y_test, out):
    """GradientChecker in a Pipeline: check at init, train, check again."""
    network = _network(task, args, "he" if args.activation == "relu" else "xavier")
    checker = GradientChecker(network, on_failure="ignore", random_state=args.seed)
    model = make_pipeline(InputNormalizer(), checker).fit(X_train, y_train)
    print(_section("2. Check backpropagation against finite differences"), file=out)
    print(
        f"network {_architecture(X_train, model)}, {args.activation}, init "
        f"{network.init!r}; checked on {min(len(X_train), checker.max_samples)} "
        "training rows",
        file=out,
    )
    for stage, report in checker.reports_.items():
        print(f"\n[{stage}]", file=out)
        print(report, file=out)
    score = model.score(X_test, y_test)
    metric = "accuracy" if task == "classification" else "R^2"
    print(f"\nheld-out {metric} of the checked, trained model: {score:.3f}", file=out)
    return checker


def _architecture(X, model):
    net = model[-1].estimator_
    return "-".join(
        str(n) for n in [X.shape[1], *net.hidden_layer_sizes, net.n_outputs_]
    )


def init_step(task, args, normalizer, X_train, y_train, progress_stream):
    """Signal per layer at init and cross-validated scores of each scheme."""
    if task == "classification":
        folds = StratifiedKFold(args.cv, shuffle=True, random_state=args.seed)
    else:
        folds = KFold(args.cv, shuffle=True, random_state=args.seed)
    X_normalized = normalizer.transform(X_train)
    results = {}
    for init in INITS:
        network = _network(task, args, init)
        stats = layer_statistics(
            clone(network).initialize(X_normalized, y_train), X_normalized, y_train
        )
        scores = []
        for k, (train, test) in enumerate(folds.split(X_train, y_train), start=1):
            print(f"      {init}: fold {k}/{args.cv}", file=progress_stream, flush=True)
            model = make_pipeline(InputNormalizer(), clone(network))
            model.fit(X_train[train], y_train[train])
            scores.append(model.score(X_train[test], y_train[test]))
        final = make_pipeline(
            InputNormalizer(), clone(network).set_params(record_layer_stats=True)
        ).fit(X_train, y_train)
        results[init] = {
            "stats": stats,
            "scores": np.array(scores),
            "loss_curve": list(final[-1].loss_curve_),
            "layer_stats": final[-1].layer_stats_,
        }
    return results


def print_init_table(task, args, results, out):
    metric = "accuracy" if task == "classification" else "R^2"
    print(
        _section(f"3. Initialization schemes ({args.cv}-fold cross-validation)"),
        file=out,
    )
    print(
        f"{args.depth} hidden layers of {args.width} {args.activation} units, "
        f"{args.epochs} epochs of adam.\nAt initialization: the std of the first "
        "and last hidden layers' activations, and the gradient norm of W1;\n"
        "then W1's mean mini-batch gradient norm in the last training epoch.",
        file=out,
    )
    rows = []
    for init, result in results.items():
        stats, scores = result["stats"], result["scores"]
        rows.append(
            (
                init,
                _fmt(stats[0]["activation_std"]),
                _fmt(stats[-2]["activation_std"] if len(stats) > 1 else np.nan),
                _fmt(stats[0]["dW_norm"]),
                _fmt(result["layer_stats"]["dW_norm"][-1, 0]),
                f"{scores.mean():.3f} +/- {scores.std():.3f}",
                _fmt(result["loss_curve"][-1]),
            )
        )
    head = [
        "init",
        "std A[1]",
        f"std A[{args.depth}]",
        "||dW1||",
        "||dW1|| last epoch",
        f"CV {metric}",
        "final training loss",
    ]
    print(_table(head, rows), file=out)
    best = max(results, key=lambda init: results[init]["scores"].mean())
    print(f"best: {best!r}", file=out)
    return best


def _fmt(value):
    if isinstance(value, (int, np.integer)) and abs(value) < 1e6:
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.2e}"


# ---------------------------------------------------------------------- plots


def write_plot(path, checker, results, raw, normalized):
    """A 2 x 2 figure: signal and gradient per layer, the checks, loss curves."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise DataError(
            "--plot requires matplotlib: pip install 'sk_dlsetup[plot]'"
        ) from None
    from .diagnostics import GradientCheckDisplay, LayerStatisticsDisplay

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    for init, result in results.items():
        display = LayerStatisticsDisplay(result["stats"], name=init)
        display.plot(ax=axes[0, 0], statistics="activation_std")
        display.plot(ax=axes[0, 1], statistics="dW_norm")
        axes[1, 1].plot(
            np.arange(1, len(result["loss_curve"]) + 1),
            result["loss_curve"],
            label=f"{init}: CV {result['scores'].mean():.3f}",
        )
    axes[0, 0].set_title("Signal per layer at initialization")
    axes[0, 1].set_title("Gradient per layer at initialization")
    GradientCheckDisplay.from_checker(checker, ax=axes[1, 0])
    axes[1, 0].set_title("Gradient check: at init and after training")
    axes[1, 1].set_yscale("log")
    axes[1, 1].set_xlabel("epoch")
    axes[1, 1].set_ylabel("training loss")
    axes[1, 1].set_title("Training curves by initialization")
    axes[1, 1].legend()
    fig.suptitle(
        "Normalized inputs: condition number "
        f"{_fmt(raw['condition_number'])} -> {_fmt(normalized['condition_number'])}"
    )
    fig.tight_layout()
    try:
        fig.savefig(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot write the figure to {path}: {exc}") from None
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------- main


def main(argv=None):
    """Run the main job; return the exit status (0 ok, 1 check failed, 2 error).

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version or a usage error
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return _run(_settings(args), sys.stdout, sys.stderr)
    except DataError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE


def _run(args, out, err):
    from threadpoolctl import threadpool_limits

    with (
        threadpool_limits(limits=args.n_threads, user_api="blas"),
        warnings.catch_warnings(),
    ):
        # Few epochs on purpose: the comparison, not convergence, is the point.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _job(args, out, err)


def _job(args, out, err):
    progress = _Progress(4 + (args.plot is not None), err)
    progress.start("loading the data")
    X, y, description, task = load_data(args)
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=stratify
    )
    print(f"sk-dlsetup {__version__}: {description}", file=out)
    print(
        f"train {len(X_train)} / test {len(X_test)} rows (the test rows are used "
        "only for the final held-out score)",
        file=out,
    )
    progress.done()

    progress.start("normalizing the inputs")
    normalizer, raw, normalized = normalize_step(X_train, out)
    progress.done()

    progress.start("checking gradients at initialization, training, checking again")
    checker = gradient_check_step(task, args, X_train, y_train, X_test, y_test, out)
    progress.done()

    progress.start(f"comparing {', '.join(INITS)} with {args.cv}-fold CV")
    results = init_step(task, args, normalizer, X_train, y_train, err)
    progress.done()
    print_init_table(task, args, results, out)

    if args.plot is not None:
        progress.start(f"writing the figures to {args.plot}")
        write_plot(args.plot, checker, results, raw, normalized)
        progress.done()

    failed = [stage for stage, r in checker.reports_.items() if not r.passed]
    print(_section("Summary"), file=out)
    if failed:
        print(
            f"FAILED: the gradient check failed at {', '.join(failed)}; "
            "backpropagation disagrees with finite differences (see section 2).",
            file=out,
        )
        return EXIT_CHECK_FAILED
    print(
        "All gradient checks passed: backpropagation agrees with finite "
        "differences at initialization and after training.",
        file=out,
    )
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
