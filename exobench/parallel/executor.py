"""The :class:`Executor`: one list of pure tasks, in-process, on a local Dask cluster or on a scheduler."""

import logging
import os
import uuid

from .._progress import progress_bar
from .._validate import check_integer, check_number
from ._tasks import LimitedThreads, add_note, cancelled_message, holds_futures, safe_key, task_name

__all__ = ["Executor", "ExecutionError", "SCHEDULER_ENV", "DEFAULT_CONNECT_TIMEOUT"]

#: Environment variable naming a Dask scheduler to use when neither ``workers`` nor ``scheduler`` is given.
SCHEDULER_ENV = "EXOBENCH_SCHEDULER"

#: Seconds allowed to connect to an existing scheduler before a ``ConnectionError``.
DEFAULT_CONNECT_TIMEOUT = 5.0

# Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in the worker processes (and leave it in the
# parent's os.environ). Setting it turns off glibc's dynamic mmap threshold, so that every array of
# 128 KiB or more is a fresh mmap with page faults on each first touch, which slows the many
# medium-sized arrays of the algorithms on workers (docs/scaling.md). Local workers keep glibc's
# defaults unless the user set the variable before importing exobench.parallel (then it is passed on).
_MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"

_USER_MALLOC_TRIM = os.environ.get(_MALLOC_TRIM)


class ExecutionError(RuntimeError):
    """A run that could not complete (lost workers, lost scheduler, cancelled tasks).

    Raised instead of returning partial results. An exception raised by a task
    itself is not wrapped: it propagates with its own type and message.
    """


