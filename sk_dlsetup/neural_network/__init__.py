"""The network and its initialization: the numpy MLP estimators.

The math lives in pure functions, one table per kind of rule (activations,
losses, initializers, optimizers), each rule beside its derivative; the
network's passes and theta layout in ``_network``; the objective protocol in
``_objective``; the training loops in ``_training``; the estimators, which
validate input and hold state, in ``_mlp``.
"""

from ._mlp import MLPFromScratch, MLPFromScratchRegressor

__all__ = ["MLPFromScratch", "MLPFromScratchRegressor"]
