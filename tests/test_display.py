"""LayerStatisticsDisplay, LayerHistoryDisplay and GradientCheckDisplay: what
they draw, and errors."""

import subprocess
import sys
import types

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline

from sk_dlsetup import GradientChecker, InputNormalizer, MLPFromScratch, check_gradients
from sk_dlsetup.diagnostics import (
    GradientCheckDisplay,
    LayerHistoryDisplay,
    LayerStatisticsDisplay,
    layer_statistics,
)


@pytest.fixture
def pyplot():
    """matplotlib.pyplot on the Agg backend; every figure closed afterwards."""
    matplotlib = pytest.importorskip(
        "matplotlib", reason="plotting needs matplotlib (in the 'test' extra)"
    )
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture
def deep_net(binary_data):
    """An initialized 6-hidden-layer ReLU network on the binary data."""
    X, y = binary_data
    return MLPFromScratch([8] * 6, init="random", random_state=0).initialize(X, y)


class _DoubledW2:
    """A third-party model whose backprop doubles dW2 (the lecture's planted bug)."""

    def __init__(self, net):
        self.net = net

    def objective(self, X, y):
        inner = self.net.objective(X, y)
        w2 = dict((name, sl) for name, sl, _ in inner.blocks)["W2"]

        def gradient(theta):
            g = inner.gradient(theta)
            g[w2] *= 2.0
            return g

        return types.SimpleNamespace(
            theta0=inner.theta0,
            blocks=inner.blocks,
            loss=inner.loss,
            gradient=gradient,
        )


# ------------------------------------------------------------ LayerStatisticsDisplay


def test_layer_statistics_display_draws_the_statistics(pyplot, deep_net, binary_data):
    """One line per statistic, through (layer, value), on a log axis."""
    X, y = binary_data
    display = LayerStatisticsDisplay.from_estimator(deep_net, X, y)
    stats = layer_statistics(deep_net, X, y)
    assert display.stats == stats
    assert list(display.lines_) == ["activation_std", "dW_norm"]
    for key, line in display.lines_.items():
        assert_allclose(line.get_xdata(), [row["layer"] for row in stats])
        assert_allclose(line.get_ydata(), [row[key] for row in stats])
    assert display.ax_.get_yscale() == "log"
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_xlabel() == "layer l"


def test_layer_statistics_display_without_y(pyplot, deep_net, binary_data):
    """Without y only the activation scale is drawn."""
    X, _ = binary_data
    display = LayerStatisticsDisplay.from_estimator(deep_net, X)
    assert list(display.lines_) == ["activation_std"]
    label = display.lines_["activation_std"].get_label()
    assert label == "MLPFromScratch (relu, random)"


def test_layer_statistics_display_on_a_given_ax(pyplot, binary_data):
    """Several networks on one ax, one line each, labelled by name."""
    X, y = binary_data
    _, ax = pyplot.subplots()
    for init in ("he", "random"):
        net = MLPFromScratch([8] * 4, init=init, random_state=0).initialize(X, y)
        display = LayerStatisticsDisplay.from_estimator(
            net, X, statistics="preactivation_std", name=init, ax=ax
        )
        assert display.ax_ is ax
    assert [line.get_label() for line in ax.get_lines()] == ["he", "random"]
    assert ax.get_ylabel() == "std of Z[l]"


def test_layer_statistics_display_one_colour_per_network(pyplot, binary_data):
    """Each init one colour, each statistic one line style; the legend names the
    networks once each, outside the axes, and the y label says which style is
    which statistic."""
    X, y = binary_data
    _, ax = pyplot.subplots()
    colours = {}
    for init in ("he", "xavier", "random"):
        net = MLPFromScratch([8] * 4, init=init, random_state=0).initialize(X, y)
        display = LayerStatisticsDisplay.from_estimator(net, X, y, name=init, ax=ax)
        lines = display.lines_
        assert lines["activation_std"].get_color() == lines["dW_norm"].get_color()
        assert lines["activation_std"].get_linestyle() == "-"
        assert lines["dW_norm"].get_linestyle() == "--"
        colours[init] = lines["activation_std"].get_color()
    assert len(set(colours.values())) == 3
    legend = ax.get_legend()
    assert [text.get_text() for text in legend.get_texts()] == list(colours)
    anchor = legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert anchor.x0 > 1.0  # right of the axes: it covers no data
    assert ax.get_ylabel() == "std of A[l] (solid), ||dW[l]|| (dashed)"
    assert ax.get_title() == "std of A[l] and ||dW[l]|| across depth"