class Executor:
    """Runs lists of pure tasks in-process, on a local Dask cluster or on a Dask scheduler.

    Parameters
    ----------
    workers : int, optional
        Start a local Dask cluster of this many worker processes (one thread
        each, on 127.0.0.1, no dashboard, logs silenced), closed with the
        executor. ``workers=0`` forces the in-process loop, ignoring
        ``EXOBENCH_SCHEDULER``. Give at most one of ``workers`` and ``scheduler``.
    scheduler : str or cluster object, optional
        Address of a running Dask scheduler (``"tcp://host:port"``) or a
        cluster object with a ``scheduler_address`` (``dask_jobqueue``,
        ``dask_kubernetes``). The executor closes its client, never the
        scheduler nor the cluster. When neither option is given, the
        environment variable ``EXOBENCH_SCHEDULER`` is used if set (and not
        empty); otherwise tasks run in-process.
    connect_timeout : float
        Seconds to reach the scheduler (``scheduler`` backend) before a
        ``ConnectionError`` naming its address.
    memory_limit : str, float or int
        Memory limit of each local worker (``"auto"``: the machine's memory
        shared equally; ``"4GiB"``; ``0`` for none). A worker over 95 % of its
        limit is restarted and its tasks retried (see ``allowed_failures``).
        Local cluster only.
    allowed_failures : int
        How many times a task may be running on a worker that dies (killed,
        out of memory) before the run fails with :class:`ExecutionError`;
        lost tasks are retried on the other workers until then. Local cluster
        only (a scheduler you started has its own
        ``distributed.scheduler.allowed-failures`` setting).
    retries : int
        How many times a task that *raised* is re-run before its exception
        propagates (Dask backends only; tasks are pure, so 0 unless they read
        from an unreliable file system).
    blas_threads : int or None
        BLAS threads of each task (threadpoolctl), on every backend. OpenBLAS
        and MKL round differently with different thread counts, so the
        default, 1, is what makes results byte-identical whichever backend
        (and however many cores) ran them; parallelism comes from the
        workers. ``None`` leaves the process's setting (faster in-process
        linear algebra on big matrices, results then depend on the core count).

    Attributes
    ----------
    backend : {"in-process", "local", "scheduler"}
        The backend chosen.
    client : distributed.Client or None
        The Dask client (``None`` in-process), e.g. for ``client.run``.
    scheduler_address : str or None
        The scheduler's address (``None`` in-process); a local cluster's can be
        given to other executors (``Executor(scheduler=address)``).

    Raises
    ------
    ConnectionError
        The scheduler cannot be reached within ``connect_timeout`` (the
        message names the address and where it came from).
    ValueError
        An invalid option.

    Examples
    --------
    >>> ex = Executor(workers=0)
    >>> ex.backend, ex.client
    ('in-process', None)
    >>> ex.map(abs, [-2, 3, -4])
    [2, 3, 4]
    >>> ex.close()

    As a context manager (closes what it started):

    >>> with Executor() as ex:
    ...     big = ex.scatter(list(range(1000)))  # in-process: the object itself
    ...     ex.map(min, [[5, 7], [9, 1]]), ex.map(sum, [big])
    ([5, 1], [499500])
    """

    def __init__(self, *, workers=None, scheduler=None, connect_timeout=DEFAULT_CONNECT_TIMEOUT,
                 memory_limit="auto", allowed_failures=3, retries=0, blas_threads=1):
        self._client = None
        self._cluster = None
        self._closed = False
        self.connect_timeout = check_number(connect_timeout, "connect_timeout", strict=True)
        self.allowed_failures = check_integer(allowed_failures, "allowed_failures", minimum=0)
        self.retries = check_integer(retries, "retries", minimum=0)
        self.blas_threads = check_integer(blas_threads, "blas_threads", minimum=1, allow_none=True)
        workers = check_integer(workers, "workers", minimum=0, allow_none=True)
        if workers is not None and scheduler is not None:
            raise ValueError(f"workers={workers!r} and scheduler={scheduler!r}: give at most one of the two")
        origin = "the scheduler option"
        if workers is None and scheduler is None:
            env = os.environ.get(SCHEDULER_ENV, "").strip()
            if env:
                scheduler, origin = env, f"${SCHEDULER_ENV}"
        if scheduler is not None:
            self.backend = "scheduler"
            self._connect(scheduler, origin)
        elif workers:
            self.backend = "local"
            self._start_local(workers, memory_limit)
        else:
            self.backend = "in-process"
        self.workers = workers

    # -- life cycle -------------------------------------------------------------------------

    def _connect(self, scheduler, origin):
        if isinstance(scheduler, str):
            address = scheduler.strip()
            if not address:
                raise ValueError(f"{origin}: expected a scheduler address such as 'tcp://host:port', got {scheduler!r}")
            target = address
        elif hasattr(scheduler, "scheduler_address"):
            target = scheduler  # a cluster object: Client(cluster) follows its address
            address = str(scheduler.scheduler_address)
        else:
            raise ValueError(f"scheduler: expected an address string or a Dask cluster object, "
                            f"got {type(scheduler).__name__}")
        from distributed import Client

        try:
            self._client = Client(target, timeout=self.connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            hint = f", or unset {origin} to run in-process" if origin.startswith("$") else ""
            raise ConnectionError(
                f"could not reach the Dask scheduler at {address!r} (from {origin}) within "
                f"{self.connect_timeout:g} s: {exc}. Check that the scheduler is running and that the "
                f"address is right{hint}") from None
        except (ValueError, TypeError) as exc:
            raise ValueError(f"invalid Dask scheduler address {address!r} (from {origin}): {exc}") from None

    def _start_local(self, workers, memory_limit):
        import dask
        from distributed import Client, LocalCluster

        config = {"distributed.scheduler.allowed-failures": self.allowed_failures,
                  # glibc's default allocator, as in-process (see _MALLOC_TRIM)
                  f"distributed.nanny.pre-spawn-environ.{_MALLOC_TRIM}": _USER_MALLOC_TRIM}
        if _USER_MALLOC_TRIM is None:
            os.environ.pop(_MALLOC_TRIM, None)  # left in this process's environment by an earlier Dask nanny
        with dask.config.set(config):
            self._cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.CRITICAL, memory_limit=memory_limit,
                # no dashboard; the scheduler's small HTTP server (health, metrics) on a free port
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                env={"NUMBA_NUM_THREADS": "1"})
        try:
            self._client = Client(self._cluster, set_as_default=False)
        except BaseException:
            self._cluster.close()
            raise

    @property
    def client(self):
        """The Dask client, or ``None`` in-process."""
        return self._client

    @property
    def scheduler_address(self):
        """The scheduler's address, or ``None`` in-process."""
        return None if self._client is None else self._client.scheduler.address

    @property
    def slots(self):
        """How many tasks can run at once: 1 in-process, else the workers' threads (now).

        Examples
        --------
        >>> Executor(workers=0).slots
        1
        """
        self._check_open()
        if self._client is None:
            return 1
        return max(1, sum(self._client.nthreads().values()))

    def close(self):
        """Close the client, and the local cluster if this executor started one (idempotent)."""
        if self._closed:
            return
        self._closed = True
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        try:
            if client is not None:
                client.close()
        finally:
            if cluster is not None:
                cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        where = "" if self.backend == "in-process" else f", scheduler={self.scheduler_address!r}"
        closed = ", closed" if self._closed else ""
        return f"Executor(backend={self.backend!r}{where}{closed})"

    def _check_open(self):
        if self._closed:
            raise ExecutionError("this Executor is closed")

    # -- data ------------------------------------------------------------------------------

    def task_path(self, path):
        """A file or folder path as tasks should receive it (a string).

        Unchanged in-process (messages keep the user's spelling); absolute on
        Dask backends, whose workers may run in another working directory.

        Examples
        --------
        >>> Executor(workers=0).task_path("phase_1")
        'phase_1'
        """
        return os.fspath(path) if self._client is None else os.path.abspath(os.fspath(path))

    def scatter(self, obj, *, broadcast=False):
        """Put ``obj`` on the cluster once; tasks take the handle in its place.

        Parameters
        ----------
        obj : object
            Any picklable object, typically a large array or a
            :class:`~exobench.data.Dataset` used by many tasks (a list is
            scattered as one object).
        broadcast : bool
            Copy it to every worker now (otherwise workers fetch it from each
            other when first needed). A copy on each worker also survives the
            loss of any one worker; a single copy lost with its worker makes
            the run fail with :class:`ExecutionError`.

        Returns
        -------
        object or distributed.Future
            In-process, ``obj`` itself; otherwise a Future. Pass it to
            :meth:`map` in ``kwargs`` or inside an item (a list, tuple or dict
            of arguments): each task receives the object. Keep a reference to
            it while tasks use it.

        Examples
        --------
        >>> import numpy as np
        >>> with Executor() as ex:
        ...     cube = ex.scatter(np.ones((10, 8, 8)))
        ...     ex.map(_frame_sum_example, [0, 9], kwargs={"cube": cube})
        [64.0, 64.0]
        """
        self._check_open()
        if self._client is None:
            return obj
        [future] = self._client.scatter([obj], broadcast=broadcast, hash=False)
        return future

    # -- running ---------------------------------------------------------------------------

    def map(self, fn, items, *, kwargs=None, key=None, progress=False, desc=None):
        """Apply ``fn`` to every item; the results in input order.

        Parameters
        ----------
        fn : callable
            A pure function, called as ``fn(item, **kwargs)``; on Dask backends
            it must be picklable (a module-level function, a
            ``functools.partial`` of one, a picklable object with
            ``__call__``), as must the items and the results.
        items : iterable
            The inputs, one task each. Futures from :meth:`scatter` inside an
            item (directly, or in a list, tuple or dict) arrive as their objects.
        kwargs : dict, optional
            Keyword arguments common to every call. On Dask backends each
            value is sent to the cluster once per call (scattered), not once
            per task; a value that is, or holds, a future from :meth:`scatter`
            is passed as is (scatter once yourself to reuse an object across
            several calls).
        key : str, optional
            Name of the tasks (the prefix of their Dask keys, shown by the
            dashboard; also in the progress bar when ``desc`` is not given);
            by default the function's name.
        progress : bool
            Show a tqdm progress bar on stderr over completed tasks (when stderr is a terminal).
        desc : str, optional
            The progress bar's label.

        Returns
        -------
        list
            ``[fn(item, **kwargs) for item in items]``, identical whichever backend ran them.

        Raises
        ------
        Exception
            The exception of a task that raised, with its type and message (a
            note names the task); the other tasks are cancelled. When several
            raise, which one propagates may depend on the backend.
        ExecutionError
            The run could not complete: a task was on workers that died more
            than ``allowed_failures`` times, a scattered input was lost with its
            worker, or the scheduler went away. No partial results.

        Examples
        --------
        >>> with Executor() as ex:
        ...     ex.map(round, [2.567, 1.234], kwargs={"ndigits": 1})
        [2.6, 1.2]
        >>> with Executor() as ex:
        ...     try:
        ...         ex.map(int, ["1", "x"])
        ...     except ValueError as exc:
        ...         message = str(exc)
        >>> message
        "invalid literal for int() with base 10: 'x'"
        """
        self._check_open()
        if not callable(fn):
            raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
        items = list(items)
        kwargs = {} if kwargs is None else dict(kwargs)
        name = task_name(fn, key)
        bar = progress_bar(len(items), desc=desc if desc is not None else name, unit="task", enabled=progress,
                           leave=True)
        if self.blas_threads is not None:
            fn = LimitedThreads(fn, self.blas_threads)
        try:
            if self._client is None:
                return self._map_in_process(fn, items, kwargs, name, bar)
            return self._map_dask(fn, items, kwargs, name, bar)
        finally:
            bar.close()

    def map_combine(self, fn, items, combine, groups, *, kwargs=None, key=None, progress=False, desc=None):
        """Apply ``fn`` to every item, then ``combine`` to each group of results.

        ``[combine([fn(items[i], **kwargs) for i in group]) for group in groups]``:
        what a task cut into independent pieces needs (a dataset's map computed
        annulus group by annulus group, then assembled). On Dask backends the
        pieces stay on the workers: each ``combine`` task fetches its group's
        pieces from the workers that made them, and only the combined results
        come back. Errors, cancellation and lost workers as in :meth:`map`.

        Parameters
        ----------
        fn, items, kwargs, key, progress, desc
            As in :meth:`map` (the progress bar counts combined results).
        combine : callable
            A pure function of one list (the group's results, in the group's order).
        groups : sequence of sequence of int
            Indices into ``items``; every item in exactly one group.

        Returns
        -------
        list
            One combined result per group, in the order of ``groups``.

        Examples
        --------
        >>> with Executor() as ex:
        ...     ex.map_combine(abs, [-1, 2, -3], sum, [[0, 1], [2]])
        [3, 3]
        """
        self._check_open()
        for name, value in (("fn", fn), ("combine", combine)):
            if not callable(value):
                raise TypeError(f"{name}: expected a callable, got {type(value).__name__}")
        items = list(items)
        groups = [list(group) for group in groups]
        covered = sorted(i for group in groups for i in group)
        if covered != list(range(len(items))):
            raise ValueError(f"groups: expected every index of the {len(items)} items in exactly one group, "
                             f"got {groups!r}")
        kwargs = {} if kwargs is None else dict(kwargs)
        name = task_name(fn, key)
        bar = progress_bar(len(groups), desc=desc if desc is not None else name, unit="task", enabled=progress,
                           leave=True)
        if self.blas_threads is not None:
            fn, combine = LimitedThreads(fn, self.blas_threads), LimitedThreads(combine, self.blas_threads)
        try:
            if self._client is None:
                quiet = progress_bar(desc=name, unit="task", enabled=False)  # the bar counts combined results
                pieces = self._map_in_process(fn, items, kwargs, name, quiet)
                return self._map_in_process(combine, [[pieces[i] for i in group] for group in groups], {},
                                            f"{name} (combine)", bar)
            return self._map_combine_dask(fn, items, combine, groups, kwargs, name, bar)
        finally:
            bar.close()

    def _map_combine_dask(self, fn, items, combine, groups, kwargs, name, bar):
        if not groups:
            return []
        token = uuid.uuid4().hex[:12]
        pieces = self._submit_map(fn, items, kwargs, name, token)
        combined = [self._client.submit(combine, [pieces[i] for i in group],
                                        key=f"{safe_key(name)}-combine-{g}-{token}", pure=False,
                                        retries=self.retries or None)
                    for g, group in enumerate(groups)]
        return self._collect(combined, pieces + combined, name, bar)

    def _scatter_kwargs(self, kwargs):
        names = [name for name, value in kwargs.items() if not holds_futures(value)]
        if not names:
            return kwargs
        scattered = self._client.scatter([kwargs[name] for name in names], hash=False)
        return {**kwargs, **dict(zip(names, scattered))}

    def _map_in_process(self, fn, items, kwargs, name, bar):
        results = []
        for index, item in enumerate(items):
            try:
                results.append(fn(item, **kwargs))
            except Exception as exc:
                add_note(exc, f"raised by task {index} of {len(items)} ({name}) in exobench.parallel")
                raise
            bar.update(1)
        return results

    def _map_dask(self, fn, items, kwargs, name, bar):
        if not items:
            return []
        futures = self._submit_map(fn, items, kwargs, name, uuid.uuid4().hex[:12])
        return self._collect(futures, futures, name, bar)

    def _submit_map(self, fn, items, kwargs, name, token):
        """One future per item, keyed ``{name}-{index}-{token}``."""
        keys = [f"{safe_key(name)}-{index}-{token}" for index in range(len(items))]
        # kwargs travel once per call, as scattered data (Dask's own handling of large map kwargs
        # names their graph node after the keyword, which collides between calls)
        kwargs = self._scatter_kwargs(kwargs)
        return self._client.map(fn, items, key=keys, pure=False, retries=self.retries or None, **kwargs)

    def _collect(self, futures, submitted, name, bar):
        """The results of ``futures`` once all are done (``submitted``: every future to cancel on failure)."""
        from distributed import as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        client = self._client
        total = len(futures)
        index_of = {future.key: index for index, future in enumerate(futures)}
        done = False
        try:
            for future in as_completed(futures, loop=client.loop):
                index = index_of[future.key]
                status = future.status
                if status == "error":
                    exc = future.exception()
                    if isinstance(exc, KilledWorker):
                        times = (f"{self.allowed_failures + 1} time(s)" if self.backend == "local"
                                 else "more often than the scheduler's allowed-failures setting allows")
                        raise ExecutionError(
                            f"the run could not complete: task {index} of {total} ({name}) was running on "
                            f"workers that died {times} (killed, or over their memory limit: see "
                            f"docs/scaling.md); no results were returned") from exc
                    tb = future.traceback()
                    add_note(exc, f"raised by task {index} of {total} ({name}) in exobench.parallel")
                    raise exc.with_traceback(tb)
                if status == "cancelled":
                    raise ExecutionError(cancelled_message(future, index, total, name))
                bar.update(1)
            try:
                results = client.gather(futures)
            except FutureCancelledError as exc:
                raise ExecutionError(f"the run could not complete: {exc}; no results were returned") from exc
            except KilledWorker as exc:
                raise ExecutionError(f"the run could not complete: {exc}; no results were returned") from exc
            done = True
            return results
        finally:
            if not done:
                client.cancel(submitted)


def _frame_sum_example(index, *, cube):
    """Sum of one frame (used by the examples)."""
    return float(cube[index].sum())
