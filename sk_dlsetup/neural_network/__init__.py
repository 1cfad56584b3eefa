"""The network and its initialization: the numpy MLP estimators.

The math lives in pure functions written once for every array namespace, one
table per kind of rule (``_activations``, ``_losses``, ``_initializers``,
``_optimizers``), each rule beside its derivative; theta's layout in
``_layout``; the network's passes in ``_network``; the objective protocol in
``_objective``. Training: ``_epoch`` (one pass in mini-batches),
``_stochastic`` (the epoch loop, early stopping), ``_lbfgs``, ``_divergence``,
``_blas`` (thread control), ``_state`` (what training carries between calls),
``_parameters`` (the one owner of theta). The estimators validate input
(``_validation``), hold state and orchestrate: what both share in ``_mlp``,
the rest in ``_classifier`` and ``_regressor``.
"""

from ._classifier import MLPFromScratch
from ._regressor import MLPFromScratchRegressor

__all__ = ["MLPFromScratch", "MLPFromScratchRegressor"]
