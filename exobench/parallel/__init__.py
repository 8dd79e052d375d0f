"""The execution layer: run pure tasks in-process, on a local Dask cluster or on a Dask scheduler.

Every parallel step of exobench (a builder's datasets and calibration trials,
a baseline's datasets and parameter sets, the scoring of submissions) is a
list of independent tasks, each a *pure function of its inputs*.
:class:`Executor` runs such a list on one of three backends, chosen by
keyword options:

- **in-process** (the default): a plain loop in the calling process; Dask is
  not even imported, there is no start-up cost;
- **a local Dask cluster** (``workers=N``): a ``distributed.LocalCluster`` of
  ``N`` worker processes with one thread each, on 127.0.0.1, dashboard off,
  logs silenced; started by the executor and closed with it;
- **an existing Dask scheduler** (``scheduler="tcp://host:port"``, or the
  environment variable ``EXOBENCH_SCHEDULER``, or a cluster object such as a
  ``dask_jobqueue.SLURMCluster``): the executor connects a client to it (in
  at most ``connect_timeout`` seconds) and closes only that client.

:meth:`Executor.map` returns the results in input order, and since tasks are
pure the results are the same (byte for byte for numpy arrays) whichever
backend ran them. A task that raises propagates its exception (same type,
same message) and cancels the others; a run that cannot complete (workers
lost more often than allowed, scheduler gone) raises one
:class:`ExecutionError`: partial results are never returned.

Large inputs shared by many tasks travel once: :meth:`Executor.scatter` puts
them on the cluster and returns a handle that tasks take in place of the
object (pass it in ``kwargs=`` of :meth:`Executor.map`, or inside an item's
list, tuple or dict); large per-task inputs are better passed as file paths
that the task reads. See docs/scaling.md for clusters (SLURM, PBS,
Kubernetes), the overhead per task and the memory each task needs.

Users: :func:`exobench.baselines.run_baseline` (one task per dataset),
:func:`exobench.workflows.sweep.run_sweep` (per parameter set and dataset),
:func:`exobench.scoring.batch.score_submissions` (per submission), the builder,
and the ``--workers N`` / ``--scheduler ADDRESS`` options of ``exobench
baseline``, ``score``, ``sweep`` and ``build``.

Examples
--------
>>> import numpy as np
>>> from exobench.parallel import Executor
>>> def norm(seed, *, scale=1.0):
...     return scale * np.linalg.norm(np.random.default_rng(seed).normal(size=100))
>>> with Executor() as ex:  # in-process; Executor(workers=2) for a local cluster
...     values = ex.map(norm, [0, 1, 2], kwargs={"scale": 2.0})
>>> len(values), bool(values[0] == norm(0, scale=2.0))
(3, True)
"""

from .executor import DEFAULT_CONNECT_TIMEOUT, SCHEDULER_ENV, ExecutionError, Executor

__all__ = ["Executor", "ExecutionError", "SCHEDULER_ENV", "DEFAULT_CONNECT_TIMEOUT"]
