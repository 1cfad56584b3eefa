"""The command line's data: scikit-learn's digits, or a CSV file of the user's."""

import csv

import numpy as np
from sklearn.utils.multiclass import type_of_target


class DataError(Exception):
    """A problem with the user's data or arguments: exit status 2, no traceback."""


def load_csv(path, target):
    """Read a numeric CSV with a header: ``(X, y, feature_names)``.

    The target column may hold any labels; every other column must parse as a
    number. The fields come from :mod:`csv`, the numbers from numpy's
    conversion of all feature columns at once. Raises :class:`DataError` with a
    message for the user otherwise.
    """
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [
                row
                for row in csv.reader(handle, skipinitialspace=True)
                if any(c.strip() for c in row)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path} as CSV: {exc}") from None
    if not rows:
        raise DataError(f"{path} is empty.")
    header, body = [name.strip() for name in rows[0]], rows[1:]
    if target not in header:
        raise DataError(
            f"target column {target!r} not found in {path}; its columns are: "
            + ", ".join(repr(name) for name in header)
        )
    if len(header) < 2:
        raise DataError(f"{path} has no feature column besides {target!r}.")
    if len(body) < 10:
        raise DataError(f"{path} has {len(body)} data rows; at least 10 are needed.")
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(
                f"{path}, line {line}: {len(row)} fields, but the header has "
                f"{len(header)}."
            )
    t = header.index(target)
    features = [name for j, name in enumerate(header) if j != t]
    table = np.array(body, dtype=str)
    y = np.char.strip(table[:, t]).astype(object)
    if any(label == "" for label in y):
        raise DataError(f"the target column {target!r} has empty values.")
    cells = np.char.strip(np.delete(table, t, axis=1))
    try:
        X = cells.astype(np.float64)
    except ValueError:
        X = None
    if X is None or not np.isfinite(X).all():
        _raise_first_bad_cell(cells, features, path)
    return X, _as_numbers_if_possible(y), features


def _raise_first_bad_cell(cells, features, path):
    """Name the first cell, column by column, that is no finite number."""
    for j, column in enumerate(features):
        for i, text in enumerate(cells[:, j].tolist()):
            if text == "":
                raise DataError(
                    f"feature column {column!r} has a missing value ({path}, line "
                    f"{i + 2}: an empty cell). Impute or drop it first."
                )
            try:
                value = float(text)
            except ValueError:
                raise DataError(
                    f"feature column {column!r} is not numeric ({path}, line "
                    f"{i + 2}: {text!r}). Encode it as numbers or drop it first."
                ) from None
            if not np.isfinite(value):
                raise DataError(
                    f"feature column {column!r} has a missing or infinite value "
                    f"({path}, line {i + 2}: {text!r}). Impute or drop it first."
                )


def _as_numbers_if_possible(y):
    try:
        return y.astype(np.float64)
    except ValueError:
        return y.astype(str)


def _task(y, requested):
    if requested != "auto":
        return requested
    kind = type_of_target(y)
    if kind == "continuous":
        return "regression"
    if kind == "multiclass" and y.dtype.kind == "f" and np.unique(y).size > 20:
        return "regression"
    return "classification"


def load_data(args):
    """``(X, y, description, task)`` for digits or the user's CSV."""
    if args.csv is None:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        name = "digits (scikit-learn)"
    else:
        X, y, _ = load_csv(args.csv, args.target)
        name = str(args.csv)
    task = _task(y, args.task)
    if task == "classification":
        labels, counts = np.unique(y, return_counts=True)
        if labels.size < 2:
            raise DataError(f"the target has a single class ({labels[0].item()!r}).")
        if counts.min() < args.cv:
            rare = labels[np.argmin(counts)].item()
            raise DataError(
                f"class {rare!r} has {counts.min()} samples, fewer than "
                f"--cv={args.cv} folds."
            )
        what = f"{labels.size} classes"
    else:
        try:
            y = np.asarray(y, dtype=np.float64)
        except ValueError:
            raise DataError("--task regression needs a numeric target.") from None
        what = "a real-valued target"
    description = f"{name}: {X.shape[0]} samples x {X.shape[1]} features, {what}"
    return X, y, description, task
