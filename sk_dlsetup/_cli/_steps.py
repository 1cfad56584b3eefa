"""The command line's steps: normalize, check the gradients, compare inits, plot.

Each step takes ``network_for(task, args, init)``, the factory of the network
it trains, and prints its section of the report.
"""

import time

import numpy as np
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline

from .._text import fmt, text_table
from ..diagnostics import layer_statistics, linear_conditioning
from ..gradcheck import GradientChecker
from ..preprocessing import InputNormalizer
from ._data import DataError
from ._lessons import TEXTBOOK_INIT, per_layer_factor

INITS = ("he", "xavier", "random")

#: Adam's step size in every fit of the main job: deep (20-layer) networks
#: train in a few dozen epochs with it once the inputs are normalized.
LEARNING_RATE = 1e-2


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


def _section(title):
    return f"\n{title}\n{'=' * len(title)}"


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
            fmt(raw["condition_number"]),
            fmt(normalized["condition_number"]),
        ),
        (
            "largest stable gradient-descent step",
            fmt(raw["max_stable_learning_rate"]),
            fmt(normalized["max_stable_learning_rate"]),
        ),
        (
            "steps to shrink the error 1e6 times",
            fmt(raw["steps_to_tolerance"]),
            fmt(normalized["steps_to_tolerance"]),
        ),
    ]
    print(text_table(["", "raw", "normalized"], rows), file=out)
    print("The test set is transformed with these same training statistics.", file=out)
    return normalizer, raw, normalized


def _trained_pipeline(task, *steps):
    """The steps as a pipeline; for regression the target is standardized too.

    A raw regression target (house prices, disease progression) is as badly
    scaled for the output layer as raw inputs are for the first one: a
    TransformedTargetRegressor trains on the standardized target and predicts
    (and scores) in the target's own units.
    """
    pipeline = make_pipeline(*steps)
    if task == "classification":
        return pipeline
    return TransformedTargetRegressor(regressor=pipeline, transformer=InputNormalizer())


def _last_step(model):
    """The fitted network (or checker) at the end of a trained pipeline."""
    pipeline = model.regressor_ if hasattr(model, "regressor_") else model
    return pipeline[-1]


def _scaled_target(task, y):
    """The target the network trains on (standardized for regression)."""
    if task == "classification":
        return y
    return InputNormalizer().fit_transform(np.asarray(y, float).reshape(-1, 1)).ravel()


def gradient_check_step(network_for, task, args, X_train, y_train, X_test, y_test, out):
    """GradientChecker in a Pipeline: check at init, train, check again."""
    network = network_for(task, args, TEXTBOOK_INIT[args.activation])
    checker = GradientChecker(network, on_failure="ignore", random_state=args.seed)
    model = _trained_pipeline(task, InputNormalizer(), checker).fit(X_train, y_train)
    checker = _last_step(model)
    print(_section("2. Check backpropagation against finite differences"), file=out)
    if task != "classification":
        print(
            f"The target (mean {np.mean(y_train):.3g}, std {np.std(y_train):.3g}) is "
            "standardized for training with its training mean and std, like the "
            "inputs;\npredictions and R^2 are in its own units.",
            file=out,
        )
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
    net = _last_step(model).estimator_
    return "-".join(
        str(n) for n in [X.shape[1], *net.hidden_layer_sizes, net.n_outputs_]
    )


def _folds(task, args):
    if task == "classification":
        return StratifiedKFold(args.cv, shuffle=True, random_state=args.seed)
    return KFold(args.cv, shuffle=True, random_state=args.seed)


def _cv_scores(task, args, steps, X_train, y_train, progress):
    """Cross-validated scores of a fresh pipeline of ``steps()`` per fold."""
    scores = []
    for k, (train, test) in enumerate(_folds(task, args).split(X_train, y_train), 1):
        progress(k)
        model = _trained_pipeline(task, *steps()).fit(X_train[train], y_train[train])
        scores.append(model.score(X_train[test], y_train[test]))
    return np.array(scores)


