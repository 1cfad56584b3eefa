"""check_gradients: backprop against central finite differences, block by block.

The orchestration: build the objective (:mod:`._protocol`), pick the mode,
the entries and the steps, get finite differences from an engine (one
interface, :mod:`._engines`: the MLP fast path or the plain one), have the
judge (:mod:`._judge`) weigh every block against the verdict scale and the
estimated noise, and assemble a :class:`~sk_dlsetup.GradientCheckReport`.
"""

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from .._compat import Interval, StrOptions, validate_params
from ._engines import make_engine
from ._functions import make_objective
from ._judge import Judge
from ._protocol import (
    as_float64_objective,
    build_objective,
    gradient_vector,
    scalar_loss,
    validate_blocks,
)
from ._runner import Runner, select_entries

MODES = ("auto", "full", "sampled", "directional")
METHODS = ("central", "richardson", "complex")


class _DefaultStep(float):
    """``epsilon``'s default, 1e-7: 'central' takes it as it is, the other
    methods their own step (an explicit 1e-7 is a plain float, used as given)."""

    def __repr__(self):
        return "1e-07"

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return "DEFAULT_EPSILON"


#: The default ``epsilon`` of :func:`check_gradients` and ``GradientChecker``.
DEFAULT_EPSILON = _DefaultStep(1e-7)

#: Constraints shared by :func:`check_gradients` and ``GradientChecker``.
CHECK_CONSTRAINTS = {
    "epsilon": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    "mode": [StrOptions(set(MODES))],
    "method": [StrOptions(set(METHODS))],
    "n_entries": [Interval(Integral, 1, None, closed="left")],
    "n_directions": [Interval(Integral, 1, None, closed="left")],
    "detect": [Interval(Real, 0, None, closed="neither"), None],
    "pass_threshold": [Interval(Real, 0, None, closed="neither")],
    "fail_threshold": [Interval(Real, 0, None, closed="neither")],
    "noise_aware": ["boolean"],
    "dropout": [StrOptions({"frozen", "off"})],
    "fast": ["boolean"],
    "random_state": ["random_state"],
}

_L2_DOMINATES = 0.5


