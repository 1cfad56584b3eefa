"""The command-line main job: ``python -m sk_dlsetup`` / ``sk-dlsetup``."""

import subprocess
import sys
import types

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from sk_dlsetup import MLPFromScratch, __version__
from sk_dlsetup.__main__ import DataError, _settings, build_parser, load_csv, main


def _write_csv(path, header, rows):
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def classification_csv(tmp_path):
    """60 rows, 4 numeric features on different scales, string labels."""
    X, y = make_classification(60, 4, n_informative=3, n_redundant=0, random_state=0)
    X = X * [1.0, 10.0, 100.0, 0.1]
    labels = np.array(["cat", "dog"])[y]
    rows = [[*np.round(x, 6), label] for x, label in zip(X, labels)]
    return _write_csv(tmp_path / "pets.csv", ["a", "b", "c", "d", "label"], rows)


def _run(capsys, *argv):
    """Run the main job; without the depth step (section 4) unless asked for."""
    argv = list(argv)
    if "--deep-depth" not in argv and not any(a in argv for a in ("-h", "--help")):
        argv += ["--deep-depth", "0"]
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_main_digits_quick_run_with_plot(capsys, tmp_path):
    """The demo on digits: every section printed, progress on stderr, a PNG written."""
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib")
    figure = tmp_path / "figures.png"
    status, out, err = _run(
        capsys, "--quick", "--plot", str(figure), "--deep-depth", "100"
    )
    assert status == 0
    assert "digits (scikit-learn): 1797 samples x 64 features, 10 classes" in out
    assert "1. Normalize the inputs" in out
    assert "condition number of the least-squares Hessian" in out
    assert "Gradient check at 'init': PASS" in out
    assert "Gradient check at 'fitted': PASS" in out
    for init in ("he", "xavier", "random"):
        assert any(line.startswith(f"{init} ") for line in out.splitlines())
    assert "Summary: what this run showed" in out
    assert "Backpropagation agrees with finite differences" in out
    starts = [line[:5] for line in err.splitlines() if line.endswith("...")]
    assert starts == [f"[{k}/6]" for k in range(1, 7)]
    assert "Traceback" not in err
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Section 4 at depth 100: orthogonal tanh stays near-isometric (2.6 by hand,
    # the contract's number on normalized digits), Gaussian xavier does not.
    assert "4. Training at depth (100 hidden layers)" in out
    depth = {
        tuple(words[:2]): words
        for words in (line.split() for line in out.splitlines())
        if words[:1] in (["tanh"], ["relu"]) and len(words) == 6
    }
    assert len(depth) == 8
    assert float(depth["tanh", "orthogonal"][4]) < 5
    assert float(depth["tanh", "xavier"][4]) > 1e6
    lesson = _lesson(out, 4)
    assert "tanh: 'orthogonal' kept the input-output Jacobian near-isometric" in lesson


def _lesson(out, number):
    """The text of lesson ``number`` of the summary, unwrapped."""
    summary = out.split("Summary: what this run showed")[1]
    start = summary.index(f"\n{number}. ")
    end = summary.find(f"\n\n{number + 1}. ", start)
    text = summary[start : end if end > 0 else None]
    return " ".join(text.split())


def _init_rows(out):
    """{init: row} of the init table: std A[1], std A[L], per layer, ..., CV."""
    rows = {}
    for line in out.splitlines():
        words = line.split()
        if words[:1] in (["he"], ["xavier"], ["random"]) and len(words) >= 8:
            rows[words[0]] = {
                "std_first": float(words[1]),
                "std_last": float(words[2]),
                "per_layer": float(words[3]),
                "cv": float(words[6]),
            }
    return rows


def test_main_quick_run_states_lessons_its_numbers_support(capsys):
    """--quick keeps the lessons true: 20 ReLU layers, and sentences that match.

    The textbook numbers are independent of our code: He's variance 2/fan_in
    keeps a ReLU layer's output scale (x1), Xavier/LeCun's 1/fan_in shrinks it
    by 1/sqrt(2), and 0.01 * N(0, 1) weights by 0.01 * sqrt(fan_in / 2).
    """
    status, out, _ = _run(capsys, "--quick")
    assert status == 0
    rows = _init_rows(out)
    assert 0.93 < rows["he"]["per_layer"] < 1.07
    assert abs(rows["xavier"]["per_layer"] - 2**-0.5) < 0.03
    assert abs(rows["random"]["per_layer"] - 0.01 * np.sqrt(32 / 2)) < 0.01
    assert rows["random"]["std_last"] < 1e-20
    # He trains best, Xavier next, random stays at chance (1 digit in 10).
    assert rows["he"]["cv"] > rows["xavier"]["cv"] + 0.05
    assert abs(rows["random"]["cv"] - 0.1) < 0.02

    normalization = _lesson(out, 1)
    raw_cv = float(normalization.split("reached CV accuracy ")[1].split()[0])
    assert raw_cv < rows["he"]["cv"]
    assert f"{rows['he']['cv']:.3f} on the normalized ones" in normalization
    assert "3.11e+07 to 1.47e+02" in normalization
    assert "Backpropagation agrees" in _lesson(out, 2)
    inits = _lesson(out, 3)
    assert "'he': 7.81e-01 -> " in inits and "it keeps the signal's scale" in inits
    assert "'random'" in inits and "collapsed by layer 20" in inits
    assert f"x{rows['xavier']['per_layer']:.3f} per layer" in inits
    assert "'he', the textbook rule for relu, trained best" in inits
    assert "'random' stayed at chance level" in inits
    assert "best:" not in out


def test_main_shallow_network_says_why_the_textbook_rule_lost(capsys):
    """On 3 layers Xavier beats He here: the summary says so, and why."""
    status, out, _ = _run(capsys, "--quick", "--depth", "3")
    assert status == 0
    rows = _init_rows(out)
    inits = _lesson(out, 3)
    if rows["xavier"]["cv"] > rows["he"]["cv"]:
        assert "'xavier' beat 'he'" in inits or "a tie on this data" in inits
        assert "Rerun with --depth 20" in inits or "a tie on this data" in inits
    else:
        assert "'he', the textbook rule for relu, trained best" in inits


def test_main_conditioning_numbers_show_why_normalize(capsys):
    """On digits the normalized problem is far better conditioned than the raw one."""
    status, out, _ = _run(capsys, "--quick", "--depth", "1", "--epochs", "1")
    assert status == 0
    row = next(line for line in out.splitlines() if line.startswith("condition"))
    raw, normalized = (float(v) for v in row.split()[-2:])
    assert raw > 1e6 > 1e3 > normalized


def test_main_init_table_shows_the_first_layer_gradient_vanish(capsys):
    """Six layers: small random weights leave W1 no gradient, at init and after."""
    status, out, _ = _run(capsys, "--depth", "6", "--epochs", "4", "--cv", "2")
    assert status == 0
    lines = out.splitlines()
    head = next(line for line in lines if line.startswith("init "))
    assert "||dW1|| last epoch" in head
    rows = {
        line.split()[0]: [float(v) for v in line.split()[1:6]]
        for line in lines
        if line.split()[:1] in (["he"], ["random"])
    }
    for row in rows.values():
        del row[2]  # the change per layer
    _, _, he_init, he_last = rows["he"]
    _, _, random_init, random_last = rows["random"]
    assert random_init < 1e-4 * he_init
    assert random_last < 1e-4 * he_last


def test_main_same_seed_same_report(capsys):
    """--seed makes the whole report reproducible (timings go to stderr only)."""
    argv = ("--quick", "--depth", "2", "--epochs", "2", "--seed", "3")
    first = _run(capsys, *argv)
    second = _run(capsys, *argv)
    assert first[0] == second[0] == 0
    assert first[1] == second[1]


def test_main_csv_classification(capsys, classification_csv):
    """A CSV with string labels: classification with accuracy."""
    status, out, err = _run(
        capsys, "--csv", str(classification_csv), "--target", "label", "--quick"
    )
    assert status == 0, err
    assert f"{classification_csv}: 60 samples x 4 features, 2 classes" in out
    assert "CV accuracy" in out


def test_main_csv_regression(capsys, tmp_path):
    """A continuous numeric target is a regression, scored with R^2."""
    X, y = make_regression(50, 3, noise=1.0, random_state=0)
    rows = [[*np.round(x, 6), round(t, 6)] for x, t in zip(X, y)]
    path = _write_csv(tmp_path / "reg.csv", ["x1", "x2", "x3", "price"], rows)
    status, out, err = _run(
        capsys, "--csv", str(path), "--target", "price", "--quick", "--depth", "2"
    )
    assert status == 0, err
    assert "3 features, a real-valued target" in out
    assert "CV R^2" in out
    assert "Gradient check at 'fitted': PASS" in out


class _DoubledGradientMLP(MLPFromScratch):
    """An MLP whose objective reports a gradient twice too large (a backprop bug)."""

    def objective(self, X, y, **kwargs):
        inner = super().objective(X, y, **kwargs)
        return types.SimpleNamespace(
            theta0=inner.theta0,
            blocks=inner.blocks,
            loss=inner.loss,
            gradient=lambda theta: 2.0 * inner.gradient(theta),
        )


def test_main_failing_gradient_check_exits_1(capsys, monkeypatch):
    """A backprop bug makes the exit status 1 and the summary say FAILED."""
    import sk_dlsetup.__main__ as cli

    network = cli._network

    def buggy_network(task, args, init):
        return _DoubledGradientMLP(**network(task, args, init).get_params())

    monkeypatch.setattr(cli, "_network", buggy_network)
    argv = ("--quick", "--depth", "1", "--width", "8", "--epochs", "1")
    status, out, _ = _run(capsys, *argv)
    assert status == 1
    assert "Gradient check at 'init': FAIL" in out
    assert "The gradient check FAILED at init, fitted" in out


# -------------------------------------------------------------------- errors


def _assert_clean_error(status, err, message):
    assert status == 2
    assert message in err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("sk-dlsetup: error:")


def test_main_missing_file(capsys, tmp_path):
    """A CSV that does not exist: exit 2 and the path."""
    missing = tmp_path / "nope.csv"
    status, out, err = _run(capsys, "--csv", str(missing), "--target", "y")
    _assert_clean_error(status, err, f"no such file: {missing}")
    assert out == ""


def test_main_missing_target_column(capsys, classification_csv):
    """A target column not in the header: exit 2, listing the columns."""
    status, _, err = _run(capsys, "--csv", str(classification_csv), "--target", "y")
    _assert_clean_error(status, err, "target column 'y' not found")
    assert "'a', 'b', 'c', 'd', 'label'" in err


def test_main_non_numeric_feature(capsys, tmp_path):
    """A text feature column: exit 2, naming the column, the line and the value."""
    rows = [[i, "red" if i == 3 else i * 0.5, i % 2] for i in range(12)]
    path = _write_csv(tmp_path / "mixed.csv", ["x", "color", "y"], rows)
    status, _, err = _run(capsys, "--csv", str(path), "--target", "y")
    _assert_clean_error(status, err, "feature column 'color' is not numeric")
    assert "line 5: 'red'" in err


def test_main_missing_feature_value(capsys, tmp_path):
    """An empty or NaN feature value: exit 2, called a missing value (not a
    non-numeric column), asking to impute."""
    rows = [[i, "" if i == 2 else i, i % 2] for i in range(12)]
    path = _write_csv(tmp_path / "holes.csv", ["x", "z", "y"], rows)
    status, _, err = _run(capsys, "--csv", str(path), "--target", "y")
    _assert_clean_error(status, err, "feature column 'z' has a missing value")
    assert "line 4: an empty cell" in err and "Impute" in err
    rows[4][1] = "nan"
    rows[2][1] = 2
    _write_csv(path, ["x", "z", "y"], rows)
    status, _, err = _run(capsys, "--csv", str(path), "--target", "y")
    _assert_clean_error(status, err, "feature column 'z' has a missing")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--target", "y"], "--target needs --csv"),
        (["--csv", "data.csv"], "--csv needs --target"),
        (["--cv", "1"], "--cv must be at least 2"),
        (["--quick", "--cv", "1"], "--cv must be at least 2"),
    ],
)
def test_main_inconsistent_arguments(capsys, argv, message):
    """Arguments that do not go together: exit 2 with what is wrong."""
    status, _, err = _run(capsys, *argv)
    _assert_clean_error(status, err, message)


