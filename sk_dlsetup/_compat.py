"""The few private scikit-learn helpers we rely on, imported in one place.

Parameter-constraint validation, sample-weight checking and safe row indexing
are private (underscored) in scikit-learn but stable across the versions we
support (>= 1.6); keeping the imports here makes a future change a one-file fix.
"""

import inspect

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing

# The Array API helpers: public in spirit (every array-API estimator of
# scikit-learn uses them), private by name.
from sklearn.utils._array_api import (
    _max_precision_float_dtype,
    get_namespace_and_device,
)
from sklearn.utils._array_api import (
    supported_float_dtypes as _supported_float_dtypes,
)
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils.validation import _check_sample_weight

if len(inspect.signature(_supported_float_dtypes).parameters) > 1:
    supported_float_dtypes = _supported_float_dtypes
else:  # pragma: no cover - scikit-learn < 1.7 knows no device here

    def supported_float_dtypes(xp, device=None):
        """The float dtypes of ``xp`` (``device`` is ignored)."""
        return _supported_float_dtypes(xp)


try:  # scikit-learn >= 1.8
    from sklearn.utils._array_api import move_to
except ImportError:  # pragma: no cover - older scikit-learn
    from sklearn.utils._array_api import _convert_to_numpy

    def move_to(array, *, xp, device):
        """``array`` in namespace ``xp`` on ``device`` (through NumPy)."""
        return xp.asarray(
            _convert_to_numpy(array, get_namespace_and_device(array)[0]), device=device
        )


__all__ = [
    "_max_precision_float_dtype",
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
