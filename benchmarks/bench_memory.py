"""Peak memory of training, prediction and a full gradient check.

Peak bytes allocated (``tracemalloc``, which sees every numpy allocation)
while MLPFromScratch trains, predicts and is checked in full mode, printed
next to the size of the data and of the parameters, for growing data sizes.
Training keeps one mini-batch of activations (plus parameter-sized optimizer
state); prediction and the gradient check work in bounded chunks, so their
peak should not grow with the number of rows (prediction) or parameters
(checked entries). scikit-learn's MLPClassifier is measured in the same run
for training and prediction.

Run: ``python benchmarks/bench_memory.py [--sizes 20000 80000 320000]``.
"""

import argparse
import tracemalloc
import warnings

from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sk_dlsetup import MLPFromScratch, check_gradients

HIDDEN = (256, 128)


def peak_mib(function):
    """Peak MiB numpy allocates while ``function`` runs."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[20_000, 80_000, 320_000]
    )
    parser.add_argument("--n-features", type=int, default=100)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)

    print("Training (1 epoch, adam, batch 200) and predict_proba, hidden", HIDDEN)
    print(
        f"{'rows':>8} {'data MiB':>9} {'params MiB':>10} {'ours fit':>9} "
        f"{'sklearn fit':>11} {'ours predict':>12} {'sklearn predict':>15}"
    )
    for n_samples in args.sizes:
        X, y = make_classification(
            n_samples, args.n_features, n_informative=20, n_classes=10, random_state=0
        )
        ours = MLPFromScratch(HIDDEN, max_iter=1, random_state=0)
        theirs = MLPClassifier(HIDDEN, max_iter=1, random_state=0)
        fit_ours = peak_mib(lambda: ours.fit(X, y))  # noqa: B023
        fit_theirs = peak_mib(lambda: theirs.fit(X, y))  # noqa: B023
        predict_ours = peak_mib(lambda: ours.predict_proba(X))  # noqa: B023
        predict_theirs = peak_mib(lambda: theirs.predict_proba(X))  # noqa: B023
        n_params = sum(W.size + b.size for W, b in zip(ours.coefs_, ours.intercepts_))
        print(
            f"{n_samples:8d} {X.nbytes / 2**20:9.1f} {n_params * 8 / 2**20:10.2f} "
            f"{fit_ours:9.1f} {fit_theirs:11.1f} {predict_ours:12.1f} "
            f"{predict_theirs:15.1f}"
        )

    print("\nFull gradient check (64 samples, tanh, float64)")
    print(f"{'layers':>18} {'params':>8} {'params MiB':>10} {'check peak MiB':>14}")
    X, y = make_classification(64, 784, n_informative=20, n_classes=10, random_state=0)
    for hidden in [(16,), (64,), (256, 128)]:
        model = MLPFromScratch(hidden, activation="tanh", init="xavier", random_state=0)
        model.initialize(X, y)
        n_params = sum(W.size + b.size for W, b in zip(model.coefs_, model.intercepts_))
        peak = peak_mib(lambda: check_gradients(model, X, y, mode="full"))  # noqa: B023
        layers = "-".join(str(units) for units in (784, *hidden, 10))
        print(f"{layers:>18} {n_params:8d} {n_params * 8 / 2**20:10.2f} {peak:14.1f}")


if __name__ == "__main__":
    main()
