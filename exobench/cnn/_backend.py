"""Keras and its backend for the CNN baseline: import, device, seeding.

Keras 3 reads the environment variable ``KERAS_BACKEND`` once, when it is first
imported. exobench's CNN code defaults it to ``"torch"`` (with
``os.environ.setdefault``, so a backend chosen by the user, such as
``KERAS_BACKEND=tensorflow``, is kept) just before its first ``import keras``;
nothing is set on ``import exobench`` nor on ``import exobench.cnn``.

Everything here is imported lazily: :func:`unavailable_reason` only looks for
the packages (:func:`importlib.util.find_spec`) and imports nothing.
"""

import contextlib
import importlib.util
import os
import warnings

from .._validate import check_integer

__all__ = ["DEFAULT_BACKEND", "INSTALL_HINT", "import_keras", "unavailable_reason", "backend_name",
           "device_name", "seed_everything", "backend_threads", "check_threads", "quiet"]

#: Backend used when ``KERAS_BACKEND`` is not set.
DEFAULT_BACKEND = "torch"
#: What to install when keras or its backend is missing.
INSTALL_HINT = ("the CNN baseline needs keras 3 and torch: pip install 'exobench[cnn]' "
                "(or pip install 'keras>=3.5' torch; on a machine without a GPU the CPU wheel of torch is "
                "much smaller: pip install torch --index-url https://download.pytorch.org/whl/cpu)")
#: Python module of each backend keras 3 supports.
_BACKEND_MODULES = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax", "numpy": "numpy"}


def _requested_backend():
    return os.environ.get("KERAS_BACKEND", DEFAULT_BACKEND)


def unavailable_reason():
    """Why the CNN code cannot run here (keras 3 or its backend missing), or None.

    Imports nothing (looks the packages up only).

    Examples
    --------
    >>> unavailable_reason() is None or "pip install" in unavailable_reason()
    True
    """
    if importlib.util.find_spec("keras") is None:
        return f"keras is not installed; {INSTALL_HINT}"
    backend = _requested_backend()
    module = _BACKEND_MODULES.get(backend)
    if module is None:
        return (f"KERAS_BACKEND={backend!r} is not a backend of keras 3 "
                f"(expected one of {', '.join(_BACKEND_MODULES)}); {INSTALL_HINT}")
    if importlib.util.find_spec(module) is None:
        return f"the keras backend {backend!r} (KERAS_BACKEND) is not installed; {INSTALL_HINT}"
    return None


def import_keras():
    """The ``keras`` module, its backend defaulted to torch.

    Raises
    ------
    ImportError
        When keras 3 or the backend is missing, saying what to install.

    Examples
    --------
    >>> keras = import_keras()  # doctest: +SKIP
    >>> keras.backend.backend()  # doctest: +SKIP
    'torch'
    """
    os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)
    reason = unavailable_reason()
    if reason is not None:
        raise ImportError(reason)
    import keras

    major = int(str(keras.__version__).split(".")[0])
    if major < 3:
        raise ImportError(f"keras {keras.__version__} is installed, keras >= 3 is needed; {INSTALL_HINT}")
    return keras


def backend_name():
    """Name of the backend keras runs on (``"torch"``, ``"tensorflow"``...)."""
    return import_keras().backend.backend()


def device_name():
    """The device keras computes on: ``"cuda:0 (NAME)"`` when the backend sees a GPU, else ``"cpu"``.

    With the torch backend, keras' own ``KERAS_TORCH_DEVICE`` (for example
    ``cpu`` on a machine with a GPU) is honoured, as keras does.
    """
    backend = backend_name()
    if backend == "torch":
        import torch

        chosen = os.environ.get("KERAS_TORCH_DEVICE")
        if chosen and not chosen.startswith("cuda"):
            return chosen
        if torch.cuda.is_available():
            return f"cuda:{torch.cuda.current_device()} ({torch.cuda.get_device_name()})"
        return "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"gpu ({gpus[0].name})" if gpus else "cpu"
    if backend == "jax":
        import jax

        return str(jax.devices()[0])
    return "cpu"


def seed_everything(seed):
    """Seed keras, numpy, Python and the backend, with deterministic kernels where it has them.

    The same seed then gives the same weights and the same training on the same
    machine and backend (CPU; GPU kernels may still differ in the last bits).
    On CUDA, deterministic cuBLAS needs a fixed workspace
    (``CUBLAS_WORKSPACE_CONFIG``), set here unless the user set it, before the
    first matrix product initialises cuBLAS.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    keras = import_keras()
    keras.utils.set_random_seed(int(seed))
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True, warn_only=True)
        if torch.backends.cudnn.is_available():
            torch.backends.cudnn.benchmark = False
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def check_threads(threads):
    """Validate a ``threads`` option: None or an integer >= 1."""
    return check_integer(threads, "threads", minimum=1, allow_none=True)


@contextlib.contextmanager
def quiet():
    """Silence keras' numpy-2 ``DeprecationWarning`` about ``__array__`` inside the block.

    Keras' torch backend converts tensors with ``np.array(x, copy=False)``, which
    numpy 2 reports on every batch: nothing for exobench's users to act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword",
                                category=DeprecationWarning)
        yield


@contextlib.contextmanager
def backend_threads(threads):
    """Run the block with the torch backend's intra-op threads set to ``threads`` (None: unchanged).

    (Also silences keras' per-batch numpy-2 ``DeprecationWarning`` about ``__array__``.)

    exobench's kernels run on one thread and leave parallelism to processes
    (docs/architecture.md); the CNN code does the same by default: the models
    are small, and on a shared or busy CPU torch's spinning thread pool can be
    slower than one thread. Other backends are left as they are
    (tensorflow fixes its thread pools when it starts).
    """
    threads = check_threads(threads)
    with quiet():
        if threads is None or backend_name() != "torch":
            yield
            return
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)
