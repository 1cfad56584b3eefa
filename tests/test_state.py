"""What training carries between calls: the state and the layer history."""

import numpy as np
import pytest

from sk_dlsetup import MLPFromScratch
from sk_dlsetup.neural_network._state import LayerStatsHistory, TrainingState


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
