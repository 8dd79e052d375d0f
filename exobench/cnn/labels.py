"""Labelled samples for supervised detection: MLAR patches with and without a companion.

SODINN's recipe (Gomez Gonzalez et al. 2018), from any dataset:

- **Positives**: companions injected with the dataset's PSF at random
  positions of the processed annuli, with fluxes set so that their expected
  S/N after annular PCA (the EIDC organisers' measure, see
  :class:`exobench.builder.calibration.Calibrator`) is drawn uniformly in
  ``snr_band``; the MLAR frames of the injected cube are recomputed and the
  patch centred on the companion's pixel is cut. Several companions share one
  injected cube (several per annulus, azimuths spaced, all pairwise at least
  ``spacing`` patch sizes apart, so that no patch sees another companion), so
  one MLAR computation gives tens of positives.
- **Negatives**: patches of the dataset's MLAR frames derotated with the
  negated angles (any real source smears), at random pixels, as many per
  annulus as there are positives in it (the classes share their radial
  distribution); a fraction ``mixed_fraction`` of them are sums of two such
  patches of the same annulus divided by sqrt(2) (SODINN averages two patches;
  dividing by sqrt(2) instead of 2 keeps the noise level of a single patch,
  which would otherwise tell the classes apart).
- **Augmentation** (``augment=True``): the companions are injected at a random
  sub-pixel offset of up to ``shifts`` px from their patch's central pixel
  (what inference sees, and no interpolation of the patches), and every patch
  of both classes is turned by a random multiple of 90 degrees (exact), half
  of them mirrored first with ``mirrors`` (transposed: exact too).
  Small-angle rotations of patches are left out: their interpolation would
  smooth the noise of the positives only, a cue a network could learn.

By default (``flipped_positives=True``) the positives are injected with the
inverse angles (:func:`exobench.inject.inject_companions` with
``inverse_angles=True``) and cut from frames derotated with the negated angles,
exactly like the negatives: both classes then come out of the same processing
and only the companion tells them apart (no speckle-pattern or real-source
difference between normal and flipped derotation to learn). With ``False``,
SODINN's original recipe: positives from frames derotated with the dataset's
own angles.

The classes are balanced exactly (``n_samples / 2`` each) and shuffled; every
draw comes from one :class:`numpy.random.Generator`, so the same
``random_state`` gives the same bytes.
"""

import numpy as np

from .._progress import progress_bar
from .._threads import one_blas_thread
from ..data import Dataset
from ..geometry import cartesian_to_polar, polar_to_cartesian
from .matched_filter import matched_filter_snr, stacked_planes
from .mlar import mlar_frames
from .patches import extract_patches
from .samples import LabelledSamples, LabelSettings, dataset_checksum

__all__ = ["generate_samples"]


def generate_samples(dataset, settings=None, *, random_state=None, progress=False):
    """Balanced, seeded labelled MLAR patches of a dataset (see the module).

    Parameters
    ----------
    dataset : Dataset
        The source observation, with a PSF (3D, or 4D: MLAR frames averaged
        over channels, companions with a flat spectrum).
    settings : LabelSettings, optional
        Defaults to ``LabelSettings()``.
    random_state : int or numpy.random.Generator, optional
        Seed of every draw: the same seed gives the same bytes.
    progress : bool
        Show a progress bar on stderr (tqdm), counting positives.

    Returns
    -------
    LabelledSamples

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=16, size=41)
    >>> samples = generate_samples(ds, LabelSettings(n_samples=12, levels=(0.5, 0.9)), random_state=1)
    >>> samples.x.shape, int(samples.y.sum())
    ((12, 2, 9, 9), 6)
    """
    settings = LabelSettings() if settings is None else settings
    if not isinstance(settings, LabelSettings):
        raise TypeError(f"settings: expected LabelSettings, got {type(settings).__name__}")
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset: expected an exobench Dataset, got {type(dataset).__name__}")
    if dataset.psf is None:
        raise ValueError("dataset: a PSF is needed to inject companions, got a dataset without one")
    rng = np.random.default_rng(random_state)
    with one_blas_thread():  # every matrix is small
        return _generate(dataset, settings, rng, progress)


