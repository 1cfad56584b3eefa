"""Plain-text tables and number formats, for reports and the command line."""

import math
from numbers import Integral


def fmt(value):
    """A number for a table: integers below 1e6 as they are, others as ``1.23e+04``.

    Strings pass through; None is ``'n/a'``; non-finite values are ``inf`` / ``nan``.

    Examples
    --------
    >>> [fmt(v) for v in (12, 0.000123, float("inf"), None, "-")]
    ['12', '1.23e-04', 'inf', 'n/a', '-']
    """
    if isinstance(value, str):
        return value
    if value is None:
        return "n/a"
    if isinstance(value, Integral) and not isinstance(value, bool) and abs(value) < 1e6:
        return str(int(value))
    value = float(value)
    return f"{value:.2e}" if math.isfinite(value) else str(value)


def text_table(head, rows):
    """Columns left-aligned under ``head``, a ruler below it; rows of strings.

    Examples
    --------
    >>> print(text_table(["block", "verdict"], [["W1", "pass"], ["b1", "fail"]]))
    block  verdict
    -----  -------
    W1     pass
    b1     fail
    """
    cells = [[str(c) for c in row] for row in [head, *rows]]
    widths = [max(len(row[c]) for row in cells) for c in range(len(head))]

    def line(row):
        return "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()

    ruler = ["-" * w for w in widths]
    return "\n".join([line(cells[0]), line(ruler), *(line(r) for r in cells[1:])])
