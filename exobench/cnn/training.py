"""Training the CNN on labelled MLAR samples, and model files.

:func:`train_model` fits one of the models of :mod:`exobench.cnn.models` on
:class:`~exobench.cnn.samples.LabelledSamples` (or any object with the same
``x``, ``y``, ``separations``, ``fwhm`` attributes): a seeded, stratified
split into training and validation samples, Adam on the binary cross-entropy,
early stopping on the validation loss (the best epoch's weights restored), and
the validation accuracy and ROC AUC of the result. It runs on the GPU when the
keras backend sees one, the same code on the CPU; the device is recorded.

**Reproducible**: :func:`~exobench.cnn._backend.seed_everything` seeds keras,
its backend, numpy and Python with the run's seed (``random_state``, or one
drawn and recorded when None) and asks the backend for deterministic kernels,
so the same seed on the same machine gives the same weights.

**Model files** (:func:`save_model`, :func:`load_model`): one ``.keras`` file,
keras' own zip archive (architecture, weights) with one more entry,
``exobench.json``, holding the metadata: the model's name and options, the
labelled data's settings (levels, annuli, patch size: what inference needs to
rebuild the same inputs), the training options and seed, the history, the
validation metrics, the backend, device and durations. The file is written
atomically. A model saved with one backend loads with another
(``KERAS_BACKEND=tensorflow``).
"""

import dataclasses
import datetime
import json
import os
import shutil
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .._json import jsonable
from .._progress import progress_bar
from .._validate import check_choice, check_integer, check_number, check_range
from .models import MODEL_NAMES, MODEL_SIZES, build_model, model_inputs
from .options import DEFAULT_OPTIONS

__all__ = ["TrainedModel", "train_model", "save_model", "load_model", "read_metadata", "METADATA_ENTRY", "MODEL_FORMAT"]

#: Name of the metadata entry inside a ``.keras`` archive.
METADATA_ENTRY = "exobench.json"
#: ``format`` of the metadata.
MODEL_FORMAT = "exobench-cnn-model/1"