def test_layer_statistics_display_linear_axis_for_fractions(
    pyplot, deep_net, binary_data
):
    """dead_fraction and means are not scales: the y axis stays linear."""
    X, _ = binary_data
    display = LayerStatisticsDisplay(layer_statistics(deep_net, X)).plot(
        statistics=["dead_fraction", "activation_mean"]
    )
    assert display.ax_.get_yscale() == "linear"
    assert set(display.lines_) == {"dead_fraction", "activation_mean"}


def test_layer_statistics_display_plot_again(pyplot, deep_net, binary_data):
    """plot() redraws the held numbers: other statistics, on another ax."""
    X, y = binary_data
    display = LayerStatisticsDisplay.from_estimator(deep_net, X, y)
    first_ax = display.ax_
    _, ax = pyplot.subplots()
    display.plot(ax=ax, statistics="db_norm", color="red")
    assert display.ax_ is ax is not first_ax
    assert list(display.lines_) == ["db_norm"]
    assert display.lines_["db_norm"].get_color() == "red"


def test_layer_statistics_display_unknown_statistic(pyplot, deep_net, binary_data):
    """An unknown key, or a gradient norm without y, is a ValueError naming why."""
    X, y = binary_data
    with pytest.raises(ValueError, match="Unknown statistics \\['nope'\\]"):
        LayerStatisticsDisplay.from_estimator(deep_net, X, y, statistics="nope")
    with pytest.raises(ValueError, match="pass y for the gradient norms"):
        LayerStatisticsDisplay.from_estimator(deep_net, X, statistics="dW_norm")


# ------------------------------------------------------------ LayerHistoryDisplay


@pytest.fixture
def recorded_net(binary_data):
    """A 3-hidden-layer network trained 4 epochs with record_layer_stats."""
    X, y = binary_data
    net = MLPFromScratch([8] * 3, max_iter=4, random_state=0, record_layer_stats=True)
    with pytest.warns(ConvergenceWarning):
        return net.fit(X, y)


def test_layer_history_display_draws_each_layer_per_epoch(pyplot, recorded_net):
    """One line per weight layer through (epoch, layer_stats_[statistic][:, l - 1])."""
    display = LayerHistoryDisplay.from_estimator(recorded_net)
    dW_norm = recorded_net.layer_stats_["dW_norm"]
    assert list(display.lines_) == [1, 2, 3, 4]
    for layer, line in display.lines_.items():
        assert_allclose(line.get_xdata(), [1, 2, 3, 4])
        assert_allclose(line.get_ydata(), dW_norm[:, layer - 1])
        assert line.get_label() == f"layer {layer}"
    assert display.ax_.get_yscale() == "log"
    assert display.ax_.get_xlabel() == "epoch"
    assert display.ax_.get_ylabel() == "||dW[l]|| (log scale)"
    assert display.ax_.get_title() == "||dW[l]|| of each layer during training"
    assert display.figure_ is display.ax_.figure