def _generate(dataset, settings, rng, progress):
    n_half = settings.n_samples // 2
    noise = mlar_frames(dataset, flip_angles=True, **settings.mlar_options())
    planes = _Planes(noise, dataset.psf if settings.matched_filter else None)
    with progress_bar(n_half, desc="labelled samples", unit="positive", enabled=progress) as bar:
        positives, near = _positives(dataset, noise, planes, settings, rng, n_half, bar)
    # the near-companion negatives take the places of flipped-angle ones in their companion's annulus
    n_annuli = len(noise.annuli)
    counts = (np.bincount(_annulus_index(noise, positives["positions"]), minlength=n_annuli)
              - np.bincount(near.pop("companion_annulus"), minlength=n_annuli))
    negatives = _negatives(noise, planes(noise), counts, settings, rng)
    order = rng.permutation(settings.n_samples)
    merged = {key: np.concatenate([positives[key], near[key], negatives[key]])[order] for key in positives}
    return LabelledSamples(
        x=merged["x"], y=merged["y"].astype(np.uint8), positions=merged["positions"].astype(np.int64),
        separations=merged["separations"].astype(np.float64), fluxes=merged["fluxes"].astype(np.float64),
        snr=merged["snr"].astype(np.float64), settings=settings, dataset_checksum=dataset_checksum(dataset),
        levels=noise.levels, fwhm=noise.fwhm)



# -- positives -------------------------------------------------------------------------------


class _Planes:
    """The planes patches are cut from (:func:`~exobench.cnn.matched_filter.stacked_planes`).

    With a PSF, the matched-filter S/N of any frames (the injected cubes' too)
    is scaled by the annulus noise of the dataset's companion-free
    flipped-angle frames, computed once: the scale of the data at inference,
    which the many injected companions of a positive cube would inflate.
    """

    def __init__(self, noise, psf):
        self.psf = psf
        self.scale = None if psf is None else matched_filter_snr(noise, psf)[1]

    def __call__(self, mlar):
        return stacked_planes(mlar, self.psf, noise=self.scale)


def _positives(dataset, noise, planes, settings, rng, count, bar):
    """``count`` positive samples, several companions per injected cube."""
    flux_per_snr = _flux_per_snr(dataset, noise, settings.flipped_positives)
    parts, near_parts, done, empty = [], [], 0, 0
    while done < count:
        pixels, xy = _trial_positions(noise, settings, rng)
        if len(pixels) == 0:
            empty += 1
            if empty > 20:
                raise ValueError("dataset: found no position for a companion whose patch fits in the frame")
            continue
        pixels, xy = pixels[:count - done], xy[:count - done]
        separations, thetas = cartesian_to_polar(xy[:, 0], xy[:, 1], center=noise.center)
        snr = rng.uniform(*settings.snr_band, size=len(pixels))
        fluxes = snr * flux_per_snr(separations)
        # near-companion negatives: as many, over the cubes, as near_fraction of the positives so far
        wanted = int(round(settings.near_fraction * (done + len(pixels)))) - int(round(settings.near_fraction * done))
        near = _near_pixels(noise, settings, pixels, xy, wanted, rng)
        patches, near_patches = _injected_patches(dataset, settings, noise, planes, pixels, separations, thetas,
                                                  fluxes, near[0], rng)
        parts.append({"x": patches, "positions": pixels, "separations": separations, "fluxes": fluxes, "snr": snr})
        near_parts.append({"x": near_patches, "positions": near[0], "companion_annulus": near[1]})
        done += len(pixels)
        bar.update(len(pixels))
    merged = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    merged["y"] = np.ones(count, dtype=np.uint8)
    return merged, _near_samples(noise, near_parts)


