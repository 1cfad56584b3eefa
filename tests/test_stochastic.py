"""The stochastic loop's pieces: the batch size and the validation split."""

import numpy as np
import pytest

from sk_dlsetup import MLPFromScratch, MLPFromScratchRegressor
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
