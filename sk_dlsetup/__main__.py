"""The main job: ``python -m sk_dlsetup`` (also the ``sk-dlsetup`` console script).

On scikit-learn's digits, or on a CSV file of yours, set a deep-learning problem
up the way the lecture teaches and show why each step matters:

1. normalize the inputs with the training set's statistics, and show how much
   better conditioned the problem becomes;
2. check backpropagation against finite differences at initialization and
   again after training (:class:`~sk_dlsetup.GradientChecker`);
3. compare the initialization schemes 'he', 'xavier' and 'random' on a deep
   network (20 ReLU layers): the signal per layer at initialization, and
   cross-validated scores;
4. train at depth 100: tanh and relu networks with 'xavier', 'he',
   'orthogonal' and 'lsuv', the input-output Jacobian's spread at
   initialization next to the score each reached;

and end with what the run showed, each lesson a sentence with its numbers.

Tables go to stdout, one progress line per step to stderr. The exit status is 0
when every gradient check passed, 1 when one failed, and 2 for a usage or data
error (missing file, missing target column, non-numeric features, ...).
"""

import argparse
import sys
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from . import __version__
from ._cli._data import DataError, load_csv, load_data
from ._cli._depth import depth_lesson, depth_step, print_depth_table
from ._cli._lessons import (
    TEXTBOOK_INIT,
    format_lesson,
    gradient_check_lesson,
    init_lesson,
    normalization_lesson,
)
from ._cli._steps import (
    INITS,
    LEARNING_RATE,
    _Progress,
    _section,
    chance_score,
    gradient_check_step,
    init_step,
    normalize_step,
    print_init_table,
    raw_inputs_step,
    write_plot,
)
from .neural_network import MLPFromScratch, MLPFromScratchRegressor

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2

__all__ = ["DataError", "build_parser", "load_csv", "main"]


# ------------------------------------------------------------------ arguments


def _int_at_least(text, least):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be >= {least}, got {value}")
    return value


def _positive_int(text):
    return _int_at_least(text, 1)


def _non_negative_int(text):
    return _int_at_least(text, 0)


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
        help="hidden layers of the network compared across inits (default: 20, "
        "deep enough for the inits to differ)",
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
        "--deep-depth",
        type=_non_negative_int,
        default=100,
        help="hidden layers of the tanh and relu networks trained with each of "
        "xavier, he, orthogonal and lsuv in the depth step (default: 100; 0 "
        "skips the step)",
    )
    model.add_argument(
        "--epochs",
        type=_positive_int,
        help="training epochs of each fit (default: 30; 10 with --quick)",
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
        help="a faster run: 10 epochs and 2 folds, unless --epochs or --cv "
        "say otherwise",
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
_RUN_SIZE_DEFAULTS = {"depth": (20, 20), "epochs": (30, 10), "cv": (3, 2)}


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


def _network(task, args, init):
    """The network the steps train (tests swap it for a buggy one)."""
    estimator = MLPFromScratch if task == "classification" else MLPFromScratchRegressor
    return estimator(
        hidden_layer_sizes=(args.width,) * args.depth,
        activation=args.activation,
        init=init,
        max_iter=args.epochs,
        learning_rate_init=LEARNING_RATE,
        random_state=args.seed,
    )


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
    deep = args.deep_depth > 0
    progress = _Progress(4 + deep + (args.plot is not None), err)
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
    checker = gradient_check_step(
        _network, task, args, X_train, y_train, X_test, y_test, out
    )
    progress.done()

    progress.start(
        f"comparing {', '.join(INITS)} and raw inputs with {args.cv}-fold CV"
    )
    results = init_step(_network, task, args, normalizer, X_train, y_train, err)
    raw_scores = raw_inputs_step(_network, task, args, X_train, y_train, err)
    progress.done()
    print_init_table(task, args, results, out)

    deep_results = None
    if deep:
        progress.start(f"training tanh and relu networks at depth {args.deep_depth}")
        deep_results = depth_step(_network, task, args, X_train, y_train, err)
        progress.done()
        print_depth_table(task, args, deep_results, out)

    if args.plot is not None:
        progress.start(f"writing the figures to {args.plot}")
        write_plot(args.plot, checker, results, raw, normalized, deep_results)
        progress.done()

    metric = "accuracy" if task == "classification" else "R^2"
    textbook = results[TEXTBOOK_INIT[args.activation]]["scores"]
    lessons = (
        normalization_lesson(raw, normalized, raw_scores, textbook, metric),
        gradient_check_lesson(checker.reports_, checker.pass_threshold),
        init_lesson(
            results, args.activation, args.depth, metric, chance_score(task, y_train)
        ),
    )
    if deep:
        lessons += (
            depth_lesson(
                deep_results, args.deep_depth, metric, chance_score(task, y_train)
            ),
        )
    print(_section("Summary: what this run showed"), file=out)
    for k, lesson in enumerate(lessons, start=1):
        print(f"\n{format_lesson(k, lesson)}", file=out)
    failed = [stage for stage, r in checker.reports_.items() if not r.passed]
    return EXIT_CHECK_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