@pytest.mark.parametrize(
    "argv, depth, epochs, cv",
    [
        ([], 20, 30, 3),
        (["--quick"], 20, 10, 2),
        (["--quick", "--depth", "6"], 6, 10, 2),
        (["--quick", "--epochs", "50", "--cv", "4"], 20, 50, 4),
        (["--depth", "2"], 2, 30, 3),
    ],
)
def test_quick_sets_defaults_and_explicit_options_win(argv, depth, epochs, cv):
    """--quick shrinks the run, but never overrides a size the user typed."""
    args = _settings(build_parser().parse_args(argv))
    assert (args.depth, args.epochs, args.cv) == (depth, epochs, cv)


def test_main_usage_errors_exit_2(capsys):
    """argparse's own errors (unknown option, bad value) exit 2 without raising."""
    status, _, err = _run(capsys, "--no-such-option")
    assert status == 2 and "unrecognized arguments" in err
    status, _, err = _run(capsys, "--epochs", "0")
    assert status == 2 and "must be >= 1" in err


def test_main_single_class_and_tiny_class(capsys, tmp_path):
    """A one-class target, or a class with fewer rows than folds, is a clean error."""
    rows = [[i, i * 2, "a"] for i in range(12)]
    path = _write_csv(tmp_path / "one.csv", ["x", "z", "y"], rows)
    status, _, err = _run(capsys, "--csv", str(path), "--target", "y")
    _assert_clean_error(status, err, "single class ('a')")
    rows[0][2] = "b"
    _write_csv(path, ["x", "z", "y"], rows)
    status, _, err = _run(capsys, "--csv", str(path), "--target", "y")
    _assert_clean_error(status, err, "class 'b' has 1 samples, fewer than --cv=3")