def test_layer_history_display_layers_statistic_name_and_ax(pyplot, recorded_net):
    """Chosen layers and norm, a name prefix, drawn on a given ax; plot() redraws."""
    _, ax = pyplot.subplots()
    display = LayerHistoryDisplay.from_estimator(
        make_pipeline(InputNormalizer(), recorded_net),
        statistic="W_norm",
        layers=[1, 4],
        name="he",
        ax=ax,
        color="red",
    )
    assert display.ax_ is ax
    assert [line.get_label() for line in ax.get_lines()] == [
        "he: layer 1",
        "he: layer 4",
    ]
    assert_allclose(
        display.lines_[4].get_ydata(), recorded_net.layer_stats_["W_norm"][:, 3]
    )
    assert display.lines_[1].get_color() == "red"
    assert display.colorbar_ is None  # one colour given: no depth to map
    assert ax.get_ylabel() == "||W[l]|| (log scale)"
    assert ax.get_title().startswith("he: ")
    display.plot(statistic="db_norm", layers=2)
    assert list(display.lines_) == [2] and display.ax_ is not ax


def test_layer_history_display_colours_every_layer_by_depth(pyplot):
    """All 31 layers drawn, coloured along the colour map, with a colour bar."""
    stats = {"dW_norm": np.ones((3, 31))}
    display = LayerHistoryDisplay(stats).plot(cmap="viridis")
    assert list(display.lines_) == list(range(1, 32))
    viridis = pyplot.get_cmap("viridis")
    assert_allclose(
        pyplot.matplotlib.colors.to_rgba(display.lines_[1].get_color()), viridis(0.0)
    )
    assert_allclose(
        pyplot.matplotlib.colors.to_rgba(display.lines_[31].get_color()), viridis(1.0)
    )
    assert_allclose(
        pyplot.matplotlib.colors.to_rgba(display.lines_[16].get_color()), viridis(0.5)
    )
    assert display.colorbar_.ax.get_ylabel() == "layer l"
    assert (display.colorbar_.vmin, display.colorbar_.vmax) == (1, 31)


def test_layer_history_display_lbfgs_counts_iterations(pyplot, binary_data):
    X, y = binary_data
    net = MLPFromScratch(
        [8], solver="lbfgs", alpha=10.0, random_state=0, record_layer_stats=True
    ).fit(X, y)
    display = LayerHistoryDisplay.from_estimator(net)
    assert display.ax_.get_xlabel() == "iteration"
    assert len(display.lines_[1].get_xdata()) == net.n_iter_


def test_layer_history_display_errors(pyplot, recorded_net, binary_data):
    """Nothing recorded, unfitted, unknown statistic, layers out of range."""
    X, y = binary_data
    plain = MLPFromScratch([8], solver="lbfgs", alpha=10.0, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="set record_layer_stats=True and fit"):
        LayerHistoryDisplay.from_estimator(plain)
    with pytest.raises(NotFittedError):
        LayerHistoryDisplay.from_estimator(MLPFromScratch(record_layer_stats=True))
    with pytest.raises(ValueError, match="Unknown statistic 'nope'; available"):
        LayerHistoryDisplay.from_estimator(recorded_net, statistic="nope")
    with pytest.raises(ValueError, match="between 1 and 4 .* got \\[0, 5\\]"):
        LayerHistoryDisplay.from_estimator(recorded_net, layers=[0, 1, 5])
    with pytest.raises(ValueError, match="layers must be integers"):
        LayerHistoryDisplay.from_estimator(recorded_net, layers=[1.5])


# ------------------------------------------------------------ GradientCheckDisplay


def test_gradient_check_display_bars_are_block_differences(pyplot, multiclass_data):
    """One bar per block at its difference; threshold lines at the report's scale."""
    X, y = multiclass_data
    net = MLPFromScratch((6,), activation="tanh", random_state=0).initialize(X, y)
    report = check_gradients(net, X, y, pass_threshold=1e-8, fail_threshold=1e-4)
    display = GradientCheckDisplay.from_report(report)
    bars = display.bars_["report"]
    assert len(bars) == len(report.blocks) == 4
    expected = [max(row.difference, 1e-18) for row in report.blocks]
    assert_allclose([bar.get_height() for bar in bars], expected)
    labels = [tick.get_text() for tick in display.ax_.get_xticklabels()]
    assert labels == ["W1", "b1", "W2", "b2"]
    assert display.ax_.get_yscale() == "log"
    assert_allclose(display.threshold_lines_["pass"].get_ydata(), [1e-8, 1e-8])
    assert_allclose(display.threshold_lines_["fail"].get_ydata(), [1e-4, 1e-4])
    assert bars.get_label().startswith("report: pass")


