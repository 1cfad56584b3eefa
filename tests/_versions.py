"""What the installed libraries can do, for tests that compare with their internals.

The suite runs on the newest and on the oldest supported stack (``.ci/run``).
A test that compares with a newer library's internals or messages is guarded
here, with the reason, never deleted; what a user sees runs on both.
"""

import numpy as np
import pytest
import scipy
import sklearn
from sklearn.utils.fixes import parse_version


def _at_least(module, version):
    return parse_version(module.__version__).release >= parse_version(version).release


#: scikit-learn >= 1.7: sample_weight in MLP.fit and ``_backprop``, the loss
#: functions' third argument, ``MLPRegressor(loss='poisson')`` and 'exp'.
SKLEARN_1_7 = _at_least(sklearn, "1.7")

#: scikit-learn >= 1.8: its own test helpers and messages of the newest kind.
SKLEARN_1_8 = _at_least(sklearn, "1.8")

#: scipy >= 1.15 names check_grad's random seed ``rng`` (``seed`` before).
SCIPY_1_15 = _at_least(scipy, "1.15")


def requires_sklearn_1_7(why):
    """A skip marker: the test compares with what scikit-learn 1.7 added."""
    return pytest.mark.skipif(
        not SKLEARN_1_7, reason=f"scikit-learn < 1.7 has no {why}"
    )


def skip_unless_sklearn_1_7(why):
    """Skip the running test (one of its parameter sets) on scikit-learn < 1.7."""
    if not SKLEARN_1_7:
        pytest.skip(f"scikit-learn < 1.7 has no {why}")


def check_grad_random(seed):
    """``check_grad``'s keyword for its random direction: a ``Generator`` seeded
    with ``seed`` (``rng=`` since scipy 1.15, ``seed=`` before; both draw the
    direction with the Generator's standard normal)."""
    rng = np.random.default_rng(seed)
    return {"rng": rng} if SCIPY_1_15 else {"seed": rng}


def _dispatch_available():
    try:
        with sklearn.config_context(array_api_dispatch=True):
            return True
    except (ImportError, RuntimeError):
        return False


#: Whether scikit-learn can dispatch arrays of other libraries here (scikit-learn
#: < 1.7 needs array-api-compat and scipy >= 1.14 for it).
ARRAY_API_DISPATCH = _dispatch_available()

#: Skips a module or test that needs ``array_api_dispatch=True``.
requires_array_api_dispatch = pytest.mark.skipif(
    not ARRAY_API_DISPATCH,
    reason="scikit-learn cannot dispatch arrays here (it needs array-api-compat "
    "and, before 1.7, scipy >= 1.14)",
)
