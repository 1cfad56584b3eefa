"""check_gradients: backprop against central finite differences, block by block.

The orchestration: build the objective, pick the mode, the entries and the
steps, get finite differences from an engine (the MLP fast path of
:mod:`._gradcheck_fast` or the plain one of :mod:`._gradcheck_plain`), judge
every block against the verdict scale and the estimated noise, and assemble a
:class:`~sk_dlsetup.GradientCheckReport`.
"""

import inspect
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state

from .._compat import Interval, StrOptions, validate_params
from ..neural_network._network import unpack
from ..neural_network._objective import MLPObjective
from ._fast import MLPFiniteDifferences
from ._plain import PlainFiniteDifferences, estimate_noise
from ._report import VERDICTS, BlockCheck, GradientCheckReport

MODES = ("auto", "full", "sampled", "directional")

#: The objective protocol: what ``estimator.objective(X, y)`` must return.
PROTOCOL = ("theta0", "blocks", "loss", "gradient")

#: Constraints shared by :func:`check_gradients` and ``GradientChecker``.
CHECK_CONSTRAINTS = {
    "epsilon": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    "mode": [StrOptions(set(MODES))],
    "n_entries": [Interval(Integral, 1, None, closed="left")],
    "n_directions": [Interval(Integral, 1, None, closed="left")],
    "pass_threshold": [Interval(Real, 0, None, closed="neither")],
    "fail_threshold": [Interval(Real, 0, None, closed="neither")],
    "noise_aware": ["boolean"],
    "dropout": [StrOptions({"frozen", "off"})],
    "fast": ["boolean"],
    "random_state": ["random_state"],
}

_NOISE_CAP = 10.0  # an error within this many noise norms is never 'fail'
_NOISE_FAIL = 1e3  # one above this many noise norms fails from pass_threshold on
_FAST_FULL_LIMIT = 300_000  # 'auto' checks every entry up to this size (fast path)
_L2_DOMINATES = 0.5
_UNIT_ROUNDOFF = np.finfo(np.float64).eps


