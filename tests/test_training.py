"""The training pieces: batch sizes, the validation split, layer history, the state
that fit starts from, the BLAS threads."""

import numpy as np
import pytest

from sk_dlsetup import MLPFromScratch, MLPFromScratchRegressor
from sk_dlsetup.neural_network._state import LayerStatsHistory, TrainingState
from sk_dlsetup.neural_network._stochastic import batch_size_for, split_validation


def test_batch_size_auto_and_clipping():
    """'auto' is min(200, n); a size beyond the data is clipped with a warning."""
    assert batch_size_for("auto", 1000) == 200
    assert batch_size_for("auto", 50) == 50
    assert batch_size_for(32, 100) == 32
    with pytest.warns(UserWarning, match="clipped"):
        assert batch_size_for(500, 100) == 100


def test_split_validation_stratifies_single_output_classification():
    """Classification keeps each class's share in the held-out part; sizes add up."""
    X = np.arange(200.0).reshape(100, 2)
    y = np.repeat([0, 1], [80, 20])
    model = MLPFromScratch((2,), validation_fraction=0.25).initialize(X, y)
    Y = y[:, None].astype(float)
    rng = np.random.RandomState(0)
    (X_train, Y_train, sw_train), (X_val, Y_val, sw_val) = split_validation(
        model, rng, X, Y, None
    )
    assert len(X_val) == 25 and len(X_train) == 75
    assert Y_val.sum() == 5  # 20% of the held-out rows, as in the data
    assert sw_train is None and sw_val is None
    regressor = MLPFromScratchRegressor(validation_fraction=0.5)
    regressor.n_outputs_ = 1
    weights = np.ones(100)
    (_, _, sw_train), (_, _, sw_val) = split_validation(regressor, rng, X, Y, weights)
    assert len(sw_train) == len(sw_val) == 50


def test_split_validation_rejects_a_tiny_validation_set():
    """Fewer than 2 held-out rows is scikit-learn's 'validation set is too small'."""
    model = MLPFromScratchRegressor(validation_fraction=0.05)
    model.n_outputs_ = 1
    X, Y = np.zeros((10, 1)), np.zeros((10, 1))
    with pytest.raises(ValueError, match="validation set is too small"):
        split_validation(model, np.random.RandomState(0), X, Y, None)


def test_layer_stats_history_pads_and_tabulates():
    """Rows before the first recorded one are NaN; the table has one row per entry."""
    history = LayerStatsHistory(n_layers=2)
    grads = np.array([[1.0, 2.0], [3.0, 4.0]])
    history.record(grads, np.array([5.0, 6.0]), n_before=2)
    table = history.table(n_rows=4)
    assert set(table) == {"dW_norm", "db_norm", "W_norm"}
    assert all(value.shape == (4, 2) for value in table.values())
    assert np.isnan(table["dW_norm"][:2]).all() and np.isnan(table["W_norm"][3]).all()
    np.testing.assert_array_equal(table["dW_norm"][2], [1.0, 2.0])
    np.testing.assert_array_equal(table["db_norm"][2], [3.0, 4.0])
    np.testing.assert_array_equal(table["W_norm"][2], [5.0, 6.0])


def test_training_state_after_initialize_and_fit(binary_data):
    """initialize records its parameters in a state that fit continues; its rng is
    the model's."""
    X, y = binary_data
    model = MLPFromScratch((4,), max_iter=2, random_state=0).initialize(X, y)
    state = model._training
    assert isinstance(state, TrainingState)
    assert state.initialized_with == model.get_params(deep=False)
    assert state.layer_units == [X.shape[1], 4, 1]
    with pytest.warns(Warning):
        model.fit(X, y)
    assert model._training is state
    assert state.optimizer is not None


# ------------------------------------------------------------- divergence policy


