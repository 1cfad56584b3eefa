"""The network and its initialization: the numpy MLP estimators.

The math lives in pure functions, one table per kind of rule (activations,
losses, initializers, optimizers), each rule beside its derivative; the
network's passes and theta layout in ``_network``; the objective protocol in
``_objective``; the training loops in ``_training``. The estimators validate
input, hold state and orchestrate: what both share in ``_mlp``, the rest in
``_classifier`` and ``_regressor``.
"""

from ._classifier import MLPFromScratch
from ._regressor import MLPFromScratchRegressor

__all__ = ["MLPFromScratch", "MLPFromScratchRegressor"]