@validate_params(
    {
        "estimator": "no_validation",
        "X": ["array-like", "sparse matrix", None],
        "y": ["array-like", None],
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
    epsilon=1e-7,
    mode="auto",
    n_entries=2000,
    n_directions=2,
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
        ``X`` and ``y`` left out.
    X : array-like of shape (n_samples, n_features), default=None
        The rows the objective is built on. Floating-point X is passed as
        float64, so a float32 model is checked through a float64 evaluation.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        The targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Passed to ``objective``.
    epsilon : float > 0 or 'auto', default=1e-7
        The finite-difference step. 'auto' takes, for each block,
        ``cbrt(u) * max(rms(block), rms(theta))`` with ``u`` the unit round-off
        of the evaluation dtype: the step balancing truncation and round-off
        error of a central difference.
    mode : {'auto', 'full', 'sampled', 'directional'}, default='auto'
        'full' checks every entry; 'sampled' a stratified random sample of
        ``n_entries`` entries in which every block (biases included) has its
        share; 'directional' ``n_directions`` random unit directions per block
        (two evaluations each), re-checking a failing block entry by entry so
        the report still localizes the bug; 'auto' is 'full' up to 300,000
        parameters on the MLP fast path and up to ``n_entries`` parameters
        otherwise, else 'sampled'. The report's ``mode`` says which was used.
    n_entries : int, default=2000
        Budget of the 'sampled' mode (at least one entry per block).
    n_directions : int, default=2
        Directions per block of the 'directional' mode.
    pass_threshold, fail_threshold : float, default=1e-6, 1e-3
        The verdict scale: 'pass' below ``pass_threshold``, 'fail' from
        ``fail_threshold`` on (and when not finite), 'warn' between.
    noise_aware : bool, default=True
        Judge every block against its estimated finite-difference noise too: an
        error within 10 times the noise is never 'fail' (a correct model after
        training, whose gradient is tiny, is not failed for round-off), and an
        error 1000 times above it is 'fail' from ``pass_threshold`` on.
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

    *Noise.* Each value comes with the error a correct model may show. Plain
    engine: the round-off of ``J`` measured with ECnoise (Moré and Wild),
    divided by the step. Fast path: round-off of the sums over samples (its
    own and backprop's, from the sizes of their terms) plus the truncation
    error of the central difference. The verdict rules of ``noise_aware`` use
    the norm of these over a block.

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
    objective = _build_objective(estimator, X, y, sample_weight, dropout)
    settings = _Settings(
        epsilon=epsilon,
        mode=mode,
        n_entries=n_entries,
        n_directions=n_directions,
        pass_threshold=pass_threshold,
        fail_threshold=fail_threshold,
        noise_aware=noise_aware,
        fast=fast,
    )
    return _check_objective(objective, settings, check_random_state(random_state))


@dataclass(frozen=True)
class _Settings:
    epsilon: object
    mode: str
    n_entries: int
    n_directions: int
    pass_threshold: float
    fail_threshold: float
    noise_aware: bool
    fast: bool


# ------------------------------------------------------------------ objective


def missing_protocol(obj, names=PROTOCOL):
    """The names of ``names`` that ``obj`` lacks."""
    return [name for name in names if not hasattr(obj, name)]


def _build_objective(estimator, X, y, sample_weight, dropout):
    name = type(estimator).__name__
    if X is None and y is None:
        if not missing_protocol(estimator):
            return estimator
        raise TypeError(
            f"check_gradients needs X and y to build {name}'s objective, unless "
            f"it is given an objective (with {', '.join(PROTOCOL)}) directly."
        )
    if not callable(getattr(estimator, "objective", None)):
        raise TypeError(
            f"{name} has no objective(X, y) method: check_gradients needs an "
            f"estimator following the objective protocol."
        )
    kwargs = {}
    accepts = _accepted_keywords(estimator.objective)
    if sample_weight is not None:
        if not accepts("sample_weight"):
            raise TypeError(f"{name}.objective does not accept sample_weight.")
        kwargs["sample_weight"] = sample_weight
    if accepts("dropout"):
        kwargs["dropout"] = dropout
    elif dropout != "frozen":
        raise ValueError(
            f"{name}.objective does not accept dropout={dropout!r}; only the "
            f"default 'frozen' can be used with it."
        )
    objective = estimator.objective(_as_float64(X), y, **kwargs)
    missing = missing_protocol(objective)
    if missing:
        raise TypeError(
            f"{name}.objective(X, y) returned a {type(objective).__name__} "
            f"without {', '.join(missing)} (the objective protocol needs "
            f"{', '.join(PROTOCOL)})."
        )
    return objective


def _accepted_keywords(method):
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return lambda keyword: False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return lambda keyword: True
    names = {p.name for p in parameters}
    return lambda keyword: keyword in names


def _as_float64(X):
    """Floating-point X as float64 (other inputs are left to the model)."""
    dtype = getattr(X, "dtype", None)
    if sparse.issparse(X) or isinstance(X, np.ndarray):
        if dtype.kind == "f" and dtype != np.float64:
            return X.astype(np.float64)
        return X
    dtypes = getattr(X, "dtypes", None)
    if hasattr(dtypes, "items") and hasattr(X, "astype"):  # a pandas DataFrame
        low = {c: np.float64 for c, dt in dtypes.items() if str(dt) == "float32"}
        return X.astype(low) if low else X
    return X


def _float64_objective(objective):
    """A float64 twin of a float32 :class:`MLPObjective` (else ``objective``)."""
    if not isinstance(objective, MLPObjective) or objective.dtype == np.float64:
        return objective, False
    coefs, intercepts = unpack(np.array(objective.theta0, np.float64), objective.blocks)
    masks = objective.keep_masks
    weights = objective.sample_weight
    twin = MLPObjective(
        coefs,
        intercepts,
        objective.X.astype(np.float64),
        np.asarray(objective.Y, dtype=np.float64),
        activation=objective.activation,
        loss=objective.loss_name,
        alpha=objective.alpha,
        sample_weight=None if weights is None else np.asarray(weights, np.float64),
        keep_masks=None if masks is None else [M.astype(np.float64) for M in masks],
    )
    return twin, True


def _validate_blocks(blocks, n_params):
    out = []
    for name, sl, shape in blocks:
        start, stop, step = sl.indices(n_params)
        shape = tuple(int(s) for s in np.atleast_1d(shape)) if shape != () else ()
        if step != 1 or stop - start != int(np.prod(shape)):
            raise ValueError(
                f"block {name!r}: slice {sl} does not hold an array of shape {shape}."
            )
        out.append((str(name), slice(start, stop), shape))
    return out


def _unit_roundoff(objective):
    dtype = np.dtype(getattr(objective, "dtype", np.float64))
    return float(np.finfo(dtype).eps) if dtype.kind == "f" else _UNIT_ROUNDOFF


# ----------------------------------------------------------------- the check


def _check_objective(objective, settings, rng):
    objective, upcast = _float64_objective(objective)
    notes = []
    if upcast:
        notes.append("the objective evaluates in float32: checked in float64.")
    theta0 = np.array(objective.theta0, dtype=np.float64)
    if theta0.ndim != 1:
        raise ValueError(f"theta0 must be 1-D; got shape {theta0.shape}.")
    blocks = _validate_blocks(objective.blocks, theta0.size)
    if callable(getattr(objective, "loss_and_gradient", None)):
        loss0, grad = objective.loss_and_gradient(theta0.copy())
    else:
        loss0, grad = objective.loss(theta0.copy()), objective.gradient(theta0.copy())
    loss0, grad = float(loss0), np.asarray(grad, dtype=np.float64)
    if grad.shape != theta0.shape:
        raise ValueError(
            f"gradient(theta) has shape {grad.shape}; expected {theta0.shape}."
        )
    engine = None
    if settings.fast and isinstance(objective, MLPObjective):
        engine = MLPFiniteDifferences(objective)
        noise = engine.noise(loss0)
        # The fast engine re-implements the forward pass: trust it only if it
        # computes the objective's own J.
        if not abs(engine.base_loss() - loss0) <= 10 * noise:
            notes.append(
                "the fast path's J(theta0) differs from objective.loss(theta0): "
                "checked with plain evaluations of objective.loss instead."
            )
            engine = None
    use_fast = engine is not None
    unit_roundoff = _UNIT_ROUNDOFF if use_fast else _unit_roundoff(objective)
    if not use_fast:
        noise = estimate_noise(objective.loss, theta0, loss0, rng, unit_roundoff)
        engine = PlainFiniteDifferences(objective, theta0, loss0, noise)
    judge = _Judge(settings, noise, notes)
    runner = _Runner(engine, use_fast, grad, judge, rng)
    epsilons = _block_epsilons(settings.epsilon, theta0, blocks, unit_roundoff)
    mode = _resolve_mode(settings.mode, theta0.size, settings.n_entries, use_fast)
    if mode == "directional":
        rows = [
            runner.directional(b, block, eps, settings)
            for b, (block, eps) in enumerate(zip(blocks, epsilons))
        ]
    else:
        selections = _select_entries(blocks, mode, settings.n_entries, rng)
        rows = [
            runner.entries(b, block, eps, flat, mode)
            for b, (block, eps, flat) in enumerate(zip(blocks, epsilons, selections))
        ]
    if not np.isfinite(loss0):
        notes.append(f"J(theta0) is not finite ({loss0}).")
    return judge.report(
        rows,
        runner.collected,
        mode=mode,
        settings=settings,
        n_params=theta0.size,
        loss=loss0,
        gradient_norm=float(np.linalg.norm(grad)),
        regularization_share=_regularization_share(objective, theta0, grad, notes),
        engine="mlp-fast" if use_fast else "plain",
    )


def _block_epsilons(epsilon, theta0, blocks, unit_roundoff):
    if epsilon != "auto":
        return [float(epsilon)] * len(blocks)
    overall = float(np.sqrt(np.mean(theta0**2))) if theta0.size else 0.0
    overall = overall or 1.0
    base = float(np.cbrt(unit_roundoff))
    return [
        base * max(float(np.sqrt(np.mean(theta0[sl] ** 2))), overall)
        for _, sl, _ in blocks
    ]


def _resolve_mode(mode, n_params, n_entries, use_fast):
    if mode != "auto":
        return mode
    limit = _FAST_FULL_LIMIT if use_fast else n_entries
    return "full" if n_params <= limit else "sampled"


def _allocate(sizes, budget):
    """Water-filling: every block gets an equal share, capped by its size."""
    alloc = [0] * len(sizes)
    remaining = max(budget, len(sizes))
    open_blocks = [b for b, size in enumerate(sizes) if size > 0]
    while remaining > 0 and open_blocks:
        share = max(1, remaining // len(open_blocks))
        for b in list(open_blocks):
            take = min(sizes[b] - alloc[b], share, remaining)
            alloc[b] += take
            remaining -= take
            if alloc[b] == sizes[b]:
                open_blocks.remove(b)
            if remaining == 0:
                break
    return alloc


def _select_entries(blocks, mode, n_entries, rng):
    sizes = [sl.stop - sl.start for _, sl, _ in blocks]
    if mode == "full":
        return [np.arange(size) for size in sizes]
    alloc = _allocate(sizes, n_entries)
    return [
        np.sort(rng.choice(size, count, replace=False)) if count < size else
        np.arange(size)
        for size, count in zip(sizes, alloc)
    ]  # fmt: skip


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


# ------------------------------------------------------- evaluating the blocks


class _Runner:
    """Gets finite differences of a block from the engine and makes its row."""

    def __init__(self, engine, use_fast, grad, judge, rng):
        self.engine = engine
        self.use_fast = use_fast
        self.grad = grad
        self.judge = judge
        self.rng = rng
        self.collected = []  # (numeric, analytic, noise) per row, kinks left out

    def entries(self, b, block, eps, flat, mode, escalated=False):
        name, sl, shape = block
        analytic = self.grad[sl][flat]
        if self.use_fast:
            numbers = self.engine.entries(b, flat, eps)
        else:
            numbers = self.engine.entries(sl, flat, eps, analytic)
        return self._row(
            block, mode, eps, flat, analytic, *numbers, escalated=escalated
        )

    def directional(self, b, block, eps, settings):
        name, sl, shape = block
        size = sl.stop - sl.start
        # Random sign vectors, normalized: as good a probe as Gaussian ones
        # (every entry weighs in) and far cheaper to draw (random bits).
        count = settings.n_directions * size
        bits = np.frombuffer(self.rng.bytes((count + 7) // 8), dtype=np.uint8)
        signs = np.unpackbits(bits)[:count].reshape(settings.n_directions, size)
        D = (1.0 - 2.0 * signs) / np.sqrt(size)
        analytic = D @ self.grad[sl]
        if self.use_fast:
            numbers = self.engine.directions(b, D, eps)
        else:
            numbers = self.engine.directions(sl, D, eps, analytic)
        row = self._row(block, "directional", eps, None, analytic, *numbers)
        if row.verdict != "fail":
            return row
        self.collected.pop()
        flat = _select_entries([block], "sampled", settings.n_entries, self.rng)[0]
        if self.use_fast:
            flat = np.arange(size)
        mode = "full" if flat.size == size else "sampled"
        self.judge.notes.append(
            f"{name}: the directional check failed; re-checked entry by entry ({mode})."
        )
        return self.entries(b, block, eps, flat, mode, escalated=True)

    def _row(self, block, mode, eps, flat, analytic, *numbers, escalated=False):
        numeric, kinks, noise, _ = numbers
        row = self.judge.row(block, mode, eps, flat, analytic, *numbers, escalated)
        used = ~kinks
        self.collected.append((numeric[used], analytic[used], noise[used]))
        return row


def _kink_difference(one_sided, analytic, kinks):
    """Relative difference of one-sided re-checks of kink entries (NaN if none)."""
    rechecked = kinks & np.isfinite(one_sided)
    if not rechecked.any():
        return np.nan
    a, g = one_sided[rechecked], analytic[rechecked]
    denom = np.linalg.norm(a) + np.linalg.norm(g)
    return float(np.linalg.norm(a - g) / denom) if denom > 0 else 0.0


class _Judge:
    """Differences, noise floors and verdicts of rows and of the whole check."""

    def __init__(self, settings, noise, notes):
        self.settings = settings
        self.noise = noise
        self.notes = notes

    def verdict(self, difference, error, noise_norm, finite, name):
        s = self.settings
        if not finite:
            return "fail"
        if difference < s.pass_threshold:
            return "pass"
        verdict = "fail" if difference >= s.fail_threshold else "warn"
        if not s.noise_aware:
            return verdict
        if verdict == "fail" and error <= _NOISE_CAP * noise_norm:
            self.notes.append(
                f"{name}: the difference is within the finite-difference noise "
                f"(error {error:.1e}, noise {noise_norm:.1e}): 'warn', not 'fail'."
            )
            return "warn"
        if verdict == "warn" and error > _NOISE_FAIL * noise_norm:
            self.notes.append(
                f"{name}: the error ({error:.1e}) stands "
                f"{error / noise_norm:.0e} times above the finite-difference "
                f"noise: 'fail' although below fail_threshold."
            )
            return "fail"
        return verdict

    def _measure(self, numeric, analytic, entry_noise):
        finite = bool(np.all(np.isfinite(numeric)) and np.all(np.isfinite(analytic)))
        with np.errstate(all="ignore"):
            error = float(np.linalg.norm(numeric - analytic))
            denom = float(np.linalg.norm(numeric) + np.linalg.norm(analytic))
        if not finite:
            return np.nan, error, np.inf, False
        difference = error / denom if denom > 0 else 0.0
        noise_norm = float(np.sqrt(np.sum(entry_noise**2)))
        noise_norm += 100.0 * _UNIT_ROUNDOFF * denom
        return difference, error, noise_norm, True

    def row(
        self,
        block,
        mode,
        eps,
        flat,
        analytic,
        numeric,
        kinks,
        noise,
        one_sided,
        escalated,
    ):
        name, _, shape = block
        used = ~kinks
        a, g, s = numeric[used], analytic[used], noise[used]
        difference, error, noise_norm, finite = self._measure(a, g, s)
        verdict = self.verdict(difference, error, noise_norm, finite, name)
        positions = np.flatnonzero(used)
        errors = np.abs(a - g)
        if a.size:
            bad = ~np.isfinite(errors)
            worst = positions[np.argmax(bad) if bad.any() else np.argmax(errors)]
        else:
            worst = None
        significant = np.abs(a) > 10.0 * s
        ratio = (
            float(np.median(g[significant] / a[significant]))
            if significant.any() and finite
            else np.nan
        )
        denom = np.linalg.norm(a) + np.linalg.norm(g) if finite else 0.0
        row = BlockCheck(
            name=name,
            shape=tuple(shape),
            difference=float(difference),
            worst_index=(
                None
                if flat is None or worst is None
                else tuple(int(i) for i in np.unravel_index(flat[worst], shape))
            ),
            n_checked=int(numeric.size),
            n_kinks=int(kinks.sum()),
            ratio=ratio,
            verdict=verdict,
            size=int(np.prod(shape)),
            mode=mode,
            epsilon=float(eps),
            noise=float(noise_norm / denom) if denom > 0 else 0.0,
            analytic=np.nan if worst is None else float(analytic[worst]),
            numeric=np.nan if worst is None else float(numeric[worst]),
            escalated=escalated,
            kink_difference=_kink_difference(one_sided, analytic, kinks),
            entries=None if flat is None else np.asarray(flat),
            numeric_values=numeric,
            analytic_values=analytic,
            kinks=kinks,
            one_sided_values=one_sided,
        )
        return row

    def report(self, rows, collected, *, mode, settings, **attributes):
        numeric = np.concatenate([c[0] for c in collected]) if collected else []
        analytic = np.concatenate([c[1] for c in collected]) if collected else []
        entry_noise = np.concatenate([c[2] for c in collected]) if collected else []
        difference, error, noise_norm, finite = self._measure(
            np.asarray(numeric, dtype=float),
            np.asarray(analytic, dtype=float),
            np.asarray(entry_noise, dtype=float),
        )
        overall = self.verdict(difference, error, noise_norm, finite, "overall")
        verdict = max([overall] + [row.verdict for row in rows], key=VERDICTS.index)
        n_kinks = sum(row.n_kinks for row in rows)
        if n_kinks:
            where = ", ".join(
                f"{row.name}: {row.n_kinks}" for row in rows if row.n_kinks
            )
            rechecked = ", ".join(
                f"{row.name}: {row.kink_difference:.1e}"
                for row in rows
                if np.isfinite(row.kink_difference)
            )
            self.notes.append(
                f"{n_kinks} checks crossed a ReLU kink ({where}) and were left out "
                f"of the difference and the verdict"
                + (
                    f"; one-sided re-checks away from the kink: {rechecked}."
                    if rechecked
                    else "."
                )
            )
        return GradientCheckReport(
            difference=float(difference),
            verdict=verdict,
            blocks=rows,
            mode=mode,
            requested_mode=settings.mode,
            epsilon=settings.epsilon,
            pass_threshold=settings.pass_threshold,
            fail_threshold=settings.fail_threshold,
            n_checked=sum(row.n_checked for row in rows),
            n_kinks=n_kinks,
            noise=float(self.noise),
            stage=None,
            notes=self.notes,
            **attributes,
        )
