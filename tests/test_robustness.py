"""Faults users hit in long runs: interrupts, extreme inputs, divergence."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sk_dlsetup import MLPFromScratch, MLPFromScratchRegressor
from sk_dlsetup.neural_network import _epoch


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def test_keyboard_interrupt_keeps_last_completed_epoch(digits, monkeypatch):
    """Ctrl-C in epoch 3 leaves exactly the model of 2 completed epochs."""
    X, y = digits
    model = MLPFromScratch((16,), max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = clone(model).set_params(max_iter=2).fit(X, y)

    run = _epoch.Epoch.run
    calls = {"n": 0}

    def interrupted_run(self):
        calls["n"] += 1
        if calls["n"] == 3:
            # Interrupt mid-epoch: some batches already moved the weights.
            self.batch_size = 50
            run(self)
            raise KeyboardInterrupt
        return run(self)

    monkeypatch.setattr(_epoch.Epoch, "run", interrupted_run)
    with pytest.warns(UserWarning, match="interrupted"):
        model.fit(X, y)
    assert model.n_iter_ == 2
    assert model.loss_curve_ == reference.loss_curve_
    for W, W_ref in zip(
        model.coefs_ + model.intercepts_, reference.coefs_ + reference.intercepts_
    ):
        np.testing.assert_array_equal(W, W_ref)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


@pytest.mark.parametrize("scale", [1e150, 1e-300])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_objective_is_finite_on_extreme_inputs(digits, scale, activation):
    """Inputs around 1e150 or 1e-300 give a finite loss and a finite gradient."""
    X, y = digits
    model = MLPFromScratch((8,), activation=activation, random_state=0)
    model.initialize(X * scale, y)
    objective = model.objective(X * scale, y)
    loss = objective.loss(objective.theta0)
    gradient = objective.gradient(objective.theta0)
    assert np.isfinite(loss)
    assert np.all(np.isfinite(gradient))
    # A saturated softmax costs the logit gap, not log(0): at 1e150 the loss is huge
    # but finite; at 1e-300 the network sees ~zero input and, when g(0) = 0,
    # outputs the uniform distribution (biases start at 0).
    if scale < 1 and activation != "logistic":  # g(0) = 0: uniform output
        penalty = 0.5 * model.alpha * sum(np.sum(W**2) for W in model.coefs_) / len(X)
        assert loss == pytest.approx(np.log(10) + penalty, rel=1e-12)


@pytest.mark.parametrize("logit", [-1e4, 1e4, 800.0])
def test_saturated_binary_output_loss_matches_closed_form(logit):
    """A logistic output saturated at +-1e4 costs softplus(z) - y z, not log(0)."""
    X = np.ones((2, 1))
    y = np.array([0, 1])
    model = MLPFromScratch((), random_state=0).initialize(X, y)
    model.coefs_[0][...] = logit
    objective = model.objective(X, y)
    expected = np.mean([np.logaddexp(0, logit), np.logaddexp(0, logit) - logit])
    expected += 0.5 * model.alpha * logit**2 / 2
    assert objective.loss(objective.theta0) == pytest.approx(expected, rel=1e-12)
    assert np.all(np.isfinite(objective.gradient(objective.theta0)))


def test_divergence_keeps_finite_weights_and_says_what_to_try(digits):
    """Raw inputs of 1e6 and a large step overflow: ValueError, finite weights."""
    X, y = digits
    raw = X * 1e6
    model = MLPFromScratchRegressor(
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=10.0,
        max_iter=20,
        random_state=0,
    )
    with pytest.raises(ValueError, match="InputNormalizer"), np.errstate(all="ignore"):
        model.fit(raw, y.astype(float))
    assert model.n_iter_ == len(model.loss_curve_) == 1  # epoch 2 diverged
    for W in model.coefs_ + model.intercepts_:
        assert np.all(np.isfinite(W))
    assert all(np.isfinite(loss) for loss in model.loss_curve_)
    assert np.all(np.isfinite(model.predict(raw)))
