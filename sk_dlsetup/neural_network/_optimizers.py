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

Given ``xp`` (an Array API namespace) and ``device``, their state lives there
and :meth:`update` runs the same formulas with the standard's in-place
operators (no ``out=`` in the standard, so with a temporary or two).

Hyperparameters are stored as Python floats: a numpy float64 scalar (say from
``np.logspace`` in a parameter grid) would make numpy run every float32 pass
in float64 with casts, six times slower.
"""

import math

import numpy as np


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
    >>> opt.update(theta, grad)
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
        xp=None,
        device=None,
    ):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.lr_schedule = lr_schedule
        self.momentum = float(momentum)
        self.nesterov = nesterov
        self.power_t = float(power_t)
        # Only a flag is kept (the state stays picklable): the generic update
        # needs nothing but the arrays' own operators.
        self._in_numpy = xp is None
        if xp is None:
            self.velocity = np.zeros(n_params, dtype=dtype)
            self._scratch = np.empty((2, n_params), dtype=dtype)
        else:
            self.velocity = xp.zeros(n_params, dtype=dtype, device=device)

    def update(self, theta, grad):
        """Move ``theta`` one step against ``grad``, in place."""
        if not self._in_numpy:
            scaled_grad = grad * self.learning_rate
            self.velocity *= self.momentum
            self.velocity -= scaled_grad
            if self.nesterov:
                theta += self.momentum * self.velocity - scaled_grad
            else:
                theta += self.velocity
            return
        scaled_grad, step = self._scratch
        velocity = self.velocity
        np.multiply(grad, self.learning_rate, out=scaled_grad)
        velocity *= self.momentum
        velocity -= scaled_grad
        if self.nesterov:
            np.multiply(velocity, self.momentum, out=step)
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
    >>> opt.update(theta, grad)
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
        xp=None,
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
        self._in_numpy = xp is None
        zeros = np.zeros if xp is None else xp.zeros
        on = {} if xp is None else {"device": device}
        self._M = zeros(n_params, dtype=dtype, **on)
        self._V = zeros(n_params, dtype=dtype, **on)
        self._scratch = np.empty(n_params, dtype=dtype) if xp is None else None

    def update(self, theta, grad):
        """Move ``theta`` one Adam step against ``grad``, in place."""
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
        if not self._in_numpy:
            V += grad * grad
            step = M / (V**0.5 + self.epsilon / root)
            theta -= (self.learning_rate * (1 - self.beta_1) / root) * step
            return
        np.multiply(grad, grad, out=tmp)
        V += tmp
        np.sqrt(V, out=tmp)
        tmp += self.epsilon / root
        np.divide(M, tmp, out=tmp)
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
