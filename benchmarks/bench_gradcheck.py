"""Gradient checking: speed and accuracy against scipy and torch, measured here.

Full checks of MLPs of about 1k, 10k, 50k and 200k parameters (64 samples,
float64, softmax output, tanh and relu) by

* ours: ``check_gradients(mode='full')`` (the MLP fast path), with
  ``epsilon=1e-7`` and ``epsilon='auto'``, and ``mode='directional'``;
* ``scipy.optimize.check_grad`` (forward differences, one evaluation of J per
  parameter) on the same objective;
* ``torch.autograd.gradcheck`` in slow (full Jacobian, central differences)
  and fast mode on the same function written in torch (skipped without torch).

Peers cost one or two evaluations of J per parameter, so on large networks
they are timed on a random subset of ``--peer-entries`` parameters and their
time is scaled to all parameters (marked ``~``); ``--full-peers`` runs them on
every parameter. Every difference is the lecture's
``||a - g|| / (||a|| + ||g||)`` over the entries each method computed, on a
correct model (it measures the method's own error). Prints two tables and
the peak memory of our full check.

All libraries run with ``--threads`` threads (default 1: on a shared machine,
BLAS threads competing with other work make timings erratic).

Function objectives (``--functions``, also run by default): the same black-box
function checked by ours (:func:`~sk_dlsetup.make_objective`, the plain engine:
two evaluations per parameter, a third where an entry's error needs its own
truncation bound) and by ``scipy.optimize.check_grad`` (one), and a
PyTorch model of about 50k parameters checked through
:func:`~sk_dlsetup.interop.torch_objective` and by ``torch.autograd.gradcheck``
(full and fast mode) on the same function. Targets: within 2.2x of scipy's time
with a difference at least 100x lower; at least as fast as torch's full mode
with a lower difference.

Usage: python benchmarks/bench_gradcheck.py [--sizes 1k 10k 50k 200k]
       [--peer-entries 1000] [--full-peers] [--repeats 5] [--threads 1]
       [--only networks|functions] [--torch-samples 32]
"""

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from scipy.optimize import approx_fprime, check_grad
from threadpoolctl import threadpool_limits

from sk_dlsetup import MLPFromScratch, check_gradients, make_objective

try:
    import torch
except ImportError:  # CI never installs torch
    torch = None

NETWORKS = {
    "1k": (20, 32, 10),
    "10k": (64, 96, 32, 10),
    "50k": (196, 192, 64, 10),
    "200k": (784, 256, 128, 10),
}
N_SAMPLES = 64
SCIPY_EPS = np.sqrt(np.finfo(float).eps)


def mlp_objective(layers, activation):
    """A freshly initialized MLP's objective on 64 random rows."""
    rng = np.random.RandomState(0)
    X = rng.randn(N_SAMPLES, layers[0])
    y = np.arange(N_SAMPLES) % layers[-1]
    model = MLPFromScratch(
        hidden_layer_sizes=layers[1:-1],
        activation=activation,
        init="he" if activation == "relu" else "xavier",
        alpha=1e-4,
        random_state=0,
    )
    return model.initialize(X, y).objective(X, y)


def relative(numeric, analytic):
    return np.linalg.norm(numeric - analytic) / (
        np.linalg.norm(numeric) + np.linalg.norm(analytic)
    )


