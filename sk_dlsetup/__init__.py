"""Set up deep-learning problems well, as scikit-learn estimators.

Input normalization, weight initialization (He / Xavier / small random) and
gradient checking of backpropagation.
"""

from ._mlp import MLPFromScratch, MLPFromScratchRegressor
from ._normalizer import InputNormalizer

__version__ = "0.1.0.dev0"

__all__ = [
    "InputNormalizer",
    "MLPFromScratch",
    "MLPFromScratchRegressor",
    "__version__",
]
