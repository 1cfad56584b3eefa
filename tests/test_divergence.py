"""The divergence policy: only a non-finite loss, gradient or weight stops training."""

import numpy as np
import pytest

from sk_dlsetup import MLPFromScratch, MLPFromScratchRegressor


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