def _near_pixels(noise, settings, pixels, xy, wanted, rng):
    """Up to ``wanted`` pixels ``near_offsets`` FWHM from the first companions (at ``xy``, on ``pixels``).

    Each pixel is at least ``near_offsets[0]`` FWHM from every companion of the
    cube and its patch fits the frame (a few draws per companion, else none
    for it). Returns ``(pixels, annulus of their companion)``.
    """
    low, high = (v * noise.fwhm for v in settings.near_offsets)
    near, annuli = [], []
    for index in range(min(wanted, len(xy))):
        for _ in range(8):
            radius, angle = rng.uniform(low, high), rng.uniform(0.0, 2.0 * np.pi)
            pixel = np.round(xy[index] + radius * np.array([np.cos(angle), np.sin(angle)])).astype(np.int64)
            inside = (0 <= pixel[0] < noise.mask.shape[1]) and (0 <= pixel[1] < noise.mask.shape[0])
            if inside and noise.mask[pixel[1], pixel[0]] and np.hypot(*(xy - pixel).T).min() >= low:
                near.append(pixel)
                annuli.append(_annulus_index(noise, pixels[index:index + 1])[0])
                break
    return np.array(near, dtype=np.int64).reshape(-1, 2), np.array(annuli, dtype=np.int64)


def _near_samples(noise, parts):
    """The near-companion negatives of every injected cube as samples (label 0, no flux at the centre)."""
    x = np.concatenate([part["x"] for part in parts])
    positions = np.concatenate([part["positions"] for part in parts])
    separations, _ = cartesian_to_polar(positions[:, 0], positions[:, 1], center=noise.center)
    n = len(positions)
    return {"x": x, "positions": positions, "separations": np.asarray(separations, dtype=np.float64).reshape(n),
            "fluxes": np.zeros(n), "snr": np.full(n, np.nan), "y": np.zeros(n, dtype=np.uint8),
            "companion_annulus": np.concatenate([part["companion_annulus"] for part in parts])}


def _injected_patches(dataset, settings, noise, planes, pixels, separations, thetas, fluxes, near, rng):
    """The augmented patches at the companions' ``pixels`` and at the ``near`` pixels of one injected cube."""
    from ..inject import inject_companions

    injected = inject_companions(dataset, separations=separations, thetas=thetas, fluxes=fluxes,
                                 inverse_angles=settings.flipped_positives).dataset
    # with inverse_angles the injected dataset carries the negated angles: its own derotation
    # is then the flipped one of the negatives
    frames = planes(mlar_frames(injected, **settings.mlar_options()))
    patches = _augmented_turns(extract_patches(frames, pixels, noise.patch_size), settings, rng)
    return patches, _augmented_turns(extract_patches(frames, near, noise.patch_size), settings, rng)


