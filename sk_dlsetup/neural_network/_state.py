"""What training carries from one call to the next, besides the weights."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class TrainingState:
    """What training carries from one call to the next, besides the weights.

    Attributes
    ----------
    rng : numpy.random.RandomState
        The stream of shuffles, dropout masks and the early-stopping split,
        from ``check_random_state(random_state)``.
    layer_units : list of int
        ``[n_features, hidden..., n_outputs]``.
    initialized_with : dict or None
        The parameters (``get_params(deep=False)``) ``initialize`` drew the
        weights with; :meth:`~._mlp._BaseMLPFromScratch.fit` starts from
        those weights while they are untrained and the parameters still equal
        these (see ``_starts_from_initialize``).
    optimizer : SGD, Adam or None
        The stochastic optimizer, kept across ``partial_fit`` calls.
    no_improvement_count : int
        Epochs since the loss (or validation score) last improved by ``tol``.
    best_theta : ndarray or None
        The weights of the best validation score (early stopping).
    layer_history : LayerStatsHistory
        Per-epoch layer norms (``record_layer_stats=True``).
    """

    rng: object
    layer_units: list
    initialized_with: dict = None
    optimizer: object = None
    no_improvement_count: int = 0
    best_theta: object = None
    layer_history: object = field(default=None)

    def __post_init__(self):
        if self.layer_history is None:
            self.layer_history = LayerStatsHistory(len(self.layer_units) - 1)


class LayerStatsHistory:
    """Rows ``(dW_norm, db_norm, W_norm)`` per layer, one per ``loss_curve_`` entry.

    Examples
    --------
    >>> history = LayerStatsHistory(n_layers=2)
    >>> history.record(np.ones((2, 2)), np.full(2, 3.0), n_before=1)
    >>> table = history.table(n_rows=2)
    >>> table["W_norm"]  # row 0: an epoch trained without recording
    array([[nan, nan],
           [ 3.,  3.]])
    """

    KEYS = ("dW_norm", "db_norm", "W_norm")

    def __init__(self, n_layers):
        self.n_layers = n_layers
        self.rows = []

    def clear(self):
        self.rows = []

    def record(self, grad_norms, weight_norms, n_before):
        """Append the row of ``loss_curve_[n_before]`` (earlier rows padded)."""
        self._pad(n_before)
        self.rows.append(np.vstack([grad_norms, weight_norms]))

    def _pad(self, n_rows):
        """Rows of NaN up to ``n_rows``: for epochs trained with recording off
        (warm start), so that row i always belongs to loss_curve_[i]."""
        missing = n_rows - len(self.rows)
        self.rows += [np.full((3, self.n_layers), np.nan)] * missing

    def table(self, n_rows):
        """``{'dW_norm', 'db_norm', 'W_norm'}``: arrays of shape (n_rows, n_layers)."""
        self._pad(n_rows)
        table = np.array(self.rows[:n_rows]).reshape(n_rows, 3, self.n_layers)
        return {key: table[:, i].copy() for i, key in enumerate(self.KEYS)}


def same_params(a, b):
    """Whether two ``get_params(deep=False)`` dicts hold the same values.

    Examples
    --------
    >>> same_params({"alpha": 1e-4, "init": "he"}, {"alpha": 1e-4, "init": "he"})
    True
    >>> same_params({"hidden_layer_sizes": (3,)}, {"hidden_layer_sizes": [3]})
    False
    """
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        other = b[key]
        if value is other:
            continue
        if type(value) is not type(other):
            return False
        try:
            if not bool(np.all(value == other)):
                return False
        except (TypeError, ValueError):
            return False
    return True
