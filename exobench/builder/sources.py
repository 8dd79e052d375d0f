"""Loading a source into a dataset ready for injection: read or simulate it,
drop bad frames, put the star on the central pixel, crop."""

import numpy as np

from ..data import Dataset
from ..geometry import frame_center, shift_frames
from .definition import crop_size

__all__ = ["load_source", "prepare"]


def load_source(src, *, seed):
    """The raw dataset of a source (simulated with ``seed`` unless it names its own)."""
    if src.kind == "simulate":
        from ..simulate import simulate

        spec = src.spec
        sim = simulate(spec["profile"], seed=int(spec.get("seed", seed)), frames=spec.get("frames"),
                       frame_size=spec.get("frame_size"), overrides=spec.get("overrides"))
        return sim.dataset.replace(instrument=src.instrument)
    if src.kind == "folder":
        from ..data.fits_io import read_dataset

        return read_dataset(src.spec["folder"], src.instrument, str(src.spec["dataset"]))
    from ..data.fits_io import load_dataset

    files = dict(src.spec["files"])
    return load_dataset(files.pop("cube"), files.pop("angles"), instrument=src.instrument, **files)


def prepare(dataset, src, *, crop_lod=None):
    """Drop the source's bad frames, recentre the star on pixel ``n // 2``, crop.

    The result carries no metadata of its source (nothing of it reaches the
    public files) and keeps the cube's dtype.
    """
    cube, angles = np.asarray(dataset.cube), np.asarray(dataset.angles)
    if src.bad_frames:
        n_frames = cube.shape[-3]
        bad = [i for i in src.bad_frames if i >= n_frames]
        if bad:
            raise ValueError(f"{src.label}: bad_frames: frame {bad[0]} does not exist ({n_frames} frames)")
        keep = np.setdiff1d(np.arange(n_frames), src.bad_frames)
        cube, angles = cube[..., keep, :, :], angles[keep]
    if src.center is not None:
        cube = _recentered(cube, src.center, src.label)
    if crop_lod is not None:
        size = crop_size(cube.shape[-1], crop_lod, float(np.mean(dataset.fwhm)))
        cube = _crop(cube, size)
    return Dataset(cube, angles, psf=dataset.psf, pxscale=dataset.pxscale, fwhm=dataset.fwhm,
                   wavelengths=dataset.wavelengths, instrument=dataset.instrument, dataset_id=dataset.dataset_id,
                   star_flux=dataset.star_flux)


def _recentered(cube, center, label):
    if center == "measure":
        center = measure_center(cube)
    xc, yc = frame_center(cube.shape)
    dx, dy = xc - float(center[0]), yc - float(center[1])
    if abs(dx) < 1e-9 and abs(dy) < 1e-9:
        return cube
    limit = cube.shape[-1] / 4
    if max(abs(dx), abs(dy)) > limit:
        raise ValueError(f"{label}: center: the star at {tuple(center)} is more than {limit:g} px from the frame centre")
    flat = cube.reshape(-1, *cube.shape[-2:]).astype(np.float64)
    shifted = shift_frames(flat, dx, dy, method="fft")
    return shifted.reshape(cube.shape).astype(cube.dtype)


def measure_center(cube):
    """The star's (x, y) from a Gaussian fit of the time-mean (and channel-mean) frame's core.

    Adequate for a saturated or coronagraphic star only when its light is
    symmetric; give the centre in the definition otherwise.
    """
    from ..psf import fit_gaussian

    frame = np.asarray(cube, dtype=np.float64).reshape(-1, *cube.shape[-2:]).mean(axis=0)
    fit = fit_gaussian(frame, box=min(21, frame.shape[-1] - (1 - frame.shape[-1] % 2)))
    return fit.x, fit.y


def _crop(cube, size):
    n = cube.shape[-1]
    if size >= n:
        return cube
    c = n // 2
    lo = c - size // 2
    return cube[..., lo:lo + size, lo:lo + size]