@validate_params(
    {
        "estimator": "no_validation",
        "X": ["array-like", "sparse matrix", None, callable],
        "y": ["array-like", None, dict, Real],
        "sample_weight": ["array-like", None],
        **CHECK_CONSTRAINTS,
    },
    prefer_skip_nested_validation=True,
)
def check_gradients(
    estimator,
    X=None,
    y=None,
    *,
    sample_weight=None,
    epsilon=DEFAULT_EPSILON,
    method="central",
    mode="auto",
    n_entries=2000,
    n_directions=2,
    detect=None,
    pass_threshold=1e-6,
    fail_threshold=1e-3,
    noise_aware=True,
    dropout="frozen",
    fast=True,
    random_state=0,
):
    """Check backpropagation against central finite differences.

    Compares backprop's ``g = objective.gradient(theta0)`` with central
    differences evaluated in float64, for every parameter block
    ``W1, b1, ..., WL, bL``,

    .. math::

        a_i = \\frac{J(\\theta + \\varepsilon e_i) - J(\\theta - \\varepsilon e_i)}
            {2 \\varepsilon},
        \\qquad
        \\text{difference} = \\frac{\\lVert a - g \\rVert_2}
            {\\lVert a \\rVert_2 + \\lVert g \\rVert_2},

    over the checked entries, and returns a :class:`GradientCheckReport` whose
    rows locate a disagreement (block, worst entry, analytic / numeric ratio).

    Parameters
    ----------
    estimator : object
        An initialized or fitted model with ``objective(X, y)`` returning an
        object that follows the objective protocol (``theta0``, ``blocks``,
        ``loss(theta)``, ``gradient(theta)``), such as
        :class:`~sk_dlsetup.MLPFromScratch`. Or such an objective itself, with
        ``X`` and ``y`` left out (:func:`make_objective` makes one of the
        functions you wrote). Or your loss function, followed by your gradient
        function and your parameters, as for ``scipy.optimize.check_grad``:
        ``check_gradients(loss, gradient, params)`` checks
        ``make_objective(loss, gradient, params)``.
    X : array-like of shape (n_samples, n_features), default=None
        The rows the objective is built on. Floating-point X is passed as
        float64, so a float32 model is checked through a float64 evaluation.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        The targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Passed to ``objective``.
    epsilon : float > 0 or 'auto', default=1e-7
        The finite-difference step, used as given when given. Left at its
        default, 'central' takes 1e-7 (the lecture's) and the other methods
        their 'auto' step. 'auto' takes, for each block,
        ``cbrt(u) * max(rms(block), floor)`` with ``u`` the unit round-off of
        the evaluation dtype (``rms(theta)`` for a block of zeros on the fast
        path): the step balancing truncation and round-off error of a central
        difference. With plain evaluations the floor is 1 (their round-off falls
        as the step grows, and small weights do not make the function less
        curved); on the MLP fast path, whose round-off is relative to the
        difference itself, there is none. Entries that step cannot judge
        (unresolved, or bounded too loosely to see a ``fail_threshold`` error)
        are retried with steps 30 and 1000 times larger, each value taken only
        where it crosses no kink, bounds the error more tightly and agrees with
        the smaller step's within their bounds. For 'richardson',
        ``u^(1/5)`` replaces ``cbrt(u)`` (its error is ``O(h^4)``); for
        'complex', ``1e-20`` (no subtraction, no round-off floor).
    method : {'central', 'richardson', 'complex'}, default='central'
        'central': the two-sided difference above, error ``O(eps^2)``.
        'richardson': ``(4 D(eps/2) - D(eps)) / 3`` from the central
        differences at ``eps`` and ``eps/2``, error ``O(eps^4)``, four
        evaluations per entry (a correct float64 gradient reaches about
        1e-11). 'complex': the complex step ``Im J(theta + i eps e_i) / eps``,
        exact to round-off (no subtraction), one complex evaluation per
        entry; the objective must evaluate on complex theta (sk_dlsetup's MLP
        objective does for every activation and loss, ReLU on the real part's
        sign; a NumPy function usually does): one that cannot, or that is not
        complex-analytic, is a ValueError naming 'richardson'. On the MLP fast
        path 'richardson' combines two of its expansions; 'complex' evaluates
        the objective itself.
    mode : {'auto', 'full', 'sampled', 'directional'}, default='auto'
        'full' checks every entry; 'sampled' a stratified random sample of
        ``n_entries`` entries in which every block (biases included) has its
        share; 'directional' ``n_directions`` random Gaussian unit directions
        per block, each row stating its ``detectable_error`` (what the check
        is sure to catch), re-checking a failing block entry by entry so
        the report still localizes the bug; 'auto' is 'full' up to 300,000
        parameters on the MLP fast path and up to ``n_entries`` parameters
        otherwise, else 'sampled'. The report's ``mode`` says which was used.
    n_entries : int, default=2000
        Budget of the 'sampled' mode (at least one entry per block).
    n_directions : int, default=2
        Directions per block of the 'directional' mode.
    detect : float > 0 or None, default=None
        Directional mode (implied by 'auto'): as many directions per block
        (up to 64) as it takes to catch any error ``delta`` of the block's
        gradient with ``||delta|| / ||g|| >= detect`` with probability 0.999,
        whatever its direction (see Notes); a note names a block where 64
        are not enough. With mode 'full' or 'sampled' a ValueError.
    pass_threshold, fail_threshold : float, default=1e-6, 1e-3
        The verdict scale: 'pass' below ``pass_threshold``, 'fail' from
        ``fail_threshold`` on (and when not finite), 'warn' between.
    noise_aware : bool, default=True
        Judge every entry against its own error bound too (round-off plus the
        step's truncation, see Notes): a block whose entries all agree within
        their bounds is 'pass', an error within 3 bounds is never 'fail', one
        1000 times above them is 'fail' from ``pass_threshold`` on, and
        entries finite differences cannot resolve (both values below the
        bound) are counted in ``n_unresolved`` and left out. False: every
        entry that crossed no kink counts, and the thresholds alone decide.
    dropout : {'frozen', 'off'}, default='frozen'
        Passed to ``objective`` if it takes it: 'frozen' checks with one fixed
        dropout mask (the dropout backward pass is checked too), 'off' with
        keep_prob = 1.
    fast : bool, default=True
        Use the layer-wise fast path for sk_dlsetup's MLP objectives (equal to
        plain evaluation up to round-off, and less noisy); False evaluates
        ``objective.loss`` at every perturbed theta.
    random_state : int, RandomState instance or None, default=0
        Seeds the sampled entries, the directions and the noise probe: the
        same inputs give a bit-identical report.

    Returns
    -------
    report : GradientCheckReport
        ``report.verdict``, ``report.difference`` and one row per block.

    Raises
    ------
    TypeError
        If ``estimator`` has no ``objective`` method, or what it returns lacks
        part of the objective protocol.

    See Also
    --------
    GradientChecker : Checks at initialization and after training, inside fit.
    scipy.optimize.check_grad : One-sided differences and an absolute norm.

    Notes
    -----
    *Kinks.* Entries whose two evaluations see a ReLU pre-activation change
    sign cross a kink, where the central difference is not a derivative: they
    are counted in ``n_kinks`` and left out of the difference and the verdict,
    and re-checked with the one-sided difference on the side away from the
    kink (``kink_difference``, for information). They are found exactly on the
    fast path, through an objective's optional ``kink_signature(theta)`` method
    (any array that changes when a kink is crossed), or else from one-sided
    differences (the analytic value matches one side, not the other).

    *Error bounds.* Each value comes with the error a correct gradient may
    show at that entry, from that entry alone. Plain engine: a third
    evaluation ``J(theta + 2 eps e_i)`` gives the third difference, which
    measures the entry's round-off and the step's truncation error
    ``eps^2 J'''(theta) / 6``; it is evaluated for a sample of entries and for
    every entry whose error exceeds what round-off alone explains (about two
    evaluations per entry on a correct gradient, three on a suspicious one). Fast path:
    round-off of the sums over samples (its own and backprop's, from the sizes
    of their terms) plus the truncation error from a second step. An entry
    whose analytic and numeric values both lie below its bound is
    *unresolved* (a vanishing gradient, a plateau): counted, left out of the
    difference, never making a verdict worse; a block of only such entries
    has the verdict 'unresolved', and a check that resolved nothing is
    'warn'. The report's ``noise`` is the round-off of ``J`` measured once
    with ECnoise (Moré and Wild), for information.

    *What a directional check could miss.* For a unit direction ``u``
    uniform on the sphere of a block's ``n`` entries, ``(u . delta)^2 /
    ||delta||^2`` follows Beta(1/2, (n - 1)/2) whatever ``delta`` is; with
    ``k`` directions the largest projection is at least ``s ||delta||`` with
    probability 0.999 for ``s^2`` that law's ``0.001^(1/k)`` quantile. Every
    direction gets its own bound (the bug cannot change it), and the judge's
    'fail' rules then give the smallest ``||delta||`` caught: the row's
    ``detectable_error``.

    *Fast path.* For sk_dlsetup's MLPs, activations below the perturbed layer
    are cached and each perturbed column's effect on the loss is a function of
    one scalar per sample, expanded once per column (see
    ``sk_dlsetup.gradcheck._fast``); the values equal plain evaluation to
    round-off, with changes propagated without cancellation, so a correct
    float64 model scores ~1e-14 instead of ~1e-7 at ``epsilon=1e-7``.

    *Optional hooks* of the objective protocol: ``kink_signature(theta)``,
    ``penalty_gradient(theta)`` (the report's L2 share) and
    ``loss_and_gradient(theta)`` (one pass for ``J`` and ``g``).

    References
    ----------
    J. J. Moré and S. M. Wild, "Estimating computational noise", SIAM J. Sci.
    Comput. 33(3), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dlsetup import MLPFromScratch, check_gradients
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(30, 4), rng.randint(0, 3, 30)
    >>> model = MLPFromScratch(hidden_layer_sizes=(5,), activation="tanh",
    ...                        random_state=0).initialize(X, y)
    >>> report = check_gradients(model, X, y)
    >>> report.verdict, bool(report.difference < 1e-9)
    ('pass', True)

    Any object following the objective protocol can be checked directly; here
    one whose gradient of ``b1`` is twice too large:

    >>> objective = model.objective(X, y)
    >>> class DoubledB1:
    ...     theta0, blocks, loss = objective.theta0, objective.blocks, objective.loss
    ...     def gradient(self, theta):
    ...         grad = objective.gradient(theta)
    ...         grad[objective.blocks[1][1]] *= 2
    ...         return grad
    >>> report = check_gradients(DoubledB1())
    >>> report.verdict, report.worst_block, round(report["b1"].ratio, 6)
    ('fail', 'b1', 2.0)
    """
    if pass_threshold >= fail_threshold:
        raise ValueError(
            f"pass_threshold ({pass_threshold}) must be below fail_threshold "
            f"({fail_threshold})."
        )
    if detect is not None and mode not in ("auto", "directional"):
        raise ValueError(
            f"detect={detect!r} sets how many random directions a directional "
            f"check takes; mode={mode!r} checks entries. Use mode='directional' "
            f"(or 'auto') with detect, or leave detect=None."
        )
    if sample_weight is not None and (callable(X) or (X is None and y is None)):
        raise ValueError(
            "sample_weight is used when check_gradients builds the objective from "
            "an estimator and X, y; this objective is already built and would "
            "ignore it. Build it with the weights (e.g. estimator.objective(X, y, "
            "sample_weight=w)) instead."
        )
    if callable(X) and not hasattr(estimator, "objective"):
        objective = make_objective(estimator, X, y)
    else:
        objective = build_objective(estimator, X, y, sample_weight, dropout)
    settings = _Settings(
        epsilon=epsilon,
        method=method,
        mode=mode,
        n_entries=n_entries,
        n_directions=n_directions,
        detect=detect,
        pass_threshold=pass_threshold,
        fail_threshold=fail_threshold,
        noise_aware=noise_aware,
        fast=fast,
    )
    return _check_objective(objective, settings, check_random_state(random_state))


