"""How many threads the linear algebra and the compiled kernels use: the policy in one place.

Two knobs exist. BLAS (numpy's and scipy's matrix products and LAPACK) is
limited per call site with threadpoolctl: many small products and
eigenproblems run faster on one BLAS thread, whose results also do not depend
on the machine's core count (OpenBLAS and MKL round differently with
different thread counts). The numba kernels (interpolation, eigenproblems,
the median) spread independent frames or blocks over numba's threads, as
many as cores unless ``NUMBA_NUM_THREADS`` or :func:`numba.set_num_threads`
says otherwise (Dask workers of :mod:`exobench.parallel` run with one); their
results do not depend on that number.
"""

import contextlib
import functools

__all__ = ["one_blas_thread", "blas_threads", "kernel_threads"]


@functools.lru_cache(maxsize=None)
def _thread_controller():
    from threadpoolctl import ThreadpoolController  # finding the libraries once costs milliseconds

    return ThreadpoolController()


def one_blas_thread():
    """A context in which BLAS runs on one thread.

    Many small matrix products and eigenproblems run faster that way (threads
    cost more than they give at that size, and fight with any other process on
    the cores), and their results do not depend on the machine's core count.
    """
    return _thread_controller().limit(limits=1, user_api="blas")


@contextlib.contextmanager
def blas_threads(count):
    """A context in which BLAS runs on at most ``count`` threads.

    The BLAS libraries are looked up again on entry, so that one loaded by the
    code that ran before (a task's first use of scipy) is limited too.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=count, user_api="blas"):
        yield


def kernel_threads():
    """The number of threads the numba kernels use (at least 1)."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency
        return 1
    return max(1, numba.get_num_threads())
