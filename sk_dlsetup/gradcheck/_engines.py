"""Finite-difference engines behind one interface, and the choice between them.

An engine answers, for block number ``block`` of the objective's blocks::

    engine.entries(block, flat, eps, analytic) -> (numeric, kinks, bound, one_sided)
    engine.directions(block, D, eps, analytic) -> (numeric, kinks, bound, one_sided)

the central differences of the block's entries ``flat`` (or along the rows of
``D``), which of them crossed a kink, the error each may show on a correct
model, and a one-sided re-check of kink entries (NaN elsewhere); ``analytic``
is backprop's value of each, for engines that locate kinks from it. It also
has ``name`` (the report's ``engine``), ``evaluation_noise`` (the round-off of
one evaluation of J), ``unit_roundoff`` (of the dtype it evaluates in),
``full_limit(n_entries)`` (mode 'auto' checks every entry up to that many
parameters), ``cheap_entries`` (a failing directional block is re-checked
entry by entry in full rather than sampled) and ``step_scale_floor`` (the
smallest parameter scale of ``epsilon='auto'``; 0 for none).

- :class:`~._plain.PlainFiniteDifferences`: any objective, two calls of
  ``objective.loss`` per value.
- :class:`~._fast.MLPFiniteDifferences`: sk_dlsetup's MLP objective,
  layer-wise, far cheaper and less noisy.
- :mod:`._methods`: Richardson and complex-step differences (``method=``).
"""

from scipy import sparse

from ..neural_network._objective import MLPObjective
from ._fast import MLPFiniteDifferences
from ._methods import PlainComplexStep, PlainRichardson, Richardson
from ._plain import PlainFiniteDifferences

#: The plain engine of each method.
PLAIN_ENGINES = {
    "central": PlainFiniteDifferences,
    "richardson": PlainRichardson,
    "complex": PlainComplexStep,
}


def uses_mlp_loss(objective):
    """Whether ``objective`` is an :class:`MLPObjective` with the network's own J.

    The fast engine computes J from the network's tables, so it stands in for
    ``objective.loss`` only where that *is* the MLPObjective's ``loss``, not
    for a subclass that redefines it.
    """
    return isinstance(objective, MLPObjective) and type(objective).loss is (
        MLPObjective.loss
    )


#: The fast engine works on a dense float64 copy of X; a sparse X larger than
#: this when dense is checked with plain evaluations, which keep it sparse.
DENSE_LIMIT_BYTES = 64 * 2**20


def make_engine(objective, blocks, theta0, loss0, rng, fast, notes, method="central"):
    """The engine of ``method`` for ``objective``: the MLP fast path if allowed
    and valid (Richardson-extrapolated for 'richardson'; 'complex' evaluates
    the objective on complex theta, so it always takes plain evaluations)."""
    if method == "complex" and fast and uses_mlp_loss(objective):
        notes.append(
            "method='complex' evaluates objective.loss on complex theta: checked "
            "with plain evaluations (the fast path's expansion is real)."
        )
        fast = False
    X = getattr(objective, "X", None)
    too_large = sparse.issparse(X) and 8 * X.shape[0] * X.shape[1] > DENSE_LIMIT_BYTES
    if fast and uses_mlp_loss(objective) and too_large:
        notes.append(
            "X is sparse and too large to densify for the fast path: checked with "
            "plain evaluations of objective.loss."
        )
    elif fast and uses_mlp_loss(objective):
        engine = MLPFiniteDifferences(objective, loss0=loss0)
        return Richardson(engine) if method == "richardson" else engine
    if fast and isinstance(objective, MLPObjective):
        notes.append(
            f"{type(objective).__name__} redefines MLPObjective.loss: checked "
            f"with plain evaluations of objective.loss."
        )
    engine = PLAIN_ENGINES[method]
    return engine(objective, theta0, loss0, blocks=blocks, rng=rng)
