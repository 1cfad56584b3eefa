"""Stochastic optimizers updating a flat parameter vector in place.

They follow scikit-learn's ``_stochastic_optimizers`` formula for formula (so a
network trained from the same weights on the same batches ends at the same
weights), but work on one flat ``theta`` / ``grad`` pair with preallocated
scratch space: an update is a handful of in-place vector operations instead of
a list of fresh arrays per parameter. They own their state (velocities,
moments), never the weights.

Only numpy ufuncs, no ``scipy.linalg.blas``: scipy ships its own OpenBLAS, and
two BLAS thread pools taking turns in the training loop fight over the cores
(seen here: training 7 times slower on 2 cores).

One implementation for every array namespace: given ``xp`` and ``device``,
their state lives there, and :meth:`update` (told ``xp`` on every call, so
that the optimizer stays a plain picklable object) runs the same formulas with
the standard's in-place operators; NumPy writes into the scratch space
(``out=``, a branch inside :func:`~sk_dlsetup._namespaces.into`).

Hyperparameters are stored as Python floats: a numpy float64 scalar (say from
``np.logspace`` in a parameter grid) would make numpy run every float32 pass
in float64 with casts, six times slower.
"""

import math

import numpy as np

from .._namespaces import empty, into, zeros


class SGD:
    """Stochastic gradient descent with (Nesterov) momentum.

    .. math::

        v \\leftarrow \\mu v - \\eta g, \\qquad
        \\theta \\leftarrow \\theta + (\\mu v - \\eta g \\text{ if Nesterov else } v)

    Parameters
    ----------
    n_params : int
    dtype : numpy dtype
    learning_rate_init : float
    lr_schedule : {'constant', 'invscaling', 'adaptive'}
    momentum : float
    nesterov : bool
    power_t : float

    Examples
    --------
    >>> import numpy as np
    >>> theta, grad = np.zeros(2), np.array([1.0, -2.0])
    >>> opt = SGD(2, np.float64, 0.1, momentum=0.0)
    >>> opt.update(theta, grad, np)
    >>> theta
    array([-0.1,  0.2])
    """

    def __init__(
        self,
        n_params,
        dtype,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
        *,
        xp=np,
        device=None,
    ):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.lr_schedule = lr_schedule
        self.momentum = float(momentum)
        self.nesterov = nesterov
        self.power_t = float(power_t)
        self.velocity = zeros(xp, (n_params,), dtype, device)
        self._scaled_grad = empty(xp, (n_params,), dtype, device)
        self._step = empty(xp, (n_params,), dtype, device)

    def update(self, theta, grad, xp=np):
        """Move ``theta`` (of namespace ``xp``) one step against ``grad``, in place."""
        velocity = self.velocity
        scaled_grad = into(
            xp, xp.multiply, grad, self.learning_rate, out=self._scaled_grad
        )
        velocity *= self.momentum
        velocity -= scaled_grad
        if self.nesterov:
            step = into(xp, xp.multiply, velocity, self.momentum, out=self._step)
            step -= scaled_grad
            theta += step
        else:
            theta += velocity

    def iteration_ends(self, time_step):
        """Decay the learning rate under 'invscaling' (``time_step`` = samples seen)."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = (
                self.learning_rate_init / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        """Whether to stop after no improvement; 'adaptive' divides the rate by 5."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class Adam:
    """Adam (Kingma and Ba, 2014) with scikit-learn's bias-corrected step size.

    .. math::

        m \\leftarrow \\beta_1 m + (1 - \\beta_1) g, \\quad
        v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2, \\quad
        \\theta \\leftarrow \\theta - \\eta
            \\frac{\\sqrt{1 - \\beta_2^t}}{1 - \\beta_1^t}
            \\frac{m}{\\sqrt v + \\epsilon}

    Examples
    --------
    >>> import numpy as np
    >>> theta, grad = np.zeros(2), np.array([1.0, -2.0])
    >>> opt = Adam(2, np.float64, learning_rate_init=0.1)
    >>> opt.update(theta, grad, np)
    >>> theta.round(6)
    array([-0.1,  0.1])
    """

    def __init__(
        self,
        n_params,
        dtype,
        learning_rate_init=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        *,
        xp=np,
        device=None,
    ):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        # The moments are stored rescaled, M = m / (1 - beta_1) and
        # V = v / (1 - beta_2), so that each update is M = beta_1 M + g and
        # V = beta_2 V + g^2: 10 passes over theta instead of 12. Adam is
        # memory-bound, so this is a sixth of its time.
        self._M = zeros(xp, (n_params,), dtype, device)
        self._V = zeros(xp, (n_params,), dtype, device)
        self._scratch = empty(xp, (n_params,), dtype, device)

    def update(self, theta, grad, xp=np):
        """Move ``theta`` (of namespace ``xp``) one Adam step against ``grad``,
        in place."""
        self.t += 1
        M, V, tmp = self._M, self._V, self._scratch
        M *= self.beta_1
        M += grad
        V *= self.beta_2
        self.learning_rate = (
            self.learning_rate_init
            * math.sqrt(1 - self.beta_2**self.t)
            / (1 - self.beta_1**self.t)
        )
        # lr m / (sqrt(v) + eps) in terms of M and V:
        # [lr (1 - b1) / sqrt(1 - b2)] * M / (sqrt(V) + eps / sqrt(1 - b2)).
        root = math.sqrt(1 - self.beta_2)
        V += into(xp, xp.multiply, grad, grad, out=tmp)
        into(xp, xp.sqrt, V, out=tmp)
        tmp += self.epsilon / root
        into(xp, xp.divide, M, tmp, out=tmp)
        tmp *= self.learning_rate * (1 - self.beta_1) / root
        theta -= tmp

    def iteration_ends(self, time_step):
        """Adam keeps its learning-rate schedule internally."""

    def trigger_stopping(self, msg, verbose):
        """Stop after ``n_iter_no_change`` epochs without improvement."""
        if verbose:
            print(msg + " Stopping.")
        return True


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
