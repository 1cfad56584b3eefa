"""The few private scikit-learn helpers we rely on, imported in one place.

Parameter-constraint validation, sample-weight checking and safe row indexing
are private (underscored) in scikit-learn but stable across the versions we
support (>= 1.6); keeping the imports here makes a future change a one-file fix.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing

# The Array API helpers: public in spirit (every array-API estimator of
# scikit-learn uses them), private by name.
from sklearn.utils._array_api import (
    _max_precision_float_dtype,
    get_namespace_and_device,
    supported_float_dtypes,
)
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils.validation import _check_sample_weight

try:  # scikit-learn >= 1.8
    from sklearn.utils._array_api import check_same_namespace, move_to
except ImportError:  # pragma: no cover - older scikit-learn
    from sklearn.utils._array_api import _convert_to_numpy

    def move_to(array, *, xp, device):
        """``array`` in namespace ``xp`` on ``device`` (through NumPy)."""
        return xp.asarray(
            _convert_to_numpy(array, get_namespace_and_device(array)[0]), device=device
        )

    def check_same_namespace(X, estimator, *, attribute, method):
        """No check before scikit-learn 1.8."""


__all__ = [
    "_max_precision_float_dtype",
    "check_same_namespace",
    "get_namespace_and_device",
    "move_to",
    "supported_float_dtypes",
    "Interval",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "_safe_indexing",
    "validate_parameter_constraints",
    "validate_params",
]