@dataclass(frozen=True)
class _Settings:
    epsilon: object
    method: str
    mode: str
    n_entries: int
    n_directions: int
    detect: object
    pass_threshold: float
    fail_threshold: float
    noise_aware: bool
    fast: bool


# ----------------------------------------------------------------- the check


def _check_objective(objective, settings, rng):
    objective, upcast = as_float64_objective(objective)
    notes = []
    if upcast:
        notes.append("the objective evaluates in float32: checked in float64.")
    theta0 = np.array(objective.theta0, dtype=np.float64)
    if theta0.ndim != 1:
        raise ValueError(f"theta0 must be 1-D; got shape {theta0.shape}.")
    blocks = validate_blocks(objective.blocks, theta0.size)
    if callable(getattr(objective, "loss_and_gradient", None)):
        loss0, grad = objective.loss_and_gradient(theta0.copy())
    else:
        loss0, grad = objective.loss(theta0.copy()), objective.gradient(theta0.copy())
    loss0, grad = scalar_loss(loss0), gradient_vector(grad, theta0.size)
    _check_finite(loss0, grad, blocks)
    engine = make_engine(
        objective, blocks, theta0, loss0, rng, settings.fast, notes, settings.method
    )
    judge = Judge(settings, engine.evaluation_noise, notes)
    epsilons = _block_epsilons(settings.epsilon, theta0, blocks, engine)
    runner = Runner(engine, grad, judge, rng, retry=settings.epsilon == "auto")
    mode = _resolve_mode(
        settings.mode, theta0.size, settings.n_entries, engine, settings.detect
    )
    if mode == "directional":
        rows = [
            runner.directional(b, block, eps, settings)
            for b, (block, eps) in enumerate(zip(blocks, epsilons))
        ]
    else:
        selections = select_entries(blocks, mode, settings.n_entries, rng)
        rows = [
            runner.entries(b, block, eps, flat, mode)
            for b, (block, eps, flat) in enumerate(zip(blocks, epsilons, selections))
        ]
    return judge.report(
        rows,
        mode=mode,
        settings=settings,
        n_params=theta0.size,
        loss=loss0,
        gradient_norm=float(np.linalg.norm(grad)),
        regularization_share=_regularization_share(objective, theta0, grad, notes),
        engine=engine.name,
        method=settings.method,
    )


