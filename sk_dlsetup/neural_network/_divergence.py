"""Divergence: a non-finite loss, gradient or weight, and nothing else.

A finite loss that grows (an outlier target, a large step) never stops
training; it gets a warning at the end (:func:`warn_if_loss_grew`). On
divergence the solvers raise :class:`DivergenceError` (a ``ValueError`` with
scikit-learn's first sentence) with advice fitting the data.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._namespaces import max_abs

# Inputs whose largest magnitude exceeds this are "far from unit scale".
_LARGE_INPUT = 1e3
# A last epoch's loss this many times the first's gets a warning (not an error).
_LOSS_GROWTH = 10.0


class DivergenceError(ValueError):
    """Training produced a non-finite loss, gradient or weight (a ValueError).

    Only this is divergence: a finite loss that grows (an outlier target, a
    large step) never stops training.
    """


def divergence_error(model, X, where):
    """The error for a divergence ``where`` it happened, with advice fitting X."""
    scale = max_abs(X)
    if not np.isfinite(scale) or scale > _LARGE_INPUT:
        advice = (
            "The input data may contain large values and need to be preprocessed: "
            f"they reach {scale:.1e}, far from unit scale. Normalize them first, "
            "e.g. make_pipeline(InputNormalizer(), model)."
        )
    else:
        advice = (
            f"Try a lower learning_rate_init (now {model.learning_rate_init:g}) or "
            "a smaller init scale (init='xavier' or a callable)."
        )
    # scikit-learn's first sentence, word for word, then where and what to try.
    return DivergenceError(
        f"Solver produced non-finite parameter weights. {advice} (Diverged in {where}.)"
    )


def warn_if_loss_grew(model, incremental):
    """A finite loss that grew is no divergence, but worth a word at the end."""
    curve = model.loss_curve_[-model.n_iter_ :] if model.n_iter_ else []
    if incremental or len(curve) < 2 or not curve[-1] > _LOSS_GROWTH * curve[0]:
        return
    warnings.warn(
        f"The training loss grew from {curve[0]:.3g} to {curve[-1]:.3g} over "
        f"{len(curve)} epochs: try a lower learning_rate_init (now "
        f"{model.learning_rate_init:g}) or normalized inputs (InputNormalizer).",
        ConvergenceWarning,
    )
