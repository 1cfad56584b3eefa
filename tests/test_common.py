"""scikit-learn's own estimator checks over every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_dlsetup import (
    GradientChecker,
    InputNormalizer,
    MLPFromScratch,
    MLPFromScratchRegressor,
)

ESTIMATORS = [
    InputNormalizer(),
    MLPFromScratch(max_iter=100, random_state=0),
    MLPFromScratch(solver="lbfgs", max_iter=100, random_state=0),
    MLPFromScratchRegressor(max_iter=100, random_state=0),
    MLPFromScratchRegressor(solver="lbfgs", max_iter=100, random_state=0),
    # The recording path keeps one more fitted attribute (layer_stats_).
    MLPFromScratch(max_iter=100, random_state=0, record_layer_stats=True),
    MLPFromScratchRegressor(
        solver="lbfgs", max_iter=100, random_state=0, record_layer_stats=True
    ),
    GradientChecker(MLPFromScratch(max_iter=100, random_state=0)),
    GradientChecker(MLPFromScratchRegressor(max_iter=100, random_state=0)),
]

# Checks expected to fail, each with its reason: {estimator class name: {check: why}}.
EXPECTED_FAILED_CHECKS = {}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    """The estimator passes scikit-learn's check_estimator suite."""
    check(estimator)
