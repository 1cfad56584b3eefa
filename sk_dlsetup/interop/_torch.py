"""torch_objective: a PyTorch model's loss and autograd gradient as an objective."""

import copy
import warnings

import numpy as np

from ..gradcheck._protocol import scalar_loss


def _import_torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "torch_objective requires PyTorch: pip install torch (or the [torch] "
            "extra of sk_dlsetup)."
        ) from exc
    return torch


def torch_objective(model, loss_fn, X, y):
    """The objective of a PyTorch ``model`` under ``loss_fn`` on ``(X, y)``.

    The parameters are those of ``model.named_parameters()`` that require a
    gradient, one block each, named as there. ``loss(theta)`` is
    ``loss_fn(model(X), y)`` and ``gradient(theta)`` comes from autograd, so a
    custom ``torch.autograd.Function`` or a hand-written ``backward`` is what
    gets checked, and :func:`~sk_dlsetup.check_gradients` names the parameter
    its error lands in.

    Everything runs on a float64 deep copy of ``model`` in evaluation mode
    (``model.eval()``: dropout off, batch-norm statistics frozen, so ``J`` is a
    fixed function), on the device of its parameters. Nothing it does not own
    is touched: gradients are taken with respect to the copy's parameters only
    (``torch.autograd.grad``), so no ``.grad`` is written anywhere (the user's
    model, ``X``, a frozen feature extractor's or a teacher's tensors), and
    every evaluation runs under ``torch.random.fork_rng``: a model that draws
    noise in ``forward`` sees the same draws at every ``theta`` (``J`` stays a
    function) and leaves torch's global random state as it found it. When the
    loss depends on tensors outside the copy that require a gradient (say a
    penalty over the original ``model.parameters()``), a ``UserWarning`` says
    that those terms are not checked.

    Parameters
    ----------
    model : torch.nn.Module
        The model, with at least one parameter that requires a gradient.
    loss_fn : callable
        ``loss_fn(output, y)`` returning a scalar tensor, such as
        ``torch.nn.functional.cross_entropy``.
    X : array-like or torch.Tensor
        The input, as float64.
    y : array-like or torch.Tensor
        The targets: integer targets stay integers (class indices), others
        become float64.

    Returns
    -------
    objective : object
        ``theta0``, ``blocks``, ``loss(theta)``, ``gradient(theta)`` and
        ``loss_and_gradient(theta)`` (the objective protocol).

    Examples
    --------
    >>> import torch  # doctest: +SKIP
    >>> from sk_dlsetup import check_gradients  # doctest: +SKIP
    >>> from sk_dlsetup.interop import torch_objective  # doctest: +SKIP
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
    ...                             torch.nn.Linear(8, 3))  # doctest: +SKIP
    >>> X, y = torch.randn(20, 4), torch.randint(0, 3, (20,))  # doctest: +SKIP
    >>> objective = torch_objective(model, torch.nn.functional.cross_entropy,
    ...                             X, y)  # doctest: +SKIP
    >>> [name for name, _, _ in objective.blocks]  # doctest: +SKIP
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> check_gradients(objective).verdict  # doctest: +SKIP
    'pass'
    """
    torch = _import_torch()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"torch_objective needs a torch.nn.Module; got {type(model).__name__}."
        )
    if not callable(loss_fn):
        raise TypeError(
            f"loss_fn must be a function of (output, y); got {type(loss_fn).__name__}."
        )
    return TorchObjective(torch, model, loss_fn, X, y)


