"""Set up deep-learning problems well, as scikit-learn estimators.

Input normalization, weight initialization (He / Xavier / small random) and
gradient checking of backpropagation.
"""

from .gradcheck import (
    BlockCheck,
    GradientChecker,
    GradientCheckError,
    GradientCheckReport,
    GradientCheckWarning,
    check_gradients,
    make_objective,
)
from .neural_network import MLPFromScratch, MLPFromScratchRegressor
from .preprocessing import InputNormalizer

__version__ = "0.1.0.dev0"

__all__ = [
    "BlockCheck",
    "GradientCheckError",
    "GradientCheckReport",
    "GradientCheckWarning",
    "GradientChecker",
    "InputNormalizer",
    "MLPFromScratch",
    "MLPFromScratchRegressor",
    "check_gradients",
    "make_objective",
    "__version__",
]