def best_time(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def subset(n_params, count, full, seed=1):
    if full or count >= n_params:
        return np.arange(n_params)
    return np.sort(np.random.RandomState(seed).choice(n_params, count, replace=False))


def run_ours(objective, repeats):
    out = {}
    for label, kwargs in (
        ("full", {"mode": "full"}),
        ("auto", {"mode": "full", "epsilon": "auto"}),
        ("directional", {"mode": "directional"}),
    ):
        seconds, report = best_time(
            lambda k=kwargs: check_gradients(objective, **k), repeats
        )
        out[label] = (seconds, report)
    return out


def run_scipy(objective, idx):
    """scipy's forward differences (approx_fprime, what check_grad computes)."""
    theta0 = objective.theta0

    def restricted(values):
        theta = theta0.copy()
        theta[idx] = values
        return objective.loss(theta)

    start = time.perf_counter()
    numeric = approx_fprime(theta0[idx], restricted, SCIPY_EPS)
    seconds = time.perf_counter() - start
    analytic = objective.gradient(theta0)[idx]
    scale = (theta0.size + 1) / (idx.size + 1)
    return seconds * scale, relative(numeric, analytic)


def torch_loss_fn(objective):
    """The same J(theta) written in torch (float64)."""
    X = torch.from_numpy(np.asarray(objective.X, dtype=np.float64))
    Y = torch.from_numpy(np.asarray(objective.Y, dtype=np.float64))
    act = {"relu": torch.relu, "tanh": torch.tanh}[objective.activation]
    blocks, alpha, sw_sum = objective.blocks, objective.alpha, objective.sw_sum

    def loss(theta):
        A, squares = X, 0.0
        for k in range(len(blocks) // 2):
            (_, sw, shape), (_, sb, _) = blocks[2 * k], blocks[2 * k + 1]
            W = theta[sw].reshape(shape)
            Z = A @ W + theta[sb]
            squares = squares + (W * W).sum()
            A = act(Z) if k < len(blocks) // 2 - 1 else Z
        data = (torch.logsumexp(Z, dim=1) - (Y * Z).sum(dim=1)).mean()
        return data + 0.5 * alpha * squares / sw_sum

    return loss


def warm_up_torch():
    """First calls pay for torch's start-up: keep them out of the timings."""
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    for fast_mode in (False, True):
        torch.autograd.gradcheck(lambda t: (t * t).sum(), (x,), fast_mode=fast_mode)


def run_torch(objective, idx, fast_mode):
    loss = torch_loss_fn(objective)
    theta0 = torch.from_numpy(objective.theta0.copy())
    index = torch.from_numpy(idx)
    ours = float(loss(theta0))
    assert abs(ours - objective.loss(objective.theta0)) < 1e-12 * (1 + abs(ours))

    def restricted(values):
        theta = theta0.clone()
        theta[index] = values
        return loss(theta)

    values = theta0[index].clone().requires_grad_(True)
    start = time.perf_counter()
    passed = torch.autograd.gradcheck(
        restricted, (values,), fast_mode=fast_mode, raise_exception=False
    )
    seconds = time.perf_counter() - start
    if fast_mode:
        return seconds, passed, float("nan")
    eps = 1e-6  # torch's central difference, as in its slow mode
    numeric = np.empty(idx.size)
    with torch.no_grad():
        for m in range(idx.size):
            up, down = values.detach().clone(), values.detach().clone()
            up[m] += eps
            down[m] -= eps
            numeric[m] = (float(restricted(up)) - float(restricted(down))) / (2 * eps)
    analytic = objective.gradient(objective.theta0)[idx]
    return (
        seconds * objective.theta0.size / idx.size,
        passed,
        relative(numeric, analytic),
    )


def peak_memory_mb(objective):
    tracemalloc.start()
    check_gradients(objective, mode="full")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(NETWORKS), choices=NETWORKS)
    parser.add_argument("--peer-entries", type=int, default=1000)
    parser.add_argument("--full-peers", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", choices=("networks", "functions"))
    parser.add_argument("--torch-samples", type=int, default=32)
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        if args.only != "functions":
            benchmark(args)
        if args.only != "networks":
            benchmark_functions(args)


def benchmark(args):
    warnings.simplefilter("ignore")
    version = torch.__version__ if torch else "absent"
    print(f"64 samples, float64, {args.threads} thread(s); torch: {version}")
    print("~ : peer timed on a random subset of parameters, scaled to all of them\n")
    configs = [(size, act) for size in args.sizes for act in ("tanh", "relu")]
    objectives = {c: mlp_objective(NETWORKS[c[0]], c[1]) for c in configs}
    # Ours first, then scipy, then torch: torch's worker threads must not
    # compete with the numpy timings.
    ours = {c: run_ours(objectives[c], args.repeats) for c in configs}
    subsets = {
        c: subset(objectives[c].theta0.size, args.peer_entries, args.full_peers)
        for c in configs
    }
    scipy = {c: run_scipy(objectives[c], subsets[c]) for c in configs}
    peers = {}
    if torch is not None:
        warm_up_torch()
        for c in configs:
            torch.manual_seed(0)
            P = objectives[c].theta0.size
            slow = run_torch(objectives[c], subsets[c], fast_mode=False)
            fast = run_torch(objectives[c], np.arange(P), fast_mode=True)
            peers[c] = (slow, fast)
    speed, accuracy = [], []
    for c in configs:
        objective, (scipy_s, scipy_diff) = objectives[c], scipy[c]
        P = objective.theta0.size
        name = "-".join(map(str, NETWORKS[c[0]])) + f" {c[1]}"
        mark = "" if subsets[c].size == P else "~"
        full_s = ours[c]["full"][0]
        row = [name, P, full_s, ours[c]["directional"][0] * 1e3]
        row += [f"{mark}{scipy_s:.1f}", scipy_s / full_s]
        diffs = [name, ours[c]["full"][1].difference, ours[c]["auto"][1].difference]
        diffs += [ours[c]["directional"][1].difference, scipy_diff]
        if c in peers:
            (slow_s, slow_ok, torch_diff), (fast_s, fast_ok, _) = peers[c]
            row += [f"{mark}{slow_s:.1f}", slow_s / full_s, f"{fast_s:.2f}"]
            diffs += [torch_diff, f"{slow_ok}/{fast_ok}"]
        else:
            row += ["-", float("nan"), "-"]
            diffs += [float("nan"), "-"]
        speed.append(row)
        accuracy.append(diffs + [ours[c]["full"][1].verdict])
    print("\nSeconds for a full check (ratios: peer seconds / our full-check seconds)")
    head = ("network", "params", "ours full s", "ours dir ms", "scipy s")
    head += ("x scipy", "torch slow s", "x torch", "torch fast s")
    print("{:<22}{:>8}{:>12}{:>12}{:>10}{:>9}{:>14}{:>9}{:>14}".format(*head))
    for r in speed:
        print(
            f"{r[0]:<22}{r[1]:>8}{r[2]:>12.3f}{r[3]:>12.1f}{r[4]:>10}{r[5]:>9.0f}"
            f"{r[6]:>14}{r[7]:>9.0f}{r[8]:>14}"
        )
    print("\nDifference achieved on a correct model (lower is better)")
    head = ("network", "ours 1e-7", "ours auto", "ours dir", "scipy")
    head += ("torch slow", "torch ok s/f", "verdict")
    print("{:<22}{:>11}{:>11}{:>11}{:>11}{:>12}{:>14}{:>9}".format(*head))
    for r in accuracy:
        print(
            f"{r[0]:<22}{r[1]:>11.1e}{r[2]:>11.1e}{r[3]:>11.1e}{r[4]:>11.1e}"
            f"{r[5]:>12.1e}{r[6]:>14}{r[7]:>9}"
        )
    largest = mlp_objective(NETWORKS[args.sizes[-1]], "tanh")
    print(
        f"\nPeak memory of our full check, {args.sizes[-1]} tanh network: "
        f"{peak_memory_mb(largest):.0f} MiB (theta itself: "
        f"{largest.theta0.nbytes / 2**20:.1f} MiB)"
    )


# ---------------------------------------------------------- function objectives


def run_function(objective, repeats):
    """Ours (plain engine, central differences) against scipy's check_grad."""
    black_box = make_objective(objective.loss, objective.gradient, objective.theta0)
    analytic = objective.gradient(objective.theta0)
    out = {}
    for label, epsilon in (("1e-7", 1e-7), ("auto", "auto")):
        seconds, report = best_time(
            lambda e=epsilon: check_gradients(black_box, mode="full", epsilon=e),
            repeats,
        )
        out[label] = (seconds, report.difference, report.engine)
    seconds, error = best_time(
        lambda: check_grad(objective.loss, objective.gradient, objective.theta0),
        repeats,
    )
    numeric = approx_fprime(objective.theta0, objective.loss, SCIPY_EPS)
    out["scipy"] = (seconds, relative(numeric, analytic), error)
    return out


def torch_model(n_samples):
    """A 196-192-64-10 tanh network (50,826 parameters) and its data."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(196, 192),
        torch.nn.Tanh(),
        torch.nn.Linear(192, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 10),
    ).double()
    rng = np.random.RandomState(0)
    X = torch.from_numpy(rng.randn(n_samples, 196))
    y = torch.from_numpy(np.arange(n_samples) % 10)
    return model, X, y


def run_torch_functions(n_samples):
    """Ours through torch_objective against torch.autograd.gradcheck, full and fast."""
    from sk_dlsetup.interop import torch_objective

    model, X, y = torch_model(n_samples)
    loss_fn = torch.nn.functional.cross_entropy
    objective = torch_objective(model, loss_fn, X, y)
    ours = {}
    for epsilon in (1e-7, "auto"):
        start = time.perf_counter()
        report = check_gradients(objective, mode="full", epsilon=epsilon)
        ours[epsilon] = (time.perf_counter() - start, report.difference, report.verdict)
    names = [name for name, _ in model.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())

    def fn(*values):
        out = torch.func.functional_call(model, dict(zip(names, values)), (X,))
        return loss_fn(out, y)

    peers = {}
    for fast_mode in (False, True):
        start = time.perf_counter()
        ok = torch.autograd.gradcheck(
            fn, params, fast_mode=fast_mode, raise_exception=False
        )
        peers[fast_mode] = (time.perf_counter() - start, ok)
    # torch's own difference, as ours: its central differences (eps 1e-6).
    theta0, analytic = objective.theta0, objective.gradient(objective.theta0)
    idx = subset(theta0.size, 2000, False)
    numeric = np.empty(idx.size)
    for m, i in enumerate(idx):
        up, down = theta0.copy(), theta0.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric[m] = (objective.loss(up) - objective.loss(down)) / 2e-6
    return ours, peers, relative(numeric, analytic[idx]), theta0.size


def benchmark_functions(args):
    warnings.simplefilter("ignore")
    print("\nFunction objectives: a black box loss(theta) / gradient(theta)")
    print("(the 1k and 10k tanh networks' J), checked in full by every method")
    head = ("function", "params", "ours s", "scipy s", "ours/scipy")
    head += ("ours diff", "auto diff", "scipy diff", "scipy/ours")
    print("{:<18}{:>8}{:>9}{:>9}{:>11}{:>11}{:>11}{:>11}{:>11}".format(*head))
    for size in ("1k", "10k"):
        objective = mlp_objective(NETWORKS[size], "tanh")
        out = run_function(objective, args.repeats)
        ours_s, ours_diff, engine = out["1e-7"]
        _, auto_diff, _ = out["auto"]
        scipy_s, scipy_diff, _ = out["scipy"]
        assert engine == "plain"
        best = min(ours_diff, auto_diff)
        print(
            f"{size + ' tanh J':<18}{objective.theta0.size:>8}{ours_s:>9.3f}"
            f"{scipy_s:>9.3f}{ours_s / scipy_s:>11.2f}{ours_diff:>11.1e}"
            f"{auto_diff:>11.1e}{scipy_diff:>11.1e}{scipy_diff / best:>11.0f}"
        )
    if torch is None:
        print("torch not installed: skipping the PyTorch model")
        return
    warm_up_torch()
    ours, peers, torch_diff, n_params = run_torch_functions(args.torch_samples)
    (slow_s, slow_ok), (fast_s, fast_ok) = peers[False], peers[True]
    print(
        f"\nPyTorch model, {n_params} parameters, {args.torch_samples} samples, "
        "float64, full checks"
    )
    for epsilon, (seconds, difference, verdict) in ours.items():
        print(
            f"  ours (torch_objective, epsilon={epsilon}): {seconds:.2f} s, "
            f"difference {difference:.1e}, {verdict}"
        )
    print(f"  torch.autograd.gradcheck full mode:   {slow_s:.2f} s (passed: "
          f"{slow_ok}), difference of its differences {torch_diff:.1e}")  # fmt: skip
    print(f"  torch.autograd.gradcheck fast mode:   {fast_s:.2f} s (passed: "
          f"{fast_ok}), one random direction")  # fmt: skip
    print(f"  torch full / ours: {slow_s / ours[1e-7][0]:.2f}x (epsilon=1e-7)")


if __name__ == "__main__":
    main()