def test_gradient_check_display_marks_the_failing_block(pyplot, binary_data):
    """A doubled dW2 gives a W2 bar above the fail line, outlined in red."""
    X, y = binary_data
    net = MLPFromScratch((5,), activation="tanh", random_state=0).initialize(X, y)
    report = check_gradients(_DoubledW2(net), X, y)
    assert report.verdict == "fail"
    display = GradientCheckDisplay.from_report(report, name="buggy")
    bars = dict(zip(["W1", "b1", "W2", "b2"], display.bars_["buggy"]))
    assert bars["W2"].get_height() >= 1e-3 > bars["W1"].get_height()
    assert bars["W2"].get_linewidth() == 2.0
    assert bars["W1"].get_linewidth() != 2.0
    assert display.bars_["buggy"].get_label().startswith("buggy: fail")


def test_gradient_check_display_from_checker(pyplot, binary_data):
    """A fitted GradientChecker: 'init' and 'fitted' as grouped bars."""
    X, y = binary_data
    checker = GradientChecker(
        MLPFromScratch((5,), max_iter=20, learning_rate_init=0.01, random_state=0),
        on_failure="ignore",
    )
    with pytest.warns(Warning):  # ConvergenceWarning after 20 epochs
        checker.fit(X, y)
    display = GradientCheckDisplay.from_checker(checker)
    assert list(display.bars_) == ["init", "fitted"]
    centers = {
        stage: [bar.get_x() + bar.get_width() / 2 for bar in bars]
        for stage, bars in display.bars_.items()
    }
    assert all(a < b for a, b in zip(centers["init"], centers["fitted"]))
    for stage, bars in display.bars_.items():
        rows = checker.reports_[stage].blocks
        assert_allclose(
            [bar.get_height() for bar in bars],
            [max(row.difference, 1e-18) for row in rows],
        )
    with pytest.raises(NotFittedError):
        GradientCheckDisplay.from_checker(GradientChecker(MLPFromScratch()))


def test_gradient_check_display_from_estimator(pyplot, binary_data):
    """from_estimator runs check_gradients with the given parameters."""
    X, y = binary_data
    net = MLPFromScratch((5,), random_state=0).initialize(X, y)
    display = GradientCheckDisplay.from_estimator(net, X, y, mode="directional")
    (report,) = display.reports.values()
    assert report.mode == "directional"
    reference = check_gradients(net, X, y, mode="directional")
    assert report.difference == reference.difference


def test_gradient_check_display_zero_and_nan(pyplot):
    """Any report with dict rows: 0 drawn at the floor, NaN up to 1 and labelled."""
    report = types.SimpleNamespace(
        blocks=[
            {"name": "W1", "difference": 0.0, "verdict": "pass"},
            {"name": "b1", "difference": float("nan"), "verdict": "fail"},
            {"name": "W2", "difference": 2e-5, "verdict": "warn"},
        ]
    )
    display = GradientCheckDisplay.from_report(report, name="toy")
    heights = [bar.get_height() for bar in display.bars_["toy"]]
    assert_allclose(heights, [1e-18, 1.0, 2e-5])
    assert [text.get_text() for text in display.ax_.texts] == ["nan"]
    assert_allclose(display.threshold_lines_["pass"].get_ydata(), [1e-6, 1e-6])


# ------------------------------------------------------------ without matplotlib


def _hide_matplotlib(monkeypatch):
    for module in ("matplotlib", "matplotlib.pyplot"):
        monkeypatch.setitem(sys.modules, module, None)


