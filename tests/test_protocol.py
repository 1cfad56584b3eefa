"""The objective protocol's rules: a malformed objective is an error, never a pass."""

import re
import types

import numpy as np
import pytest

from sk_dlsetup import MLPFromScratch, check_gradients
from sk_dlsetup.gradcheck._protocol import (
    gradient_vector,
    scalar_loss,
    validate_blocks,
)


@pytest.fixture
def objective(binary_data):
    """A correct objective of 31 parameters: W1 (4, 5), b1 (5,), W2 (5, 1), b2 (1,)."""
    X, y = binary_data
    X = X[:, :4]
    model = MLPFromScratch((5,), activation="tanh", random_state=0).initialize(X, y)
    return model.objective(X, y)


def _with(objective, **changes):
    """A protocol-only copy of ``objective`` with some members replaced."""
    members = {
        "theta0": objective.theta0,
        "blocks": objective.blocks,
        "loss": objective.loss,
        "gradient": objective.gradient,
    }
    return types.SimpleNamespace(**{**members, **changes})


def test_blocks_covering_part_of_theta_are_an_error_not_a_pass(objective):
    """Blocks for W1 and b1 only (the bug in W2 unseen) raise, naming the gap."""
    assert objective.theta0.size == 31

    def buggy_gradient(theta):
        grad = objective.gradient(theta)
        grad[25:30] *= 2  # W2
        return grad

    partial = _with(objective, blocks=objective.blocks[:2], gradient=buggy_gradient)
    message = (
        "theta0[25:31] is covered by no block (after 'b1', at the end of theta0): "
        "every parameter must belong to exactly one block."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        check_gradients(partial)


def test_a_gap_between_blocks_names_the_blocks_around_it(objective):
    """A missing middle block: the uncovered range and its neighbours."""
    blocks = [objective.blocks[0], *objective.blocks[2:]]
    message = (
        "theta0[20:25] is covered by no block (after 'W1', before 'W2'): every "
        "parameter must belong to exactly one block."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        check_gradients(_with(objective, blocks=blocks))


def test_overlapping_blocks_are_an_error(objective):
    """A block that starts inside the previous one: both names and the range."""
    (n1, s1, sh1), (n2, _, _) = objective.blocks[:2]
    blocks = [
        (n1, s1, sh1),
        (n2, slice(18, 23), (5,)),
        ("rest", slice(23, 31), (8,)),
    ]
    message = "theta0[18:20] is covered by both 'W1' and 'b1': blocks must not overlap."
    with pytest.raises(ValueError, match=re.escape(message)):
        check_gradients(_with(objective, blocks=blocks))


def test_blocks_out_of_order_are_an_error(objective):
    """Blocks must follow theta0's order."""
    blocks = [objective.blocks[1], objective.blocks[0], *objective.blocks[2:]]
    message = (
        "blocks must follow theta0's order: 'W1' starts at 0, before 'b1' (at 20)."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_blocks(blocks, 31)


def test_name_slice_pairs_are_a_type_error(objective):
    """(name, slice) pairs instead of triples: what was expected and what came."""
    pairs = [(name, sl) for name, sl, _ in objective.blocks]
    with pytest.raises(
        TypeError,
        match=re.escape(
            "objective.blocks[0] must be a (name, slice, shape) triple; got a tuple "
            "of 2 items: ('W1', slice(0, 20, None))"
        ),
    ):
        check_gradients(_with(objective, blocks=pairs))


def test_index_arrays_instead_of_slices_are_a_type_error(objective):
    """An index array is not a slice of theta0."""
    blocks = [
        (name, np.arange(sl.start, sl.stop), shape)
        for name, sl, shape in objective.blocks
    ]
    with pytest.raises(
        TypeError,
        match=re.escape(
            "block 'W1': expected a slice of theta0 (start:stop), got ndarray."
        ),
    ):
        check_gradients(_with(objective, blocks=blocks))


def test_slice_length_must_equal_the_shape(objective):
    """A slice holding fewer values than its shape."""
    blocks = list(objective.blocks)
    blocks[0] = ("W1", slice(0, 20), (4, 4))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "block 'W1': slice slice(0, 20, None) does not hold an array of shape "
            "(4, 4) (16 values) within theta0's 31."
        ),
    ):
        check_gradients(_with(objective, blocks=blocks))


def test_duplicate_block_names_are_an_error():
    """Two blocks with one name would make the report ambiguous."""
    blocks = [("w", slice(0, 1), (1,)), ("w", slice(1, 2), (1,))]
    with pytest.raises(ValueError, match="block name 'w' appears twice"):
        validate_blocks(blocks, 2)


def test_one_element_loss_and_column_gradient_are_accepted(objective):
    """loss as a one-element array and the gradient as a column: a normal check."""
    accepted = _with(
        objective,
        loss=lambda theta: np.array([[objective.loss(theta)]]),
        gradient=lambda theta: objective.gradient(theta)[:, None],
    )
    report = check_gradients(accepted)
    assert report.verdict == "pass" and report.n_checked == 31


@pytest.mark.parametrize(
    "value, error, message",
    [
        (np.ones(3), ValueError, "got an array of shape (3,)."),
        (1 + 2j, TypeError, "got a complex value."),
        ("1.0", TypeError, "got str."),
    ],
)
def test_scalar_loss_rules(value, error, message):
    """A loss must be one real number."""
    with pytest.raises(
        error, match=re.escape("loss(theta) must return a real scalar; " + message)
    ):
        scalar_loss(value)


def test_gradient_must_have_one_value_per_parameter(objective):
    """A gradient of the wrong size names both sizes."""
    short = _with(objective, gradient=lambda theta: objective.gradient(theta)[:25])
    message = (
        "gradient(theta) returned 25 values (shape (25,)); theta0 has 31: one value "
        "per parameter is needed."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        check_gradients(short)
    with pytest.raises(ValueError, match=re.escape("(shape (31, 2))")):
        gradient_vector(np.ones((31, 2)), 31)
