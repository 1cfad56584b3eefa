"""Plain-text tables and number formats, against hand-written expectations."""

import numpy as np
import pytest

from sk_dlsetup._text import fmt, text_table


@pytest.mark.parametrize(
    "value, expected",
    [
        (12, "12"),
        (np.int64(-999_999), "-999999"),
        (1_000_000, "1.00e+06"),
        (0.000123, "1.23e-04"),
        (np.float32(2.5), "2.50e+00"),
        (float("inf"), "inf"),
        (float("nan"), "nan"),
        (None, "n/a"),
        ("pass", "pass"),
        (True, "1.00e+00"),
    ],
)
def test_fmt(value, expected):
    """Integers below 1e6 as they are, other numbers in 3 significant digits."""
    assert fmt(value) == expected


def test_text_table_aligns_columns_and_strips_trailing_space():
    """Columns are as wide as their widest cell, two spaces apart, with a ruler."""
    table = text_table(["a", "long header"], [["wide cell", ""], [1, 2.5]])
    assert table.splitlines() == [
        "a          long header",
        "---------  -----------",
        "wide cell",
        "1          2.5",
    ]