class TorchObjective:
    """The objective of :func:`torch_objective` (see there)."""

    def __init__(self, torch, model, loss_fn, X, y):
        self._torch = torch
        self._model = copy.deepcopy(model).double().eval()
        named = [
            (name, p) for name, p in self._model.named_parameters() if p.requires_grad
        ]
        if not named:
            raise ValueError("the model has no parameter that requires a gradient.")
        self._params = [p for _, p in named]
        device = self._params[0].device
        self._X = self._tensor(X, device, keep_integers=False)
        self._y = self._tensor(y, device, keep_integers=True)
        self._loss_fn = loss_fn
        self.blocks, start = [], 0
        for name, p in named:
            self.blocks.append((name, slice(start, start + p.numel()), tuple(p.shape)))
            start += p.numel()
        # The parameters become views of one flat float64 buffer, so loading a
        # theta is one copy (a check loads a new theta for every evaluation).
        self._flat = torch.empty(start, dtype=torch.float64, device=device)
        with torch.no_grad():
            for (_, sl, shape), p in zip(self.blocks, self._params):
                self._flat[sl] = p.detach().reshape(-1)
                p.data = self._flat[sl].view(shape)
        self._flat_numpy = self._flat.numpy() if device.type == "cpu" else None
        self._devices = [] if device.type == "cpu" else [device]
        self.theta0 = self._flat.detach().cpu().numpy().copy()
        self._complex = None  # (model, parameters, X) in complex128, when needed
        self.external_tensors = self._outside_tensors()
        if self.external_tensors:
            warnings.warn(
                f"The loss depends on {self.external_tensors} tensor(s) outside the "
                "model that require a gradient (the original model's parameters, a "
                "feature extractor's, a teacher's, or X): their terms are not "
                "checked, and their .grad are left untouched.",
                UserWarning,
                stacklevel=3,
            )

    def _tensor(self, data, device, keep_integers):
        torch = self._torch
        tensor = data if torch.is_tensor(data) else torch.as_tensor(np.asarray(data))
        # Detached: the check never differentiates with respect to X or y.
        tensor = tensor.detach()
        integer = not (tensor.is_floating_point() or tensor.is_complex())
        if not (keep_integers and integer):
            tensor = tensor.to(torch.float64)
        return tensor.to(device)

    def _evaluate(self):
        """``loss_fn(model(X), y)`` under a forked random state (restored after)."""
        with self._torch.random.fork_rng(devices=self._devices):
            return self._loss_fn(self._model(self._X), self._y)

    def _outside_tensors(self):
        """How many leaf tensors requiring a gradient, not the copy's
        parameters, the loss's graph reaches (one evaluation at theta0)."""
        ours = {id(p) for p in self._params}
        seen, outside = set(), 0
        stack = [self._evaluate().grad_fn]
        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            variable = getattr(node, "variable", None)
            if variable is not None and id(variable) not in ours:
                outside += 1
            stack.extend(next_node for next_node, _ in node.next_functions)
        return outside

    def _load(self, theta):
        torch = self._torch
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != self.theta0.shape:
            raise ValueError(
                f"theta has shape {theta.shape}; expected {self.theta0.shape}."
            )
        if self._flat_numpy is not None:
            np.copyto(self._flat_numpy, theta)
        else:
            with torch.no_grad():
                self._flat.copy_(torch.from_numpy(theta))

    def _value(self, output):
        return scalar_loss(output.detach().cpu().numpy())

    def loss(self, theta):
        """``loss_fn(model(X), y)`` at ``theta``, a float; on complex ``theta``
        (the complex step) a complex128 copy of the model evaluates it, and the
        value is complex."""
        if np.iscomplexobj(theta):
            return self._complex_loss(theta)
        self._load(theta)
        with self._torch.no_grad():
            return self._value(self._evaluate())

    def _complex_loss(self, theta):
        torch = self._torch
        if self._complex is None:
            with warnings.catch_warnings():  # "complex modules are a new feature"
                warnings.simplefilter("ignore", UserWarning)
                model = copy.deepcopy(self._model).to(torch.complex128)
            params = [p for p in model.parameters() if p.requires_grad]
            X = self._X.to(torch.complex128) if self._X.is_floating_point() else self._X
            self._complex = model, params, X
        model, params, X = self._complex
        theta = np.asarray(theta, dtype=np.complex128)
        with torch.no_grad(), torch.random.fork_rng(devices=self._devices):
            for (_, sl, shape), p in zip(self.blocks, params):
                p.copy_(torch.from_numpy(theta[sl].reshape(shape)).to(p.device))
            value = self._loss_fn(model(X), self._y)
        return value.detach().cpu().numpy()

    def gradient(self, theta):
        """The autograd gradient at ``theta``, in theta's layout (float64)."""
        return self.loss_and_gradient(theta)[1]

    def loss_and_gradient(self, theta):
        """``(J(theta), dJ/dtheta)`` from one forward and one backward pass."""
        self._load(theta)
        output = self._evaluate()
        value = self._value(output)
        if output.requires_grad:
            # With respect to the copy's parameters only: no .grad written.
            grads = self._torch.autograd.grad(
                output.reshape(()), self._params, allow_unused=True
            )
        else:  # the loss does not depend on the parameters at all
            grads = [None] * len(self._params)
        grads = [
            np.zeros(p.shape) if g is None else g.detach().cpu().numpy()
            for p, g in zip(self._params, grads)
        ]
        return value, np.concatenate([g.ravel() for g in grads]).astype(np.float64)
