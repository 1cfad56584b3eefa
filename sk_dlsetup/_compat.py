"""The few private scikit-learn helpers we rely on, imported in one place.

Parameter-constraint validation, sample-weight checking and safe row indexing
are private (underscored) in scikit-learn but stable across the versions we
support (>= 1.6); keeping the imports here makes a future change a one-file fix.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "Interval",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "_safe_indexing",
    "validate_parameter_constraints",
    "validate_params",
]
