"""Loading a source into a dataset ready for injection: read, fetch or simulate it,
drop bad frames, put the star on the central pixel, crop."""

import numpy as np

from ..data import Dataset
from ..geometry import frame_center, shift_frames
from .definition import crop_size

__all__ = ["load_source", "prepare", "locate_real_source", "real_source_files", "star_window",
           "REAL_DATA_TIMEOUT"]

#: Seconds a server may stay silent while a build fetches a real dataset: offline, a build
#: learns it quickly and skips an optional source.
REAL_DATA_TIMEOUT = 10.0


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

    if src.kind == "real":
        files, (y0, x0, size) = real_source_files(src)
        dataset = load_dataset(files.pop("cube"), files.pop("angles"), instrument=src.instrument, **files)
        # contiguous, as a cube read from a file of that size: the same sums, the same bytes
        cube = np.ascontiguousarray(dataset.cube[..., y0:y0 + size, x0:x0 + size])
        return dataset.replace(cube=cube)
    files = dict(src.spec["files"])
    return load_dataset(files.pop("cube"), files.pop("angles"), instrument=src.instrument, **files)


def locate_real_source(src):
    """Where the files of a ``real`` source are (:func:`exobench.data.registry.locate_real_dataset`,
    with the source's fallback folder and a short timeout).

    Raises
    ------
    FileNotFoundError
        Found nowhere and not downloaded (one line: what was tried, how to get the data).
    """
    from ..data.registry import locate_real_dataset

    return locate_real_dataset(src.spec["real"], fallback=src.spec["fallback"], timeout=REAL_DATA_TIMEOUT)


def real_source_files(src):
    """The :func:`~exobench.data.load_dataset` arguments of a ``real`` source and the window
    ``(y0, x0, size)`` of its crop centred on the star, the cube's header read (not its data).

    Raises
    ------
    FileNotFoundError
        As :func:`locate_real_source`.
    ValueError
        The source's ``frame_size`` does not fit around the star.
    """
    from astropy.io import fits

    located = locate_real_source(src)
    files = {role: str(path) for role, path in located.paths.items()}
    with fits.open(files["cube"], memmap=True) as hdul:
        header = next((h.header for h in hdul if h.header.get("NAXIS", 0) > 0), hdul[0].header)
    shape = (header.get("NAXIS2", 0), header.get("NAXIS1", 0))
    window = star_window(located.star, shape, src.spec["frame_size"],
                         where=f"frame_size ({located.paths['cube'].name} from {located.origin})")
    return {**located.entry.numbers, **files}, window


def star_window(star, shape, size=None, *, where="frame_size"):
    """The window ``(y0, x0, size)`` of a ``size`` x ``size`` crop whose centre pixel
    (``size // 2``, :func:`~exobench.geometry.frame_center`) is the star's pixel.

    Parameters
    ----------
    star : tuple of int
        The star's (x, y) pixel.
    shape : tuple of int
        The frames' (ny, nx).
    size : int, optional
        Default: the largest such crop inside the frames.

    Examples
    --------
    >>> star_window((51, 51), (101, 101))
    (2, 2, 99)
    >>> star_window((51, 51), (101, 101), 61)
    (21, 21, 61)
    """
    x, y = star
    ny, nx = shape
    largest = 2 * min(x, y, nx - 1 - x, ny - 1 - y) + 1
    size = largest if size is None else size
    y0, x0 = y - size // 2, x - size // 2
    if size < 1 or min(y0, x0) < 0 or y0 + size > ny or x0 + size > nx:
        raise ValueError(f"{where}: expected a size that fits around the star at (x, y) = {tuple(star)} in "
                         f"{nx} x {ny} frames (at most {largest}), got {size}")
    return y0, x0, size


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
    # a star flux measured on the PSF stays measured (not declared), so that no starflux file is published for it
    star_flux = dataset.star_flux if dataset.is_given("star_flux") else None
    return Dataset(cube, angles, psf=dataset.psf, pxscale=dataset.pxscale, fwhm=dataset.fwhm,
                   wavelengths=dataset.wavelengths, instrument=dataset.instrument, dataset_id=dataset.dataset_id,
                   star_flux=star_flux)


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
