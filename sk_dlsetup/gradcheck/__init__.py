"""Gradient checking: backprop against central finite differences.

:func:`check_gradients` builds an objective, takes finite differences from an
engine (``_plain`` for any objective, ``_fast`` for sk_dlsetup's MLP, both
behind one interface; ``_methods`` for Richardson and the complex step,
``_directions`` for what a directional check is sure to catch), judges
every block (``_judge``) and returns a :class:`GradientCheckReport`
(``_report``); ``_protocol`` states the rules an
objective must follow and :func:`make_objective` (``_functions``) builds one
from plain functions; :class:`GradientChecker` does it at
initialization and after training, inside ``fit``.
"""

from ._check import check_gradients
from ._checker import GradientChecker
from ._functions import make_objective
from ._report import (
    BlockCheck,
    GradientCheckError,
    GradientCheckReport,
    GradientCheckWarning,
)

__all__ = [
    "BlockCheck",
    "GradientCheckError",
    "GradientCheckReport",
    "GradientCheckWarning",
    "GradientChecker",
    "check_gradients",
    "make_objective",
]
