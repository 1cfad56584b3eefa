"""Objectives of models in other libraries, for :func:`~sk_dlsetup.check_gradients`.

:func:`torch_objective` wraps a PyTorch model and loss (extra ``[torch]``:
``pip install ".[torch]"`` from a clone, or install torch yourself). torch is
imported only when it is called.
"""

from ._torch import torch_objective

__all__ = ["torch_objective"]
