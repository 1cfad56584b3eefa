"""BLAS threads: one for small matrix products, scipy's own pool on one thread.

Thread pools are listed once per process (:func:`_thread_pools`, 4 ms).
"""

import contextlib
import functools
from pathlib import Path

import scipy
from threadpoolctl import ThreadpoolController


@functools.lru_cache(maxsize=1)
def _thread_pools():
    """The process's thread pools (listing them costs 4 ms: once per process)."""
    return ThreadpoolController()


@functools.lru_cache(maxsize=1)
def _scipy_blas_pools():
    scipy_dir = Path(scipy.__file__).parent
    vendored = {scipy_dir, scipy_dir.with_name("scipy.libs")}
    return [
        pool
        for pool in _thread_pools().lib_controllers
        if pool.user_api == "blas" and vendored & set(Path(pool.filepath).parents)
    ]


@contextlib.contextmanager
def scipy_blas_on_one_thread():
    """scipy's own BLAS (vendored in its wheel, apart from numpy's) on one thread.

    L-BFGS-B's BLAS calls are vector operations on theta, too small to share;
    with numpy's thread pool and scipy's both spinning on the same cores, a
    5-target regression on 2 cores took 2.2 s instead of 0.10 s (issue 16),
    and a 20,000 x 100 fit 7.6 s instead of 4.5 s. numpy's GEMMs keep their
    threads. Where numpy and scipy share one BLAS, nothing changes.
    """
    pools = _scipy_blas_pools()
    saved = [pool.num_threads for pool in pools]
    try:
        for pool in pools:
            pool.set_num_threads(1)
        yield
    finally:
        for pool, n_threads in zip(pools, saved):
            pool.set_num_threads(n_threads)


# Below this many multiply-adds in a network's largest matrix product, one
# BLAS thread is faster than several: waking the others costs more than they
# share (a 5-target L-BFGS on 1,000 x 20, largest product 1M: 0.092 s on one
# thread against 0.157 s on two; Adam's 200 x 100 x 256 products, 5M, gain
# from two threads: 0.42 s against 0.58 s).
_SMALL_PRODUCT = 2**21


def blas_threads_for(n_rows, layer_units):
    """One BLAS thread for small matrix products, the default otherwise.

    Examples
    --------
    >>> blas_threads_for(1000, [20, 50, 5]) is not None
    True
    """
    largest = max(a * b for a, b in zip(layer_units[:-1], layer_units[1:]))
    if n_rows * largest >= _SMALL_PRODUCT:
        return contextlib.nullcontext()
    return _thread_pools().limit(limits=1, user_api="blas")