def raw_inputs_step(network_for, task, args, X_train, y_train, progress_stream):
    """CV scores of the textbook-init network trained on the raw inputs."""
    network = network_for(task, args, TEXTBOOK_INIT[args.activation])

    def progress(k):
        print(f"      raw inputs: fold {k}/{args.cv}", file=progress_stream, flush=True)

    return _cv_scores(task, args, lambda: [clone(network)], X_train, y_train, progress)


def init_step(network_for, task, args, normalizer, X_train, y_train, progress_stream):
    """Signal per layer at init and cross-validated scores of each scheme."""
    X_normalized = normalizer.transform(X_train)
    y_scaled = _scaled_target(task, y_train)
    results = {}
    for init in INITS:
        network = network_for(task, args, init)
        stats = layer_statistics(
            clone(network).initialize(X_normalized, y_scaled), X_normalized, y_scaled
        )

        def progress(k, init=init):
            print(f"      {init}: fold {k}/{args.cv}", file=progress_stream, flush=True)

        scores = _cv_scores(
            task,
            args,
            lambda network=network: [InputNormalizer(), clone(network)],
            X_train,
            y_train,
            progress,
        )
        final = _trained_pipeline(
            task, InputNormalizer(), clone(network).set_params(record_layer_stats=True)
        ).fit(X_train, y_train)
        results[init] = {
            "stats": stats,
            "scores": scores,
            "loss_curve": list(_last_step(final).loss_curve_),
            "layer_stats": _last_step(final).layer_stats_,
        }
    return results


def chance_score(task, y_train):
    """The score of a model that ignores X: the majority class, or R^2 = 0."""
    if task != "classification":
        return 0.0
    _, counts = np.unique(y_train, return_counts=True)
    return counts.max() / counts.sum()


def print_init_table(task, args, results, out):
    metric = "accuracy" if task == "classification" else "R^2"
    print(
        _section(f"3. Initialization schemes ({args.cv}-fold cross-validation)"),
        file=out,
    )
    print(
        f"{args.depth} hidden layers of {args.width} {args.activation} units, "
        f"{args.epochs} epochs of adam (learning rate {LEARNING_RATE:g}).\n"
        "At initialization: the std of the first and last hidden layers' "
        "activations, its mean change per layer,\nand the gradient norm of W1; "
        "then W1's mean mini-batch gradient norm in the last training epoch.",
        file=out,
    )
    rows = []
    for init, result in results.items():
        stats, scores = result["stats"], result["scores"]
        rows.append(
            (
                init,
                fmt(stats[0]["activation_std"]),
                fmt(stats[-2]["activation_std"] if len(stats) > 1 else np.nan),
                f"{per_layer_factor(stats):.3f}",
                fmt(stats[0]["dW_norm"]),
                fmt(result["layer_stats"]["dW_norm"][-1, 0]),
                f"{scores.mean():.3f} +/- {scores.std():.3f}",
                fmt(result["loss_curve"][-1]),
            )
        )
    head = [
        "init",
        "std A[1]",
        f"std A[{args.depth}]",
        "per layer",
        "||dW1||",
        "||dW1|| last epoch",
        f"CV {metric}",
        "final training loss",
    ]
    print(text_table(head, rows), file=out)


# ---------------------------------------------------------------------- plots


def write_plot(path, checker, results, raw, normalized, deep_results=None):
    """A 2 x 2 figure: signal and gradient per layer, the checks, loss curves;
    with ``deep_results`` a third row: the Jacobian spread at depth."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise DataError(
            "--plot requires matplotlib: pip install matplotlib (or pip install "
            "'.[plot]' from a clone of sk_dlsetup)"
        ) from None
    from ..diagnostics import GradientCheckDisplay, LayerStatisticsDisplay

    n_rows = 2 if deep_results is None else 3
    fig, axes = plt.subplots(n_rows, 2, figsize=(12, 4.25 * n_rows))
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
    if deep_results is not None:
        from ._depth import spread_panels

        spread_panels(axes[2], deep_results)
    fig.suptitle(
        "Normalized inputs: condition number "
        f"{fmt(raw['condition_number'])} -> {fmt(normalized['condition_number'])}"
    )
    fig.tight_layout()
    try:
        fig.savefig(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot write the figure to {path}: {exc}") from None
    finally:
        plt.close(fig)
