"""The CNN models: SODINN's Conv3D and ConvLSTM2D, and a noise-aware Conv3D.

Every model takes MLAR patches of shape ``(n_levels, p, p)`` (one ``p x p``
patch per explained-variance level, :mod:`exobench.cnn.mlar`) and outputs
the probability that a companion sits at the patch centre.

- ``"conv3d"`` (:func:`sodinn_conv3d`) and ``"convlstm"`` (:func:`sodinn_convlstm`)
  follow SODINN (Gomez Gonzalez et al. 2018): the levels are the depth (Conv3D)
  or the time axis (ConvLSTM2D); 40 filters of 3x3(x3), pooling, 80 filters of
  2x2(x2), pooling, dense 128 with dropout, sigmoid.
- ``"na-conv3d"`` (:func:`noise_aware_conv3d`) is this project's answer to
  SODINN's false positives, in the spirit of NA-SODINN (Cantero et al. 2023):
  SODINN sees raw residual amplitudes, which span orders of magnitude between
  the speckle-dominated inner annuli and the background-limited outer ones, so
  one network (and one threshold) fits neither regime well. Here each level of a
  patch is standardised by its own local noise (mean and standard deviation of
  the patch's outer ring, :func:`standardize_patches`) before the Conv3D branch,
  and the amplitude information goes in as explicit, scale-free features
  (:func:`patch_features`): the S/N of the centre aperture against the ring at
  each level, how the ring's noise falls with the rank (a speckle-regime
  signature) and the separation in FWHM. They join the convolutional features
  before the dense layers. The output is calibrated on flipped-angle negatives
  at inference (:func:`exobench.cnn.threshold.calibrate_threshold`).

With matched-filter planes (``LabelSettings(matched_filter=True)``: patches of
``2 * n_levels`` planes, the levels' frames then their matched-filter S/N,
:func:`exobench.cnn.matched_filter.matched_filter_snr`), SODINN's models take all the
planes as depth or time, and ``"na-conv3d"`` passes the frames through its
Conv3D branch and adds, per level, the matched-filter S/N at the patch centre
and its largest value within one pixel to the features: in white-noise-limited
data that S/N is the optimal detector of a point source, and the network can
lean on it where the speckles give it nothing else to learn.

:func:`model_inputs` turns patches into what a model takes (a list of two
arrays for ``"na-conv3d"``), so training and inference prepare data the same
way. This module imports keras only inside the builders.
"""

import numpy as np

from .._validate import check_choice, check_range

__all__ = [
    "MODEL_NAMES",
    "MODEL_SIZES",
    "build_model",
    "sodinn_conv3d",
    "sodinn_convlstm",
    "noise_aware_conv3d",
    "model_inputs",
    "patch_features",
    "standardize_patches",
    "n_patch_features",
]

#: Filters of the two convolutional blocks and units of the dense layer per model size
#: (``"full"`` is SODINN's; ``"tiny"`` trains in seconds, for tests).
MODEL_SIZES = {"full": (40, 80, 128), "small": (16, 32, 64), "tiny": (4, 8, 16)}
#: Separation scale of the features (FWHM).
_SEPARATION_SCALE = 10.0