def _check_finite(loss0, grad, blocks):
    """A non-finite J or gradient at theta0 is an error naming it, never a verdict:
    nothing can be compared there."""
    if not np.isfinite(loss0):
        raise ValueError(
            f"J(theta0) is not finite ({loss0}): the loss must be finite where the "
            "gradient is checked (a log of 0 or of a negative number, an "
            "overflow?). Nothing was checked."
        )
    bad = np.flatnonzero(~np.isfinite(grad))
    if bad.size:
        position = int(bad[0])
        name, sl, shape = next(b for b in blocks if b[1].start <= position < b[1].stop)
        index = np.unravel_index(position - sl.start, shape)
        raise ValueError(
            f"gradient(theta0) is not finite at {name}{list(map(int, index))} "
            f"({grad[position]}), {bad.size} entr{'y' if bad.size == 1 else 'ies'} "
            "in all: backprop produced a NaN or an infinity there. Nothing was "
            "checked."
        )


def _block_epsilons(epsilon, theta0, blocks, engine):
    """Each block's step: as given, or the method's own (its 'auto' steps when
    left at the default, except for 'central', whose default is the lecture's)."""
    default = isinstance(epsilon, _DefaultStep) and engine.method != "central"
    if epsilon != "auto" and not default:
        return [float(epsilon)] * len(blocks)
    # The characteristic scale of the block's parameters, never below the
    # engine's floor: for plain evaluations, whose round-off falls as the step
    # grows, 1 (the function's curvature does not shrink with small weights,
    # and steps scaled down to weights of ~0.05 were round-off dominated). Not
    # the whole theta's: a block of 1e-4 next to one of 1e4 gets its own step.
    overall = float(np.sqrt(np.mean(theta0**2))) if theta0.size else 0.0
    power = engine.step_power
    base = _COMPLEX_STEP if power is None else engine.unit_roundoff**power
    steps = []
    for _, sl, _ in blocks:
        scale = max(float(np.sqrt(np.mean(theta0[sl] ** 2))), engine.step_scale_floor)
        steps.append(base * (scale or overall or 1.0))
    return steps


#: The complex step's base: tiny, but far above the smallest normal numbers.
_COMPLEX_STEP = 1e-20


def _resolve_mode(mode, n_params, n_entries, engine, detect=None):
    if detect is not None:
        return "directional"
    if mode != "auto":
        return mode
    return "full" if n_params <= engine.full_limit(n_entries) else "sampled"


def _regularization_share(objective, theta0, grad, notes):
    penalty = getattr(objective, "penalty_gradient", None)
    if penalty is None:
        return None
    g_l2 = np.asarray(penalty(theta0.copy()), dtype=np.float64).ravel()
    l2, data = np.linalg.norm(g_l2), np.linalg.norm(grad - g_l2)
    share = float(l2 / (l2 + data)) if l2 + data > 0 else 0.0
    if share > _L2_DOMINATES:
        notes.append(
            f"the L2 term makes up {100 * share:.0f}% of the gradient norm: a bug "
            f"in the data-loss gradient could hide below it; check with alpha=0 too."
        )
    return share
