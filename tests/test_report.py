"""GradientCheckReport and its rows: table, plain data, HTML; the exceptions."""

import json
import warnings

import numpy as np
import pytest

from sk_dlsetup import (
    GradientCheckError,
    GradientCheckReport,
    GradientCheckWarning,
    MLPFromScratch,
    check_gradients,
)


@pytest.fixture(scope="module")
def reports():
    """A passing and a failing report of the same small MLP."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(25, 3), rng.randint(0, 3, 25)
    model = MLPFromScratch(hidden_layer_sizes=(4,), random_state=0).initialize(X, y)
    good = check_gradients(model, X, y)
    objective = model.objective(X, y)

    class DoubledW2:
        theta0, blocks = objective.theta0, objective.blocks
        loss = staticmethod(objective.loss)

        @staticmethod
        def gradient(theta):
            grad = objective.gradient(theta)
            grad[objective.blocks[2][1]] *= 2
            return grad

    return good, check_gradients(DoubledW2())


def test_report_str_is_a_table_with_one_row_per_block(reports):
    """str(report) has the verdict, a header, one line per block and a total."""
    good, bad = reports
    lines = str(bad).splitlines()
    assert lines[0].startswith("Gradient check: FAIL, difference")
    header = lines[2].split()
    assert header[:3] == ["block", "shape", "difference"] and header[-1] == "verdict"
    rows = {line.split()[0]: line.split() for line in lines[4:9]}
    assert list(rows) == ["W1", "b1", "W2", "b2", "all"]
    assert rows["W2"][-1] == "fail" and rows["W1"][-1] == "pass"
    assert rows["W2"][-2] == "2"  # the ratio column
    assert "PASS" in str(good).splitlines()[0]


def test_report_to_dict_is_plain_json_data(reports):
    """to_dict() holds plain Python values only and survives JSON."""
    _, bad = reports
    data = bad.to_dict()
    assert data["verdict"] == "fail" and data["passed"] is False
    assert data["worst_block"] == "W2"
    assert json.loads(json.dumps(data))["blocks"][2]["name"] == "W2"

    def plain(value):
        if isinstance(value, dict):
            return all(plain(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        return value is None or type(value) in (str, int, float, bool)

    assert plain(data)
    row = data["blocks"][2]
    assert row["shape"] == (4, 3) and len(row["worst_index"]) == 2


def test_report_repr_html_is_a_table(reports):
    """The notebook view is an HTML table with a row per block."""
    _, bad = reports
    html = bad._repr_html_()
    assert html.count("<tr") == 1 + len(bad.blocks) + 1
    assert "<th>difference</th>" in html and "FAIL" in html


def test_block_rows_are_attributes_and_keys(reports):
    """A row reads as attributes and as a mapping of its scalar fields."""
    good, _ = reports
    row = good["b1"]
    assert row["ratio"] == row.ratio and dict(row)["shape"] == (4,)
    assert "numeric_values" not in dict(row)
    assert set(row.to_dict()) == set(row.keys())
    with pytest.raises(KeyError):
        row["entries"]
    with pytest.raises(KeyError):
        good["W9"]
    assert [r.name for r in good] == ["W1", "b1", "W2", "b2"] and len(good) == 4


def test_report_worst_block_and_passed(reports):
    """worst_block is None when all pass; passed follows the verdict."""
    good, bad = reports
    assert good.worst_block is None and good.passed
    assert bad.worst_block == "W2" and not bad.passed
    assert "verdict='fail'" in repr(bad)


def test_report_requires_its_attributes():
    """A report built by hand must get all of its attributes."""
    with pytest.raises(TypeError, match="missing"):
        GradientCheckReport(verdict="pass", blocks=[])


def test_gradient_check_error_and_warning():
    """The error carries its report; the warning is a UserWarning."""
    error = GradientCheckError("bad", report="r")
    assert isinstance(error, RuntimeError) and error.report == "r"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("careful", GradientCheckWarning)
    assert issubclass(caught[0].category, UserWarning)
