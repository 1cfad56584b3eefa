"""interop.torch_objective: PyTorch models' autograd checked block by block.

Skipped where torch is not installed (CI never installs it).
"""

import numpy as np
import pytest

from sk_dlsetup import check_gradients
from sk_dlsetup.interop import torch_objective

torch = pytest.importorskip("torch")


def _model(seed=0, activation=None):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 6), activation or torch.nn.Tanh(), torch.nn.Linear(6, 3)
    )


def _data(seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(25, 4), rng.randint(0, 3, 25)


class _WrongBackward(torch.autograd.Function):
    """x -> x * w with a backward that doubles the gradient of w."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad * w, 2 * (grad * x).sum(dim=0)


class _ScaledLayer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.linspace(0.5, 1.5, 6))

    def forward(self, x):
        return _WrongBackward.apply(x, self.scale)


def test_torch_objective_blocks_and_values_match_the_model():
    """Blocks are named_parameters; loss and gradient are torch's, in float64."""
    model = _model()
    X, y = _data()
    objective = torch_objective(model, torch.nn.functional.cross_entropy, X, y)
    names = [name for name, _ in model.named_parameters()]
    assert [name for name, _, _ in objective.blocks] == names
    assert [shape for _, _, shape in objective.blocks] == [
        tuple(p.shape) for p in model.parameters()
    ]
    twin = _model().double()
    output = torch.nn.functional.cross_entropy(
        twin(torch.as_tensor(X)), torch.as_tensor(y)
    )
    output.backward()
    expected = np.concatenate([p.grad.numpy().ravel() for p in twin.parameters()])
    assert objective.loss(objective.theta0) == pytest.approx(output.item(), rel=1e-14)
    np.testing.assert_allclose(
        objective.gradient(objective.theta0), expected, rtol=1e-12, atol=1e-15
    )
    assert next(model.parameters()).dtype == torch.float32  # the user's model untouched


def test_torch_correct_model_passes():
    """A correct model passes every block."""
    X, y = _data()
    objective = torch_objective(_model(), torch.nn.functional.cross_entropy, X, y)
    report = check_gradients(objective)
    assert report.verdict == "pass" and report.engine == "plain", str(report)


def test_torch_wrong_backward_is_localized_to_its_parameter():
    """A custom autograd.Function doubling dL/dw fails exactly that block, ratio 2."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 6), _ScaledLayer(), torch.nn.Tanh(), torch.nn.Linear(6, 3)
    )
    X, y = _data()
    report = check_gradients(
        torch_objective(model, torch.nn.functional.cross_entropy, X, y)
    )
    verdicts = {row.name: row.verdict for row in report.blocks}
    assert verdicts.pop("1.scale") == "fail", str(report)
    assert set(verdicts.values()) == {"pass"}, str(report)
    assert report["1.scale"].ratio == pytest.approx(2.0, rel=1e-5)


def test_torch_relu_kinks_are_handled_as_on_the_plain_engine():
    """A ReLU model after training: no 'fail' from kinks."""
    X, y = _data(1)
    model = _model(1, torch.nn.ReLU())
    report = check_gradients(
        torch_objective(model, torch.nn.functional.cross_entropy, X, y)
    )
    assert report.verdict != "fail", str(report)


def test_torch_objective_bad_input():
    """Not a module, not a loss function, or a non-scalar loss: clear errors."""
    X, y = _data()
    with pytest.raises(TypeError, match="needs a torch.nn.Module"):
        torch_objective(lambda x: x, torch.nn.functional.cross_entropy, X, y)
    with pytest.raises(TypeError, match="loss_fn must be a function"):
        torch_objective(_model(), "cross_entropy", X, y)
    objective = torch_objective(
        _model(),
        lambda out, t: torch.nn.functional.cross_entropy(out, t, reduction="none"),
        X,
        y,
    )
    with pytest.raises(ValueError, match="loss\\(theta\\) must return a real scalar"):
        check_gradients(objective)


# ------------------------------------------- touches nothing it does not own


def test_torch_objective_writes_no_grad_outside_its_copy():
    """The user's own model (a penalty over its parameters in loss_fn) and an X
    that requires grad: no .grad written, a warning that those terms are not
    checked, and the check still passes."""
    model = _model()
    X = torch.as_tensor(_data()[0]).requires_grad_(True)
    y = torch.as_tensor(_data()[1])

    def loss_fn(output, target):
        penalty = sum((p.double() ** 2).sum() for p in model.parameters())
        return torch.nn.functional.cross_entropy(output, target) + 1e-3 * penalty

    with pytest.warns(UserWarning, match=r"depends on \d+ tensor\(s\) outside"):
        objective = torch_objective(model, loss_fn, X, y)
    for _ in range(2):
        objective.gradient(objective.theta0)
    report = check_gradients(objective)
    assert report.passed
    assert all(p.grad is None for p in model.parameters())
    assert X.grad is None


def test_torch_objective_frozen_extractor_in_loss_is_untouched():
    """Tensors of another module used inside loss_fn keep .grad None."""
    teacher = torch.nn.Linear(4, 3).double()
    X, y = _data()
    X_t = torch.as_tensor(X)

    def distillation(output, target):
        return ((output - teacher(X_t)) ** 2).mean()

    with pytest.warns(UserWarning, match="outside the model"):
        objective = torch_objective(_model(), distillation, X, y)
    assert objective.external_tensors == 2  # the teacher's weight and bias
    objective.gradient(objective.theta0)
    assert teacher.weight.grad is None and teacher.bias.grad is None


class _Noisy(torch.nn.Module):
    """A model that draws noise in forward (as a VAE's sampling does)."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.linear(x) + 0.1 * torch.randn(x.shape[0], 3, dtype=x.dtype)


def test_torch_objective_keeps_the_global_random_state():
    """A model drawing noise in forward: torch's random state is the same after
    a whole check, and J is a fixed function (the check passes)."""
    torch.manual_seed(0)
    X, y = _data()
    model = _Noisy()  # its initial weights come from the global stream
    before = torch.get_rng_state()
    objective = torch_objective(model, torch.nn.functional.cross_entropy, X, y)
    assert objective.loss(objective.theta0) == objective.loss(objective.theta0)
    report = check_gradients(objective)
    assert torch.equal(torch.get_rng_state(), before)
    assert report.passed, str(report)
    assert objective.external_tensors == 0