@dataclasses.dataclass(frozen=True, eq=False)
class TrainedModel:
    """A trained keras model and what made it.

    Attributes
    ----------
    model : keras.Model
    name : str
        Registry name of the architecture (:data:`exobench.cnn.models.MODEL_NAMES`).
    metadata : dict
        JSON-serialisable: ``model``, ``size``, ``dropout``, ``input_shape``, ``levels``,
        ``fwhm`` (of the training data), ``label_settings``, ``dataset_checksum``,
        ``training`` (options and seed), ``history``, ``best_epoch``, ``metrics``
        (validation ``accuracy``, ``auc``, ``loss``), ``backend``, ``device``,
        ``durations``, versions and creation time.
    path : str or None
        The file it was loaded from or saved to.
    """

    model: object
    name: str
    metadata: dict
    path: str | None = None

    @property
    def input_shape(self):
        """``(n_planes, p, p)``: ``n_planes`` is ``n_levels``, twice that with matched-filter planes."""
        return tuple(self.metadata["input_shape"])

    @property
    def patch_size(self):
        """Side ``p`` of the patches."""
        return int(self.metadata["input_shape"][-1])

    @property
    def label_settings(self):
        """The settings of the labelled data it was trained on (a dict)."""
        return dict(self.metadata.get("label_settings") or {})

    @property
    def matched_filter(self):
        """Whether its patches hold matched-filter planes (models trained before the option: no)."""
        return bool(self.label_settings.get("matched_filter", False))

    def predict(self, patches, separations, fwhm, *, batch_size=2048, threads=1, logits=False):
        """Probabilities (float64, ``(n,)``) that a companion sits at each patch centre.

        The network's last layer is evaluated in float64 from its input, so the
        probabilities of bright sources do not saturate at 1 as float32 sigmoids
        do (ties would hide their ranking).

        Parameters
        ----------
        patches : array_like, shape ``(n, n_planes, p, p)``
            As :attr:`input_shape` says.
        separations : array_like, shape (n,)
            Separation of each patch centre from the star, in pixels.
        fwhm : float
            FWHM of the dataset the patches come from, in pixels.
        batch_size : int
            Patches per forward pass.
        threads : int or None
            CPU threads of the torch backend (None: torch's default).
        logits : bool
            Return the logits (log odds) instead of the probabilities.
        """
        from ._backend import backend_threads

        patches = np.asarray(patches, dtype=np.float32)
        if patches.shape[1:] != self.input_shape:
            raise ValueError(f"patches: expected shape (n, {', '.join(map(str, self.input_shape))}) "
                             f"as the model was trained on, got {patches.shape}")
        separations = np.asarray(separations, dtype=np.float64).reshape(-1)
        out = np.empty(patches.shape[0], dtype=np.float64)
        step = max(int(batch_size), 1)
        with backend_threads(threads):
            hidden, weights, bias = self._last_layer()
            for start in range(0, patches.shape[0], step):
                x = model_inputs(self.name, patches[start:start + step], separations[start:start + step], fwhm,
                                 matched_filter=self.matched_filter)
                h = np.asarray(hidden.predict_on_batch(x), dtype=np.float64)
                out[start:start + step] = h @ weights + bias
        return out if logits else 1.0 / (1.0 + np.exp(-out))

    def _last_layer(self):
        """(model to the last layer's input, its float64 weights, bias): cached."""
        cached = self.__dict__.get("_last")
        if cached is None or cached[0] is not self.model:
            from ._backend import import_keras

            keras = import_keras()
            layer = self.model.get_layer("probability")
            inputs = self.model.inputs if len(self.model.inputs) > 1 else self.model.inputs[0]
            hidden = keras.Model(inputs, layer.input)
            kernel, bias = (np.asarray(w, dtype=np.float64) for w in layer.get_weights())
            cached = (self.model, hidden, kernel.reshape(-1), float(bias.reshape(-1)[0]))
            self.__dict__["_last"] = cached
        return cached[1:]


# -- training --------------------------------------------------------------------------------


def _check_samples(samples):
    for attr in ("x", "y"):
        if not hasattr(samples, attr):
            raise TypeError(f"samples: expected LabelledSamples (with x, y, separations, fwhm), "
                            f"got {type(samples).__name__} without {attr!r}")
    x = np.asarray(samples.x, dtype=np.float32)
    y = np.asarray(samples.y).reshape(-1)
    if x.ndim != 4 or x.shape[2] != x.shape[3]:
        raise ValueError(f"samples: x: expected (n, n_levels, p, p) patches, got shape {x.shape}")
    if y.size != x.shape[0] or not np.isin(y, (0, 1)).all():
        raise ValueError(f"samples: y: expected {x.shape[0]} labels of 0 or 1")
    if np.unique(y).size < 2 or np.bincount(y.astype(int)).min() < 2:
        raise ValueError("samples: y: expected at least 2 positives and 2 negatives")
    if not np.isfinite(x).all():
        raise ValueError("samples: x: expected finite values")
    return x, y.astype(np.float32)


def _separations(samples, n):
    seps = getattr(samples, "separations", None)
    if seps is None:
        return np.zeros(n)
    return np.asarray(seps, dtype=np.float64).reshape(-1)


def _check_options(epochs, batch_size, validation_fraction, patience, learning_rate):
    return (check_integer(epochs, "epochs", minimum=1), check_integer(batch_size, "batch_size", minimum=1),
            check_range(validation_fraction, "validation_fraction", 0.0, 1.0, closed="low"),
            check_integer(patience, "patience", minimum=0), check_number(learning_rate, "learning_rate", strict=True))