def test_load_csv_formats(tmp_path):
    """Header whitespace, a BOM, quoted fields and blank lines are read as expected."""
    path = tmp_path / "quoted.csv"
    body = ['\ufeff"x", y , "label"'] + [
        f'{i},"{i / 4}",{"ab"[i % 2]}' for i in range(10)
    ]
    path.write_text("\n".join(body[:5] + [""] + body[5:]) + "\n", encoding="utf-8")
    X, y, features = load_csv(path, "label")
    assert features == ["x", "y"]
    assert X.shape == (10, 2) and X.dtype == np.float64
    np.testing.assert_array_equal(X[:, 1], np.arange(10) / 4)
    assert list(y[:3]) == ["a", "b", "a"]
    with pytest.raises(DataError, match="line 3: 2 fields, but the header has 3"):
        path.write_text("a,b,c\n1,2,3\n4,5\n" + "1,2,3\n" * 10)
        load_csv(path, "c")


# ---------------------------------------------------------------- as a program


def test_main_help_and_version(capsys):
    """--help and --version print and return 0."""
    status, out, _ = _run(capsys, "--help")
    assert status == 0
    assert "usage: sk-dlsetup" in out and "--csv PATH" in out and "Exit status" in out
    status, out, _ = _run(capsys, "--version")
    assert status == 0 and out.strip() == f"sk-dlsetup {__version__}"


def test_python_dash_m_help():
    """``python -m sk_dlsetup --help`` runs as a program and exits 0."""
    result = subprocess.run(
        [sys.executable, "-m", "sk_dlsetup", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: sk-dlsetup")


def test_main_regression_target_is_standardized(capsys, tmp_path):
    """A raw regression target (diabetes, 25-346) is standardized for training.

    Before, the network trained on the raw target and printed CV R^2 of about -3;
    now the R^2, in the target's own units, is positive, and the output says so.
    """
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, scaled=False)
    rows = [[*x, t] for x, t in zip(X[:300], y[:300])]
    names = [f"x{i}" for i in range(X.shape[1])] + ["progression"]
    path = _write_csv(tmp_path / "diabetes.csv", names, rows)
    status, out, err = _run(
        capsys, "--csv", str(path), "--target", "progression", "--quick", "--depth", "3"
    )
    assert status == 0, err
    assert "standardized for training" in out
    he_row = next(line for line in out.splitlines() if line.startswith("he "))
    cv_r2 = float(he_row.split()[6])
    assert cv_r2 > 0, he_row
