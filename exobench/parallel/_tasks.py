"""What the executor wraps around tasks and their futures: thread limits, names, cancellations."""

from .._threads import blas_threads

__all__ = ["LimitedThreads", "is_future", "holds_futures", "cancelled_message", "task_name", "safe_key", "add_note"]


class LimitedThreads:
    """``fn`` called with at most ``blas_threads`` BLAS threads (picklable: a module-level class)."""

    def __init__(self, fn, blas_threads):
        self.fn = fn
        self.blas_threads = blas_threads

    def __call__(self, *args, **kwargs):
        with blas_threads(self.blas_threads):
            return self.fn(*args, **kwargs)


def is_future(value):
    return type(value).__name__ == "Future" and hasattr(value, "key") and hasattr(value, "client")


def holds_futures(value):
    if is_future(value):
        return True
    if isinstance(value, (list, tuple, set)):
        return any(holds_futures(v) for v in value)
    if isinstance(value, dict):
        return any(holds_futures(v) for v in value.values())
    return False


def cancelled_message(future, index, total, name):
    reason = ""
    try:
        future.result(timeout=0)
    except Exception as exc:  # the cancellation's reason, when Dask gives one
        reason = f": {exc}"
    return (f"the run could not complete: task {index} of {total} ({name}) was cancelled{reason} "
            f"(scheduler lost, scattered input lost with its worker, or cancelled from elsewhere); "
            f"no results were returned")


def task_name(fn, key):
    """The tasks' name: ``key`` (checked) or the function's name."""
    if key is not None and not isinstance(key, str):
        raise ValueError(f"key: expected a string, got {type(key).__name__}")
    return key or _function_name(fn)


def _function_name(fn):
    inner = getattr(fn, "func", fn)  # functools.partial
    return getattr(inner, "__name__", None) or type(inner).__name__


def safe_key(name):
    return "".join(c if c.isalnum() or c in "_." else "_" for c in name) or "task"


def add_note(exc, note):
    if hasattr(exc, "add_note"):  # Python >= 3.11
        exc.add_note(note)
