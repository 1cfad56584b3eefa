"""What the diagnostics accept: a network, a fitted GradientChecker, a Pipeline.

Every function and Display of :mod:`sk_dlsetup.diagnostics` takes what users
fit, as the README's quick start builds it: one of our MLPs (initialized or
fitted), a fitted :class:`~sk_dlsetup.GradientChecker` (its ``estimator_`` is
read), or a fitted Pipeline ending in either (its earlier steps transform X
first). Anything else is a clear error saying what is accepted.
"""

from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

ACCEPTED = (
    "an MLPFromScratch or MLPFromScratchRegressor (initialized or fitted), a "
    "fitted GradientChecker, or a fitted Pipeline ending in one of them"
)


def final_step(estimator, X=None):
    """The last step of a Pipeline (or the estimator itself), and X brought to it.

    With ``X``, the fitted Pipeline's earlier steps transform it.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sk_dlsetup import InputNormalizer, MLPFromScratch
    >>> step, _ = final_step(make_pipeline(InputNormalizer(), MLPFromScratch()))
    >>> type(step).__name__
    'MLPFromScratch'
    """
    if isinstance(estimator, Pipeline):
        if X is not None:
            check_is_fitted(estimator)
            for _, step in estimator.steps[:-1]:
                if step not in (None, "passthrough"):
                    X = step.transform(X)
        estimator = estimator.steps[-1][1]
    return estimator, X


def _is_checker(estimator):
    return hasattr(estimator, "check_at") and hasattr(estimator, "estimator")


def unwrap(estimator, X=None, *, what):
    """What a Pipeline ends in (X through its earlier steps), and a fitted
    GradientChecker's ``estimator_``: the model a diagnostic reads."""
    estimator, X = final_step(estimator, X)
    if _is_checker(estimator):
        if not hasattr(estimator, "estimator_"):
            raise NotFittedError(
                f"This GradientChecker is not fitted yet: {what} reads the network "
                "it trained (estimator_). Call fit first, or pass the network itself "
                "after initialize(X, y)."
            )
        estimator = estimator.estimator_
    return estimator, X


def network_of(estimator, X=None, *, what):
    """The network (with ``coefs_``) inside what the user fitted, and X for it.

    ``what`` names the caller in the errors.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dlsetup import GradientChecker, MLPFromScratch
    >>> X, y = np.random.RandomState(0).randn(30, 3), np.arange(30) % 2
    >>> checker = GradientChecker(MLPFromScratch((4,), max_iter=2, random_state=0))
    >>> with __import__("warnings").catch_warnings():
    ...     __import__("warnings").simplefilter("ignore")
    ...     checker = checker.fit(X, y)
    >>> network_of(checker, what="layer_statistics")[0] is checker.estimator_
    True
    """
    estimator, X = unwrap(estimator, X, what=what)
    if not (hasattr(estimator, "activation") and hasattr(estimator, "init")):
        raise TypeError(f"{what} takes {ACCEPTED}; got {type(estimator).__name__}.")
    if not hasattr(estimator, "coefs_"):
        raise NotFittedError(
            f"This {type(estimator).__name__} has no weights yet: {what} needs "
            "initialize(X, y) (enough) or fit first."
        )
    return estimator, X


def checker_of(estimator, *, what):
    """The fitted GradientChecker, itself or ending a Pipeline."""
    checker, _ = final_step(estimator)
    if not _is_checker(checker):
        raise TypeError(
            f"{what} takes a fitted GradientChecker, or a fitted Pipeline ending in "
            f"one; got {type(checker).__name__}."
        )
    if getattr(checker, "reports_", None) is None:
        raise NotFittedError(
            "This GradientChecker is not fitted yet: no reports_ to plot."
        )
    if not checker.reports_:
        raise ValueError(
            "This GradientChecker ran no check (check_at=()): there is nothing to "
            "draw. Fit it with check_at=('init', 'fitted') to compare both."
        )
    return checker


def check_n_features(estimator, X):
    """X must have as many columns as the network's first layer has inputs."""
    expected = estimator.coefs_[0].shape[0]
    if X.shape[1] != expected:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
            f"expecting {expected} features as input."
        )