def test_displays_without_matplotlib_raise_a_clear_error(
    monkeypatch, deep_net, binary_data
):
    """Drawing without matplotlib says what to install; the numbers still work."""
    X, y = binary_data
    _hide_matplotlib(monkeypatch)
    message = "requires matplotlib: pip install matplotlib"
    with pytest.raises(ImportError, match="LayerStatisticsDisplay.plot " + message):
        LayerStatisticsDisplay.from_estimator(deep_net, X, y)
    history = {"dW_norm": np.ones((2, 3))}
    with pytest.raises(ImportError, match="LayerHistoryDisplay.plot " + message):
        LayerHistoryDisplay(history).plot()
    report = check_gradients(deep_net, X, y)
    with pytest.raises(ImportError, match="GradientCheckDisplay.plot " + message):
        GradientCheckDisplay.from_report(report)
    assert layer_statistics(deep_net, X, y)[0]["dW_norm"] > 0


def test_package_imports_without_matplotlib():
    """Importing sk_dlsetup and its diagnostics does not import matplotlib."""
    code = (
        "import sys; sys.modules['matplotlib'] = None; "
        "import sk_dlsetup, sk_dlsetup.diagnostics._layer_displays, "
        "sk_dlsetup.diagnostics._gradcheck_display; "
        "print(sk_dlsetup.diagnostics.LayerStatisticsDisplay.__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "LayerStatisticsDisplay"


# ------------------------------------------------ on what users fit (issue 25)


@pytest.fixture
def quick_start(binary_data):
    """The README's quick start: normalizer then a checked network, fitted."""
    X, y = binary_data
    checked = GradientChecker(
        MLPFromScratch((6, 6), max_iter=5, random_state=0, record_layer_stats=True)
    )
    model = make_pipeline(InputNormalizer(), checked)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    return model, X, y


def test_diagnostics_accept_the_quick_start_pipeline_and_its_checker(
    pyplot, quick_start
):
    """layer_statistics and every Display on the fitted Pipeline, and on its
    GradientChecker with X normalized: the numbers of the network inside, as
    computed on it directly (X through the normalizer)."""
    model, X, y = quick_start
    checker, network = model[-1], model[-1].estimator_
    X_normalized = model[0].transform(X)
    expected = layer_statistics(network, X_normalized, y)
    assert layer_statistics(model, X, y) == expected
    assert layer_statistics(checker, X_normalized, y) == expected
    for fitted, X_in in ((model, X), (checker, X_normalized)):
        display = LayerStatisticsDisplay.from_estimator(fitted, X_in, y)
        assert display.stats == expected
        history = LayerHistoryDisplay.from_estimator(fitted)
        assert_allclose(
            history.lines_[1].get_ydata(), network.layer_stats_["dW_norm"][:, 0]
        )
        checks = GradientCheckDisplay.from_checker(
            fitted if fitted is checker else model
        )
        assert list(checks.bars_) == ["init", "fitted"]
        report = GradientCheckDisplay.from_estimator(fitted, X_in, y).reports
        (only,) = report.values()
        assert only.difference == check_gradients(network, X_normalized, y).difference


def test_diagnostics_reject_what_they_cannot_read(pyplot, binary_data):
    """A scikit-learn model, an unfitted checker, a checker that ran no check:
    clear errors naming what is accepted."""
    from sklearn.linear_model import LogisticRegression

    X, y = binary_data
    with pytest.raises(TypeError, match="takes an MLPFromScratch .* got Logistic"):
        layer_statistics(LogisticRegression().fit(X, y), X)
    with pytest.raises(NotFittedError, match="GradientChecker is not fitted"):
        layer_statistics(GradientChecker(MLPFromScratch()), X)
    with pytest.raises(TypeError, match="takes a fitted GradientChecker"):
        GradientCheckDisplay.from_checker(MLPFromScratch())
    silent = GradientChecker(MLPFromScratch((4,), max_iter=2), check_at=())
    with pytest.warns(ConvergenceWarning):
        silent.fit(X, y)
    with pytest.raises(ValueError, match=r"ran no check \(check_at=\(\)\)"):
        GradientCheckDisplay.from_checker(silent)
