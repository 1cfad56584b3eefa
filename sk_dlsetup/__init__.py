"""Set up deep-learning problems well, as scikit-learn estimators.

Input normalization, weight initialization (He / Xavier / small random) and
gradient checking of backpropagation.
"""

from ._gradcheck_report import (
    GradientCheckError,
    GradientCheckReport,
    GradientCheckWarning,
)
from ._gradient_check import check_gradients
from ._gradient_checker import GradientChecker
from ._mlp import MLPFromScratch, MLPFromScratchRegressor
from ._normalizer import InputNormalizer

__version__ = "0.1.0.dev0"

__all__ = [
    "GradientCheckError",
    "GradientCheckReport",
    "GradientCheckWarning",
    "GradientChecker",
    "InputNormalizer",
    "MLPFromScratch",
    "MLPFromScratchRegressor",
    "check_gradients",
    "__version__",
]