def _healthy_data(kind):
    """Data a user meets: outlier or unscaled targets, unscaled features, raw pixels."""
    rng = np.random.RandomState(0)
    X = rng.randn(200, 5)
    if kind == "outlier target":  # one outlier in each batch of 10 (issue 16)
        y = X.sum(axis=1)
        y[::20] += 3000
        return X, y, MLPFromScratchRegressor
    if kind == "unscaled target":
        return X, 1e3 * X.sum(axis=1) + 500, MLPFromScratchRegressor
    if kind == "unscaled features":
        return 100 * X + 50, X.sum(axis=1), MLPFromScratchRegressor
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:200], y[:200], MLPFromScratch  # raw pixels 0..16


HEALTHY = [
    (data, solver, activation, init, (1, 10, "auto", "full")[i % 4])
    for i, (data, solver, activation, init) in enumerate(
        (d, s, a, n)
        for d in ("outlier target", "unscaled target", "unscaled features", "digits")
        for s in ("sgd", "adam", "lbfgs")
        for a in ("relu", "tanh", "logistic", "identity")
        for n in ("he", "xavier", "random")
    )
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("data, solver, activation, init, batch_size", HEALTHY)
def test_healthy_training_runs_every_epoch(data, solver, activation, init, batch_size):
    """A finite loss, however large or growing, never stops training (144 cases).

    SGD's step grows with the gradient: on targets or features of size 1e3 a
    rate of 1e-3 with momentum overflows for real (scikit-learn's MLPRegressor
    raises on the same data too), so SGD gets a rate for that scale. Adam's
    step is bounded by its rate and keeps the default.
    """
    X, y, Estimator = _healthy_data(data)
    max_iter = 3
    # Unscaled features raise the cost's curvature with their square (the case
    # for InputNormalizer): SGD's stable step shrinks accordingly.
    sgd_rates = {"digits": 1e-3, "unscaled features": 1e-7}
    rate = sgd_rates.get(data, 1e-5) if solver == "sgd" else 1e-3
    model = Estimator(
        hidden_layer_sizes=(8,), solver=solver, activation=activation, init=init,
        batch_size=len(X) if batch_size == "full" else batch_size,
        learning_rate_init=rate, max_iter=max_iter, tol=0.0, random_state=0,
    ).fit(X, y)  # fmt: skip
    if solver == "lbfgs":
        assert 1 <= model.n_iter_ <= max_iter
    else:
        assert model.n_iter_ == len(model.loss_curve_) == max_iter
    assert np.all(np.isfinite(model.loss_curve_))
    for W in model.coefs_ + model.intercepts_:
        assert np.all(np.isfinite(W))


def test_outlier_target_of_issue_16_trains_five_epochs():
    """The reported case: one outlier per batch of 10 trained 0 epochs before."""
    X = np.random.RandomState(0).randn(1000, 5)
    y = X.sum(1)
    y[::100] += 3000
    model = MLPFromScratchRegressor(batch_size=10, max_iter=5, random_state=0)
    with pytest.warns(Warning):
        model.fit(X, y)
    assert model.n_iter_ == len(model.loss_curve_) == 5


def _all_finite(model):
    return all(np.all(np.isfinite(W)) for W in model.coefs_ + model.intercepts_)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_planted_divergence_raises_with_finite_weights(solver):
    """Inputs near float64's maximum overflow: ValueError naming the cure."""
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    model = MLPFromScratchRegressor(solver=solver, random_state=0)
    with (
        pytest.raises(
            ValueError, match=r"non-finite parameter weights.*InputNormalizer"
        ),
        np.errstate(all="ignore"),
    ):
        model.fit(X, rng.randn(10))
    assert _all_finite(model)
    assert np.all(np.isfinite(model.loss_curve_))
    assert model.n_iter_ == len(model.loss_curve_)


def test_divergence_advice_without_large_inputs_names_the_step():
    """Unit-scale inputs that still overflow: the advice is the learning rate."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(50, 3), 1e150 * rng.randn(50)
    model = MLPFromScratchRegressor(
        solver="sgd", learning_rate_init=1.0, random_state=0
    )
    with (
        pytest.raises(ValueError, match="lower learning_rate_init"),
        np.errstate(all="ignore"),
    ):
        model.fit(X, y)
    assert _all_finite(model)


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_divergence_in_a_continued_fit_keeps_the_weights_before_the_call(how):
    """partial_fit / warm_start: a diverging call leaves the model as it was."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(50, 3), rng.randn(50)
    model = MLPFromScratchRegressor(
        solver="sgd", max_iter=2, random_state=0, warm_start=how == "warm_start"
    )
    with pytest.warns(Warning):
        model.fit(X, y)
    before = [W.copy() for W in model.coefs_ + model.intercepts_]
    curve, optimizer = list(model.loss_curve_), model._training.optimizer
    huge = np.finfo(np.float64).max * rng.uniform(size=(50, 3))
    with pytest.raises(ValueError, match="non-finite"), np.errstate(all="ignore"):
        getattr(model, "partial_fit" if how == "partial_fit" else "fit")(huge, y)
    for W, W_before in zip(model.coefs_ + model.intercepts_, before):
        np.testing.assert_array_equal(W, W_before)
    assert model.loss_curve_ == curve
    assert model._training.optimizer is not None
    assert type(model._training.optimizer) is type(optimizer)


def test_lbfgs_runs_scipys_own_blas_on_one_thread(monkeypatch):
    """During L-BFGS, scipy's vendored BLAS has 1 thread; numpy's keeps its own
    (on a problem whose products are large enough for several threads)."""
    from pathlib import Path

    import scipy
    import scipy.optimize
    from threadpoolctl import threadpool_info

    from sk_dlsetup.neural_network import _lbfgs

    scipy_libs = Path(scipy.__file__).parent.with_name("scipy.libs")

    def pools():
        return {
            info["filepath"]: info["num_threads"]
            for info in threadpool_info()
            if info["user_api"] == "blas"
        }

    before = pools()
    if not any(Path(path).parent == scipy_libs for path in before):
        pytest.skip("scipy shares numpy's BLAS here: nothing to limit")
    seen = []
    minimize = scipy.optimize.minimize

    def spy(*args, **kwargs):
        seen.append(pools())
        return minimize(*args, **kwargs)

    monkeypatch.setattr(_lbfgs.scipy.optimize, "minimize", spy)
    rng = np.random.RandomState(0)
    X = rng.randn(20_000, 20)
    with pytest.warns(Warning):
        MLPFromScratchRegressor(
            hidden_layer_sizes=(8,), solver="lbfgs", max_iter=3
        ).fit(X, X.sum(1))
    (during,) = seen
    for path, n_threads in during.items():
        expected = 1 if Path(path).parent == scipy_libs else before[path]
        assert n_threads == expected, path
    assert pools() == before


def test_small_lbfgs_runs_blas_on_one_thread():
    """Small products run on one BLAS thread (waking others costs more than
    they share); large ones keep the default. Read from inside the fit."""
    pytest.importorskip("sklearn.callback")
    from threadpoolctl import threadpool_info

    def blas_threads():
        return max(
            p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"
        )

    class Probe:
        def __init__(self):
            self.seen = []

        def setup(self, estimator, context):
            pass

        def teardown(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context, *, X=None):
            if X is not None and context.task_name == "iteration":
                self.seen.append(blas_threads())  # inside scipy's minimize

    default = blas_threads()
    rng = np.random.RandomState(0)
    for n_rows, expected in ((200, 1), (30_000, default)):
        X = rng.randn(n_rows, 20)
        probe = Probe()
        MLPFromScratchRegressor(
            hidden_layer_sizes=(50,), solver="lbfgs", max_iter=3
        ).set_callbacks(probe).fit(X, X[:, 0])
        assert set(probe.seen) == {expected}, (n_rows, probe.seen)
    assert blas_threads() == default  # restored after the fit