def _trial_positions(noise, settings, rng):
    """Companion positions for one injected cube: ``(pixels, xy)``, in random order.

    Per annulus, as many companions as fit its mid circle at ``spacing`` patch
    sizes apart, at equally spaced azimuths from a random start and radii
    uniform in area; kept when their pixel's patch fits the frame and they are
    ``spacing`` patch sizes from every companion kept before (random order).
    """
    distance = settings.spacing * noise.patch_size
    radii, thetas = [], []
    for inner, outer in noise.annuli:
        count = max(1, int(2 * np.pi * 0.5 * (inner + outer) // max(distance, 1e-9)))
        thetas.append(rng.uniform(0.0, 360.0) + 360.0 * np.arange(count) / count)
        radii.append(np.sqrt(rng.uniform(inner**2, outer**2, size=count)))
    x, y = polar_to_cartesian(np.concatenate(radii), np.concatenate(thetas), center=noise.center)
    pixels = np.stack([np.round(x), np.round(y)], axis=1).astype(np.int64)
    order = rng.permutation(len(pixels))
    offsets = rng.uniform(-settings.shifts, settings.shifts, size=(len(pixels), 2))
    pixels, offsets = pixels[order], offsets[order]
    ny, nx = noise.mask.shape
    fits = (pixels[:, 0] >= 0) & (pixels[:, 0] < nx) & (pixels[:, 1] >= 0) & (pixels[:, 1] < ny)
    fits[fits] = noise.mask[pixels[fits, 1], pixels[fits, 0]]
    kept = []
    for index in np.flatnonzero(fits):
        if all(np.hypot(*(pixels[index] - pixels[j])) >= distance for j in kept):
            kept.append(index)
    pixels = pixels[kept]
    xy = pixels + (offsets[kept] if settings.augment else 0.0)
    return pixels, xy.astype(np.float64)


def _flux_per_snr(dataset, noise, flipped):
    """Flux per unit S/N as a function of separation (px), from the annular-PCA calibration.

    Uses the relation's gain (S/N per unit flux between its first and last
    trial fluxes) rather than ``flux_for_snr``: near the noise the measured
    relation starts at the S/N of the background alone, which can reach 1 at
    flux 0 and would give empty "positives"; the gain gives a companion the
    target S/N on top of a zero-mean background.
    """
    from ..builder.calibration import Calibrator

    source = dataset.replace(angles=-dataset.angles) if flipped else dataset
    separations = np.array([0.5 * (inner + outer) for inner, outer in noise.annuli])
    relation = Calibrator(source).relation(separations)
    gain = (relation.snr[:, -1] - relation.snr[:, 0]) / (relation.fluxes[:, -1] - relation.fluxes[:, 0])
    valid = np.isfinite(gain) & (gain > 0)
    if not valid.any():
        raise ValueError("dataset: the flux calibration found no separation where a companion raises the S/N")
    per_snr = np.where(valid, 1.0 / np.where(valid, gain, 1.0), np.median(1.0 / gain[valid]))
    return lambda r: np.interp(r, separations, per_snr)



# -- negatives -------------------------------------------------------------------------------


def _negatives(noise, frames, counts, settings, rng):
    """Per annulus, ``counts[j]`` negative patches of the flipped-angle ``frames`` (planes of ``noise``)."""
    pixels = np.stack(np.nonzero(noise.mask)[::-1], axis=1).astype(np.int64)  # (x, y), row-major
    annulus = _annulus_index(noise, pixels)
    first, second, mixed = [], [], []
    for j, count in enumerate(counts):
        pool = pixels[annulus == j]
        if count == 0:
            continue
        n_mixed = int(round(settings.mixed_fraction * count)) if len(pool) > 1 else 0
        n_plain = count - n_mixed
        plain = rng.choice(len(pool), size=n_plain, replace=n_plain > len(pool))
        a = rng.integers(0, len(pool), size=n_mixed)
        b = (a + rng.integers(1, max(len(pool), 2), size=n_mixed)) % len(pool)
        first.append(pool[np.concatenate([plain, a])])
        second.append(pool[np.concatenate([plain, b])])
        mixed.append(np.arange(count) >= n_plain)
    if not first:  # every negative was cut near a companion
        first = second = [np.zeros((0, 2), dtype=np.int64)]
        mixed = [np.zeros(0, dtype=bool)]
    first, second, mixed = np.concatenate(first), np.concatenate(second), np.concatenate(mixed)
    patches = extract_patches(frames, first, noise.patch_size)
    if mixed.any():
        others = _augmented_turns(extract_patches(frames, second[mixed], noise.patch_size), settings, rng)
        patches[mixed] = (patches[mixed] + others) / np.float32(np.sqrt(2.0))
    separations, _ = cartesian_to_polar(first[:, 0], first[:, 1], center=noise.center)
    n = len(first)
    return {"x": _augmented_turns(patches, settings, rng), "positions": first,
            "separations": np.asarray(separations, dtype=np.float64), "fluxes": np.zeros(n),
            "snr": np.full(n, np.nan), "y": np.zeros(n, dtype=np.uint8)}



# -- shared helpers -------------------------------------------------------------------------


def _augmented_turns(patches, settings, rng):
    """Each patch turned by a random multiple of 90 degrees (when augmenting with rotations), half of them
    mirrored first (with ``mirrors``)."""
    if not (settings.augment and settings.rotations) or len(patches) == 0:
        return patches
    turns = rng.integers(0, 4, size=len(patches))
    if settings.mirrors:
        mirrored = rng.random(len(patches)) < 0.5
        patches = patches.copy()
        patches[mirrored] = np.swapaxes(patches[mirrored], -2, -1)
    out = patches.copy()
    for k in (1, 2, 3):
        chosen = turns == k
        out[chosen] = np.rot90(patches[chosen], k, axes=(-2, -1))
    return out


def _annulus_index(noise, pixels):
    """The annulus of each ``(x, y)`` pixel (by its centre's radius)."""
    radius = np.hypot(pixels[:, 0] - noise.center[0], pixels[:, 1] - noise.center[1])
    outer = np.array([outer for _, outer in noise.annuli])
    return np.minimum(np.searchsorted(outer, radius, side="right"), len(outer) - 1)
