"""SGD and Adam on a flat vector against scikit-learn's stochastic optimizers."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from sk_dlsetup.neural_network._optimizers import OPTIMIZERS, SGD, Adam

N_PARAMS = 23
N_STEPS = 6


def _gradients(rng, n_steps=N_STEPS):
    return [rng.standard_normal(N_PARAMS) for _ in range(n_steps)]


def _run_both(ours, theirs, theta, grads, samples_per_step=10):
    """Apply the same gradients to our flat theta and scikit-learn's [theta copy]."""
    ref = theta.copy()
    for step, grad in enumerate(grads, start=1):
        ours.update(theta, grad.astype(theta.dtype))
        theirs.update_params([ref], [grad])
        ours.iteration_ends(step * samples_per_step)
        theirs.iteration_ends(step * samples_per_step)
        assert_allclose(ours.learning_rate, theirs.learning_rate, rtol=1e-15)
    return ref


@pytest.mark.parametrize("nesterov", [True, False], ids=["nesterov", "classical"])
@pytest.mark.parametrize("lr_schedule", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("momentum", [0.9, 0.0])
def test_sgd_matches_sklearn(nesterov, lr_schedule, momentum, rng):
    """Several SGD steps give scikit-learn's SGDOptimizer weights and learning rate."""
    theta = rng.standard_normal(N_PARAMS)
    kwargs = dict(
        learning_rate_init=0.05,
        lr_schedule=lr_schedule,
        momentum=momentum,
        nesterov=nesterov,
        power_t=0.4,
    )
    ours = SGD(N_PARAMS, np.float64, **kwargs)
    theirs = SGDOptimizer([theta.copy()], **kwargs)
    ref = _run_both(ours, theirs, theta, _gradients(rng))
    assert_allclose(theta, ref, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(
    "beta_1, beta_2, epsilon", [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-3)]
)
def test_adam_matches_sklearn(beta_1, beta_2, epsilon, rng):
    """Several Adam steps give scikit-learn's AdamOptimizer weights and step size."""
    theta = rng.standard_normal(N_PARAMS)
    kwargs = dict(
        learning_rate_init=0.01, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon
    )
    ours = Adam(N_PARAMS, np.float64, **kwargs)
    theirs = AdamOptimizer([theta.copy()], **kwargs)
    ref = _run_both(ours, theirs, theta, _gradients(rng))
    assert ours.t == theirs.t == N_STEPS
    assert_allclose(theta, ref, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_optimizer_float32_tracks_float64_reference(solver, rng):
    """A float32 optimizer keeps theta float32 and close to scikit-learn's float64."""
    theta = rng.standard_normal(N_PARAMS)
    ours = OPTIMIZERS[solver](N_PARAMS, np.float32, 0.01)
    theirs = (SGDOptimizer if solver == "sgd" else AdamOptimizer)([theta.copy()], 0.01)
    theta32 = theta.astype(np.float32)
    ref = _run_both(ours, theirs, theta32, _gradients(rng))
    assert theta32.dtype == np.float32
    assert_allclose(theta32, ref, rtol=1e-5, atol=1e-6)


def test_sgd_adaptive_trigger_stopping_matches_sklearn(capsys):
    """'adaptive' divides the rate by 5 down to 1e-6 and prints as scikit-learn."""
    ours = SGD(3, np.float64, 0.1, lr_schedule="adaptive")
    theirs = SGDOptimizer([np.zeros(3)], 0.1, lr_schedule="adaptive")
    decisions = []
    for _ in range(20):
        stop = ours.trigger_stopping("No progress.", verbose=True)
        ours_out = capsys.readouterr().out
        assert stop == theirs.trigger_stopping("No progress.", verbose=True)
        assert ours_out == capsys.readouterr().out
        assert ours.learning_rate == theirs.learning_rate
        decisions.append(stop)
        if stop:
            break
    # 0.1 / 5**k <= 1e-6 first at k = 8: eight divisions, then stop.
    assert decisions == [False] * 8 + [True]
    assert "Learning rate too small" in ours_out


@pytest.mark.parametrize("solver, lr_schedule", [("sgd", "constant"), ("adam", None)])
def test_optimizer_non_adaptive_trigger_stopping_stops(solver, lr_schedule, capsys):
    """Without 'adaptive', trigger_stopping stops at once, as scikit-learn's."""
    if solver == "sgd":
        ours = SGD(3, np.float64, lr_schedule=lr_schedule)
        theirs = SGDOptimizer([np.zeros(3)], lr_schedule=lr_schedule)
    else:
        ours, theirs = Adam(3, np.float64), AdamOptimizer([np.zeros(3)])
    assert ours.trigger_stopping("Done.", verbose=True) is True
    ours_out = capsys.readouterr().out
    assert theirs.trigger_stopping("Done.", verbose=True) is True
    assert ours_out == capsys.readouterr().out == "Done. Stopping.\n"


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_optimizer_pickle_round_trip_continues_identically(solver, rng):
    """A pickled optimizer resumes with the same state and the same next update."""
    theta = rng.standard_normal(N_PARAMS)
    optimizer = OPTIMIZERS[solver](N_PARAMS, np.float64, 0.01)
    optimizer.update(theta, rng.standard_normal(N_PARAMS))
    restored = pickle.loads(pickle.dumps(optimizer))
    grad = rng.standard_normal(N_PARAMS)
    theta_restored = theta.copy()
    optimizer.update(theta, grad)
    restored.update(theta_restored, grad)
    np.testing.assert_array_equal(theta_restored, theta)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_numpy_scalar_hyperparameters_keep_float32_arithmetic(solver, rng):
    """np.float64 hyperparameters (say from np.logspace) give the Python-float bits.

    A numpy float64 scalar would make numpy compute each float32 pass in
    float64 and round back, which changes the bits (and is 6x slower).
    """
    theta = rng.standard_normal(N_PARAMS).astype(np.float32)
    grads = [g.astype(np.float32) for g in _gradients(rng)]
    if solver == "sgd":
        params = dict(learning_rate_init=0.05, momentum=0.85, power_t=0.4)
        params["lr_schedule"] = "invscaling"
    else:
        params = dict(learning_rate_init=0.01, beta_1=0.85, beta_2=0.99, epsilon=1e-3)
    results = []
    for cast in (float, np.float64):
        ours = OPTIMIZERS[solver](
            N_PARAMS,
            np.float32,
            **{k: cast(v) if isinstance(v, float) else v for k, v in params.items()},
        )
        weights = theta.copy()
        for step, grad in enumerate(grads, start=1):
            ours.update(weights, grad)
            ours.iteration_ends(step * 10)
        results.append(weights)
    np.testing.assert_array_equal(results[1], results[0])