def _seed(random_state):
    """An integer seed for keras from an int, a Generator or None (fresh entropy)."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and random_state >= 0:
        return int(random_state) % (2**32 - 1)
    raise ValueError(f"random_state: expected None, a non-negative int or a numpy Generator, got {random_state!r}")


def _split(y, fraction, seed):
    """Seeded stratified split: indices of the training and validation samples."""
    rng = np.random.default_rng(seed)
    train, valid = [], []
    for label in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_valid = int(round(fraction * idx.size))
        if fraction > 0:
            n_valid = min(max(n_valid, 1), idx.size - 1)
        valid.append(idx[:n_valid])
        train.append(idx[n_valid:])
    return rng.permutation(np.concatenate(train)), np.sort(np.concatenate(valid))


def _take(inputs, idx):
    return [a[idx] for a in inputs] if isinstance(inputs, list) else inputs[idx]


def _progress_callback(keras, epochs, enabled):
    """A keras callback showing the epochs on a :func:`~exobench._progress.progress_bar` (None unless ``enabled``)."""
    if not enabled:
        return None

    class _Bar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = progress_bar(epochs, desc="training", unit="epoch", leave=True)

        def on_epoch_end(self, epoch, logs=None):
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in (logs or {}).items() if k in ("loss", "val_loss")})
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return _Bar()


def _binary_metrics(y, p):
    from sklearn.metrics import log_loss, roc_auc_score

    if y.size == 0:
        return {"accuracy": None, "auc": None, "loss": None}
    auc = float(roc_auc_score(y, p)) if np.unique(y).size == 2 else None
    return {"accuracy": float(np.mean((p > 0.5) == (y > 0.5))), "auc": auc,
            "loss": float(log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1]))}


def train_model(samples, *, model=DEFAULT_OPTIONS.model, size=DEFAULT_OPTIONS.size, dropout=0.5,
                epochs=DEFAULT_OPTIONS.epochs, batch_size=DEFAULT_OPTIONS.batch_size,
                validation_fraction=DEFAULT_OPTIONS.validation_fraction, patience=DEFAULT_OPTIONS.patience,
                learning_rate=DEFAULT_OPTIONS.learning_rate, random_state=None, threads=DEFAULT_OPTIONS.threads,
                balance_separations=False, progress=False):
    """Train a CNN on labelled MLAR samples.

    The defaults of the options shared with the ``cnn`` baseline are those of
    :class:`~exobench.cnn.options.CNNOptions`.

    Parameters
    ----------
    samples : LabelledSamples
        From :func:`exobench.cnn.labels.generate_samples` (or anything with ``x``
        ``(n, n_levels, p, p)``, ``y`` of 0/1, ``separations`` in pixels, ``fwhm``;
        ``levels``, ``settings`` and ``dataset_checksum`` are recorded when present).
    model : {"conv3d", "convlstm", "na-conv3d"}
        Architecture (:func:`exobench.cnn.models.build_model`).
    size : {"full", "small", "tiny"}
        Filters and dense units; ``"full"`` is SODINN's.
    dropout : float
        Dropout before the output.
    epochs : int
        Most epochs.
    batch_size : int
    validation_fraction : float
        Share of each class held out for validation and early stopping, in [0, 1)
        (0: no validation, no early stopping, all epochs run).
    patience : int
        Epochs without a better validation loss before stopping; the weights of
        the best epoch are restored.
    learning_rate : float
        Adam's learning rate.
    random_state : None, int or numpy.random.Generator
        Seed of the split, the initial weights, the shuffling and dropout.
    threads : int or None
        CPU threads of the torch backend while training (None: torch's default);
        see :func:`exobench.cnn._backend.backend_threads`.
    balance_separations : bool
        Weight the training samples so that every separation bin (1 FWHM wide)
        weighs the same in the loss (the outer annuli hold most samples).
    progress : bool
        A progress bar over the epochs on stderr.

    Returns
    -------
    TrainedModel

    Examples
    --------
    >>> trained = train_model(samples, model="na-conv3d", epochs=10, random_state=0)  # doctest: +SKIP
    >>> trained.metadata["metrics"]["auc"] > 0.9  # doctest: +SKIP
    True
    """
    from ._backend import backend_threads, check_threads

    check_threads(threads)
    with backend_threads(threads):
        return _train(samples, model, size, dropout, epochs, batch_size, validation_fraction, patience,
                      learning_rate, random_state, threads, balance_separations, progress)


def _separation_weights(separations, fwhm):
    """Per-sample weights making every 1-FWHM separation bin weigh the same (mean 1)."""
    bins = np.floor(np.asarray(separations, dtype=np.float64) / fwhm).astype(np.int64)
    _, inverse, counts = np.unique(bins, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse]
    return (weights / weights.mean()).astype(np.float32)


def _train(samples, model, size, dropout, epochs, batch_size, validation_fraction, patience, learning_rate,
           random_state, threads, balance_separations, progress):
    from ._backend import device_name, import_keras, seed_everything

    started = time.perf_counter()
    check_choice(model, "model", MODEL_NAMES)
    check_choice(size, "size", tuple(MODEL_SIZES))
    epochs, batch_size, validation_fraction, patience, learning_rate = _check_options(
        epochs, batch_size, validation_fraction, patience, learning_rate)
    x, y = _check_samples(samples)
    fwhm = float(np.mean(getattr(samples, "fwhm", 1.0)))
    seed = _seed(random_state)
    keras = import_keras()
    seed_everything(seed)
    matched_filter = bool(getattr(getattr(samples, "settings", None), "matched_filter", False))
    inputs = model_inputs(model, x, _separations(samples, x.shape[0]), fwhm, matched_filter=matched_filter)
    train, valid = _split(y, validation_fraction, seed)
    network = build_model(model, x.shape[1:], size=size, dropout=dropout, seed=seed, matched_filter=matched_filter)
    network.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="binary_crossentropy",
                    metrics=["accuracy"])
    callbacks = [c for c in (_progress_callback(keras, epochs, progress),) if c is not None]
    validation = None
    if valid.size:
        validation = (_take(inputs, valid), y[valid])
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                       restore_best_weights=True))
    prepared = time.perf_counter()
    weights = None
    if balance_separations:
        weights = _separation_weights(_separations(samples, x.shape[0])[train], fwhm)
    with warnings.catch_warnings():
        # torch warns that CUDA's max-pool backward is not deterministic (it scatters with atomic
        # adds). Our pools are 2 x 2 x 2 with stride 2: windows do not overlap and each input gets
        # at most one add, so the order of the adds cannot change the result.
        warnings.filterwarnings("ignore", message="max_pool3d_with_indices_backward_cuda does not have a "
                                "deterministic implementation", category=UserWarning)
        history = network.fit(_take(inputs, train), y[train], sample_weight=weights, validation_data=validation,
                              epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0, callbacks=callbacks)
    fitted = time.perf_counter()
    metrics = _binary_metrics(y[valid], _predict_inputs(network, _take(inputs, valid), batch_size * 8))
    options = {"model": model, "size": size, "dropout": float(dropout), "epochs": epochs, "batch_size": batch_size,
               "validation_fraction": validation_fraction, "patience": patience, "learning_rate": learning_rate,
               "seed": seed, "threads": threads, "balance_separations": bool(balance_separations),
               "n_train": int(train.size), "n_validation": int(valid.size)}
    durations = {"prepare_s": prepared - started, "fit_s": fitted - prepared, "total_s": time.perf_counter() - started}
    metadata = _metadata(keras, samples, x, y, options, history.history, metrics, durations, device_name())
    return TrainedModel(model=network, name=model, metadata=metadata)


def _metadata(keras, samples, x, y, options, history, metrics, durations, device):
    """The JSON-serialisable metadata of a training run (see :class:`TrainedModel`)."""
    history = {key: [float(v) for v in values] for key, values in history.items()}
    losses = history.get("val_loss") or history.get("loss") or [0.0]
    training = {key: options[key] for key in ("epochs", "batch_size", "validation_fraction", "patience",
                                              "learning_rate", "seed", "threads", "balance_separations",
                                              "n_train", "n_validation")}
    training.update(n_positives=int(y.sum()), n_negatives=int(y.size - y.sum()))
    return {
        "format": MODEL_FORMAT,
        "model": options["model"], "size": options["size"], "dropout": options["dropout"],
        "input_shape": [int(n) for n in x.shape[1:]],
        "levels": jsonable(getattr(samples, "levels", None)),
        "fwhm": float(np.mean(getattr(samples, "fwhm", 1.0))),
        "label_settings": jsonable(getattr(samples, "settings", None)),
        "dataset_checksum": jsonable(getattr(samples, "dataset_checksum", None)),
        "training": training,
        "history": history,
        "epochs_run": len(losses),
        "best_epoch": int(np.argmin(losses)) + 1,
        "metrics": metrics,
        "backend": keras.backend.backend(),
        "device": device,
        "durations": durations,
        "versions": _versions(keras),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _predict_inputs(network, inputs, batch_size):
    n = (inputs[0] if isinstance(inputs, list) else inputs).shape[0]
    out = [np.asarray(network.predict_on_batch(_take(inputs, slice(s, s + batch_size)))).reshape(-1)
           for s in range(0, n, batch_size)]
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)


def _versions(keras):
    import exobench

    versions = {"exobench": exobench.__version__, "keras": keras.__version__}
    backend = keras.backend.backend()
    try:
        versions[backend] = __import__(backend).__version__
    except Exception:  # a backend without __version__ is still recorded by name
        pass
    return versions


# -- files -------------------------------------------------------------------------------------


def _keras_path(path):
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path: expected a file name ending in .keras, got {str(path)!r}")
    return path


def save_model(trained, path):
    """Write a trained model and its metadata to one ``.keras`` file, atomically.

    Parameters
    ----------
    trained : TrainedModel
    path : str or path-like
        Ending in ``.keras``; its folder must exist; an existing file is replaced.

    Returns
    -------
    TrainedModel
        ``trained`` with ``path`` set.

    Examples
    --------
    >>> save_model(trained, "model.keras")  # doctest: +SKIP
    """
    path = _keras_path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"path: folder {str(path.parent)!r} does not exist")
    from ._backend import quiet

    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tmp = folder / "model.keras"
        with quiet():
            trained.model.save(tmp)
        metadata = dict(trained.metadata, model=trained.name)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(METADATA_ENTRY, json.dumps(jsonable(metadata), indent=1, sort_keys=True))
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return dataclasses.replace(trained, path=str(path))


def read_metadata(path):
    """The metadata of a model file, without loading keras."""
    path = _keras_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: model file {str(path)!r} not found")
    with zipfile.ZipFile(path) as archive:
        if METADATA_ENTRY not in archive.namelist():
            raise ValueError(f"path: {str(path)!r} is a keras file without exobench metadata "
                             f"({METADATA_ENTRY}); save it with exobench.cnn.save_model")
        metadata = json.loads(archive.read(METADATA_ENTRY))
    if metadata.get("format") != MODEL_FORMAT:
        raise ValueError(f"path: {str(path)!r} has metadata format {metadata.get('format')!r}, "
                         f"expected {MODEL_FORMAT!r}")
    return metadata


def load_model(path):
    """Read a model written by :func:`save_model` (with any keras backend).

    Returns
    -------
    TrainedModel
    """
    from ._backend import import_keras

    from ._backend import quiet

    metadata = read_metadata(path)
    keras = import_keras()
    with quiet():
        network = keras.saving.load_model(Path(path), compile=False)
    return TrainedModel(model=network, name=metadata["model"], metadata=metadata, path=str(path))
