"""Objectives of models in other libraries, for :func:`~sk_dlsetup.check_gradients`.

:func:`torch_objective` wraps a PyTorch model and loss (extra ``[torch]``),
:func:`jax_objective` a JAX function of a pytree of parameters (extra
``[jax]``): ``pip install ".[torch]"`` or ``".[jax]"`` from a clone, or install
the library yourself. Each is imported only when its function is called.
"""

from ._jax import jax_objective
from ._torch import torch_objective

__all__ = ["jax_objective", "torch_objective"]