def _layers(input_shape):
    from ._backend import import_keras

    keras = import_keras()
    shape = tuple(int(n) for n in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape: expected (n_levels, p, p) with positive sizes, got {input_shape!r}")
    return keras, shape


def _checked_head(size, dropout):
    """``(f1, f2, dense, dropout)``: the filters and dense units of ``size`` and the checked ``dropout``."""
    f1, f2, dense = MODEL_SIZES[check_choice(size, "size", tuple(MODEL_SIZES))]
    return f1, f2, dense, check_range(dropout, "dropout", 0.0, 1.0, closed="low")


class _Seeds:
    """An explicit seed for every initializer and dropout layer of a model, all from ``seed``.

    keras draws the seeds it is not given from Python's global ``random``
    module, which other threads of the process use too (a Dask worker's event
    loop): the same training seed then gave other weights on a cluster. With
    ``seed=None`` keras' defaults are kept.
    """

    def __init__(self, keras, seed):
        self.keras = keras
        self.rng = None if seed is None else np.random.default_rng(seed)

    def next(self):
        return None if self.rng is None else int(self.rng.integers(1, 2**31 - 1))

    def kernel(self):
        """Keyword options of a layer with a kernel (keras' default Glorot uniform, seeded)."""
        return {"kernel_initializer": self.keras.initializers.GlorotUniform(seed=self.next())}

    def recurrent(self):
        """:meth:`kernel` and the recurrent kernel (keras' default orthogonal, seeded)."""
        return {**self.kernel(), "recurrent_initializer": self.keras.initializers.Orthogonal(seed=self.next())}


def _head(keras, x, dense, dropout, seeds):
    x = keras.layers.Dense(dense, activation="relu", name="dense", **seeds.kernel())(x)
    x = keras.layers.Dropout(dropout, name="dropout", seed=seeds.next())(x)
    return keras.layers.Dense(1, activation="sigmoid", name="probability", **seeds.kernel())(x)


def _conv3d_branch(keras, x, f1, f2, seeds):
    layers = keras.layers
    x = layers.Conv3D(f1, (3, 3, 3), padding="same", activation="relu", name="conv3d_1", **seeds.kernel())(x)
    x = layers.MaxPooling3D((2, 2, 2), padding="same", name="pool_1")(x)
    x = layers.Conv3D(f2, (2, 2, 2), padding="same", activation="relu", name="conv3d_2", **seeds.kernel())(x)
    x = layers.MaxPooling3D((2, 2, 2), padding="same", name="pool_2")(x)
    return layers.Flatten(name="flatten")(x)


def sodinn_conv3d(input_shape, *, size="full", dropout=0.5, seed=None):
    """SODINN's Conv3D network over ``(n_levels, p, p)`` MLAR patches.

    Two blocks of Conv3D (40 filters 3x3x3, then 80 filters 2x2x2, ReLU, same
    padding) each followed by a 2x2x2 max pooling, a dense layer of 128 ReLU
    units, dropout and a sigmoid unit (sizes of ``size``).

    Parameters
    ----------
    input_shape : tuple of int
        ``(n_levels, p, p)``.
    size : {"full", "small", "tiny"}
        Filters and dense units (:data:`MODEL_SIZES`).
    dropout : float
        Dropout rate before the output, in [0, 1).
    seed : int, optional
        Seed of every initializer and of the dropout (None: keras' defaults,
        drawn from Python's global random state).

    Returns
    -------
    keras.Model
        Not compiled.

    Examples
    --------
    >>> model = sodinn_conv3d((3, 9, 9), size="tiny")  # doctest: +SKIP
    >>> model.output_shape  # doctest: +SKIP
    (None, 1)
    """
    f1, f2, dense, dropout = _checked_head(size, dropout)
    keras, shape = _layers(input_shape)
    seeds = _Seeds(keras, seed)
    inputs = keras.Input(shape=shape, name="patches")
    x = keras.layers.Reshape((*shape, 1), name="channel")(inputs)
    x = _conv3d_branch(keras, x, f1, f2, seeds)
    return keras.Model(inputs, _head(keras, x, dense, dropout, seeds), name=f"sodinn_conv3d_{size}")


def sodinn_convlstm(input_shape, *, size="full", dropout=0.5, seed=None):
    """SODINN's ConvLSTM2D network: the levels are the time axis of the recurrence.

    ConvLSTM2D (40 filters 3x3, whole sequence returned), 2x2x2 max pooling,
    ConvLSTM2D (80 filters 2x2), 2x2x2 max pooling, dense 128 ReLU, dropout,
    sigmoid (sizes of ``size``).

    Parameters
    ----------
    input_shape, size, dropout, seed
        As in :func:`sodinn_conv3d`.

    Returns
    -------
    keras.Model
        Not compiled.
    """
    f1, f2, dense, dropout = _checked_head(size, dropout)
    keras, shape = _layers(input_shape)
    seeds = _Seeds(keras, seed)
    layers = keras.layers
    inputs = keras.Input(shape=shape, name="patches")
    x = layers.Reshape((*shape, 1), name="channel")(inputs)
    x = layers.ConvLSTM2D(f1, (3, 3), padding="same", return_sequences=True, name="convlstm_1",
                          **seeds.recurrent())(x)
    x = layers.MaxPooling3D((2, 2, 2), padding="same", name="pool_1")(x)
    x = layers.ConvLSTM2D(f2, (2, 2), padding="same", return_sequences=True, name="convlstm_2",
                          **seeds.recurrent())(x)
    x = layers.MaxPooling3D((2, 2, 2), padding="same", name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, _head(keras, x, dense, dropout, seeds), name=f"sodinn_convlstm_{size}")


def noise_aware_conv3d(input_shape, *, size="full", dropout=0.5, seed=None, matched_filter=False):
    """The noise-aware Conv3D: standardised patches plus S/N and noise-regime features.

    Two inputs (see :func:`model_inputs`): ``patches``, the MLAR patches
    standardised level by level by their outer ring (:func:`standardize_patches`),
    through SODINN's Conv3D branch; and ``features`` (:func:`patch_features`),
    through a small dense layer; both concatenated before the dense layer, the
    dropout and the sigmoid unit.

    Parameters
    ----------
    input_shape, size, dropout, seed
        As in :func:`sodinn_conv3d` (``input_shape`` is that of the patches).
    matched_filter : bool
        The patches hold ``2 * n_levels`` planes, the second half the levels'
        matched-filter S/N (:func:`model_inputs`): the Conv3D branch takes the
        first half, the features grow by ``2 * n_levels``.

    Returns
    -------
    keras.Model
        Not compiled.
    """
    f1, f2, dense, dropout = _checked_head(size, dropout)
    keras, shape = _layers(input_shape)
    n_levels = _n_levels(shape[0], matched_filter, "input_shape")
    shape = (n_levels, *shape[1:])
    seeds = _Seeds(keras, seed)
    layers = keras.layers
    patches = keras.Input(shape=shape, name="patches")
    features = keras.Input(shape=(n_patch_features(n_levels, matched_filter=matched_filter),), name="features")
    x = layers.Reshape((*shape, 1), name="channel")(patches)
    x = _conv3d_branch(keras, x, f1, f2, seeds)
    f = layers.Dense(max(dense // 4, 8), activation="relu", name="feature_dense", **seeds.kernel())(features)
    x = layers.Concatenate(name="join")([x, f, features])
    return keras.Model([patches, features], _head(keras, x, dense, dropout, seeds),
                       name=f"noise_aware_conv3d_{size}")


_BUILDERS = {"conv3d": sodinn_conv3d, "convlstm": sodinn_convlstm, "na-conv3d": noise_aware_conv3d}
#: Names of :func:`build_model`.
MODEL_NAMES = tuple(_BUILDERS)


def build_model(name, input_shape, **options):
    """Build the model registered as ``name`` (not compiled).

    Parameters
    ----------
    name : {"conv3d", "convlstm", "na-conv3d"}
    input_shape : tuple of int
        ``(n_levels, p, p)``.
    **options
        ``size``, ``dropout`` and ``seed`` of the builder, and ``matched_filter``
        (patches with matched-filter planes; only ``"na-conv3d"`` treats them
        apart, the others take every plane alike).

    Examples
    --------
    >>> build_model("conv3d", (3, 9, 9), size="tiny").count_params() > 0  # doctest: +SKIP
    True
    >>> build_model("resnet", (3, 9, 9))
    Traceback (most recent call last):
    ...
    ValueError: name: expected one of 'conv3d', 'convlstm', 'na-conv3d', got 'resnet'
    """
    check_choice(name, "name", MODEL_NAMES)
    matched_filter = options.pop("matched_filter", False)
    if name == "na-conv3d":
        options["matched_filter"] = matched_filter
    return _BUILDERS[name](input_shape, **options)


# -- inputs --------------------------------------------------------------------------------


def n_patch_features(n_levels, *, matched_filter=False):
    """Number of features of ``"na-conv3d"`` for ``n_levels`` levels.

    ``2 * n_levels`` (:func:`patch_features`), plus ``2 * n_levels`` with
    matched-filter planes (their centre and their largest value within one
    pixel of it, per level).

    Examples
    --------
    >>> n_patch_features(3), n_patch_features(3, matched_filter=True)
    (6, 12)
    """
    return (4 if matched_filter else 2) * int(n_levels)


def _n_levels(n_planes, matched_filter, name):
    """The number of levels behind ``n_planes`` planes (half of them with matched-filter planes)."""
    if not matched_filter:
        return int(n_planes)
    if n_planes % 2:
        raise ValueError(f"{name}: expected an even number of planes (levels, then their matched-filter S/N), "
                         f"got {n_planes}")
    return int(n_planes) // 2


def _regions(size, fwhm):
    """Boolean masks (p, p) of the centre aperture and the outer ring of a patch."""
    c = size // 2
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(xx - c, yy - c)
    centre = r <= max(fwhm / 2.0, 1.0)
    ring = r >= min(0.9 * fwhm, c - 0.5)
    if np.count_nonzero(ring) < 8:
        ring = r >= c - 1.0
    return centre, ring


def _ring_statistics(patches, fwhm):
    centre, ring = _regions(patches.shape[-1], fwhm)
    values = patches[..., ring]
    mean = values.mean(axis=-1)
    std = values.std(axis=-1)
    std = np.where(std > 0, std, 1.0)
    return patches[..., centre].mean(axis=-1), mean, std


def standardize_patches(patches, fwhm):
    """Each level of each patch minus its outer ring's mean, over the ring's standard deviation.

    The ring is the patch's pixels at least 0.9 FWHM from its centre (at
    least 8 pixels); a constant ring leaves the level unscaled.

    Parameters
    ----------
    patches : array_like, shape (n, n_levels, p, p)
    fwhm : float
        FWHM in pixels.

    Returns
    -------
    ndarray of float32, shape (n, n_levels, p, p)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> out = standardize_patches(rng.normal(5.0, 3.0, size=(2, 3, 9, 9)), 4.0)
    >>> out.shape, out.dtype, bool(abs(out.mean()) < 0.5)
    ((2, 3, 9, 9), dtype('float32'), True)
    """
    patches = np.asarray(patches, dtype=np.float64)
    return _standardised(patches, _ring_statistics(patches, float(fwhm)))


def _standardised(patches, statistics):
    _, mean, std = statistics
    return ((patches - mean[..., None, None]) / std[..., None, None]).astype(np.float32)


def patch_features(patches, separations, fwhm):
    """Scale-free features of each patch: ``2 * n_levels`` numbers.

    For each level: the S/N of the centre aperture (radius FWHM / 2) against
    the outer ring (mean and standard deviation of the pixels at least 0.9 FWHM
    from the centre); for each level after the first: the log10 ratio of its
    ring's noise to the first level's (how the residual noise falls with the
    rank: steep in speckle-dominated regions, flat in background-limited ones);
    then the separation in FWHM over 10.

    Parameters
    ----------
    patches : array_like, shape (n, n_levels, p, p)
    separations : array_like, shape (n,)
        Separation of each patch centre from the star, in pixels.
    fwhm : float
        FWHM in pixels.

    Returns
    -------
    ndarray of float32, shape (n, 2 * n_levels)

    Examples
    --------
    >>> patches = np.ones((1, 2, 9, 9))
    >>> patches[0, :, 4, 4] = 11.0
    >>> patch_features(patches, [20.0], 4.0).astype(float).round(2).tolist()
    [[0.77, 0.77, 0.0, 0.5]]
    """
    patches, separations = _checked_patches(patches, separations)
    return _features(_ring_statistics(patches, float(fwhm)), separations, fwhm)


def _checked_patches(patches, separations):
    """``(patches, separations)`` as float64 arrays, one separation per patch."""
    patches = np.asarray(patches, dtype=np.float64)
    separations = np.asarray(separations, dtype=np.float64).reshape(-1)
    if patches.ndim != 4 or separations.size != patches.shape[0]:
        raise ValueError(f"separations: expected one separation per patch ({patches.shape[0]}), "
                         f"got {separations.size}")
    return patches, separations


def _features(statistics, separations, fwhm):
    centre, mean, std = statistics
    snr = (centre - mean) / std
    ratio = np.log10(std[:, 1:] / std[:, :1])
    sep = (separations / float(fwhm) / _SEPARATION_SCALE)[:, None]
    return np.concatenate([snr, ratio, sep], axis=1).astype(np.float32)


def model_inputs(name, patches, separations, fwhm, *, matched_filter=False):
    """What model ``name`` takes for these patches (training and inference use it alike).

    Parameters
    ----------
    name : {"conv3d", "convlstm", "na-conv3d"}
    patches : array_like, shape (n, n_planes, p, p)
        ``n_levels`` planes, or ``2 * n_levels`` with ``matched_filter``.
    separations : array_like, shape (n,)
        In pixels (used by ``"na-conv3d"`` only).
    fwhm : float
    matched_filter : bool
        The second half of the planes is the levels' matched-filter S/N: for
        ``"na-conv3d"`` the first half is standardised for the Conv3D branch
        and the second adds, per level, its centre value and its largest value
        within one pixel of the centre (a companion sits up to half a pixel off
        its central pixel) to the features.

    Returns
    -------
    ndarray or list of ndarray
        The float32 patches, or ``[standardised patches, features]``.

    Examples
    --------
    >>> x = model_inputs("na-conv3d", np.ones((4, 3, 9, 9)), np.full(4, 10.0), 4.0)
    >>> [a.shape for a in x]
    [(4, 3, 9, 9), (4, 6)]
    """
    check_choice(name, "name", MODEL_NAMES)
    if name != "na-conv3d":
        return np.asarray(patches, dtype=np.float32)
    patches, separations = _checked_patches(patches, separations)
    n_levels = _n_levels(patches.shape[1], matched_filter, "patches")
    frames = patches[:, :n_levels]
    statistics = _ring_statistics(frames, float(fwhm))  # shared by both inputs: computed once
    features = _features(statistics, separations, fwhm)
    if matched_filter:
        features = np.concatenate([features, _centre_values(patches[:, n_levels:])], axis=1)
    return [_standardised(frames, statistics), features]


def _centre_values(planes):
    """Per plane, the value at the centre and the largest within one pixel of it: ``(n, 2 * n_planes)``."""
    c = planes.shape[-1] // 2
    near = planes[..., max(c - 1, 0):c + 2, max(c - 1, 0):c + 2].max(axis=(-2, -1))
    return np.concatenate([planes[..., c, c], near], axis=1).astype(np.float32)
