"""MLPFromScratch passes the gradient check in every configuration, at every stage."""

import itertools
import warnings

import numpy as np
import pytest

from sk_dlsetup import MLPFromScratch, MLPFromScratchRegressor, check_gradients

MODES = ["auto", "full", "sampled", "directional"]


def _data(dtype, regression):
    rng = np.random.RandomState(0)
    X = rng.randn(36, 4).astype(dtype)
    if regression:
        return X, np.c_[X[:, 0] * X[:, 1], X[:, 2]].astype(dtype)
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.4).astype(int)


def _stages(model, X, y):
    """Yield "init" once ``model`` is initialized, then "fitted" once it is trained."""
    model.initialize(X, y)
    yield "init"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    yield "fitted"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("init", ["he", "xavier", "random"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_mlp_passes_in_every_configuration(activation, init, dtype):
    """Every alpha x dropout x stage x mode passes (never 'fail'), float32 too."""
    for alpha, dropout in itertools.product([0.0, 1e-2], [0.0, 0.3]):
        regression = dropout > 0 and alpha > 0  # the regressor takes a turn
        X, y = _data(dtype, regression)
        Model = MLPFromScratchRegressor if regression else MLPFromScratch
        model = Model(
            hidden_layer_sizes=(5, 4),
            activation=activation,
            init=init,
            alpha=alpha,
            dropout=dropout,
            learning_rate_init=0.01,
            max_iter=40,
            random_state=0,
        )
        for stage in _stages(model, X, y):
            for mode in MODES:
                report = check_gradients(model, X, y, mode=mode, n_entries=25)
                context = f"{alpha=} {dropout=} {stage=} {mode=}\n{report}"
                assert report.verdict == "pass", context
                assert report.difference < 1e-9, context


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_mlp_plain_engine_never_fails(activation):
    """The plain engine (no fast path) judges the same models 'pass' or 'warn'."""
    X, y = _data(np.float32, regression=False)
    model = MLPFromScratch(
        hidden_layer_sizes=(5,),
        activation=activation,
        alpha=1e-2,
        dropout=0.3,
        max_iter=40,
        random_state=0,
    )
    for _ in _stages(model, X, y):
        for mode in ("full", "directional"):
            report = check_gradients(model, X, y, mode=mode, fast=False)
            assert report.engine == "plain" and report.passed, str(report)
