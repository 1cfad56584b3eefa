"""Why-numbers: vanishing / exploding signals per layer, and input conditioning.

- :func:`layer_statistics` shows, layer by layer, the scale of the
  pre-activations, activations and gradients of a network at its current
  weights: the numbers in which vanishing and exploding signals show.
- :func:`linear_conditioning` measures why normalizing inputs helps: the
  condition number of the Hessian of a linear model's squared loss, which
  bounds both the largest stable gradient-descent step and the number of steps.
- :func:`signal_propagation` measures, before training, whether a deep
  network's input reaches its last layers: the singular values of the
  input-output Jacobian per layer (dynamical isometry versus a dying or
  exploding signal), drawn by :class:`SignalPropagationDisplay`.
- :class:`LayerStatisticsDisplay` and :class:`GradientCheckDisplay` draw them,
  and :class:`LayerHistoryDisplay` the per-layer norms an MLP recorded during
  training (``record_layer_stats=True``); matplotlib is optional:
  ``pip install ".[plot]"`` from a clone.
"""

from ._conditioning import linear_conditioning
from ._gradcheck_display import GradientCheckDisplay
from ._layer_displays import LayerHistoryDisplay, LayerStatisticsDisplay
from ._layer_statistics import layer_statistics
from ._signal_propagation import SignalPropagationDisplay, signal_propagation

__all__ = [
    "GradientCheckDisplay",
    "LayerHistoryDisplay",
    "LayerStatisticsDisplay",
    "SignalPropagationDisplay",
    "layer_statistics",
    "signal_propagation",
    "linear_conditioning",
]
