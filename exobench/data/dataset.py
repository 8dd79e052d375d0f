"""The dataset model: one high-contrast imaging observation, validated on construction."""

import dataclasses
import re
import warnings

import numpy as np

from .. import ExobenchWarning
from .._validate import as_float_array, check_finite, check_ndim, check_positive
from ..geometry import frame_center

__all__ = ["Dataset"]

#: PSFs whose fitted centre is farther than this (px) from the central pixel are recentred.
PSF_CENTER_TOLERANCE = 0.2

_INSTRUMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_]*$")
_DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """An ADI or ADI+mSDI observation with everything an algorithm needs.

    Parameters
    ----------
    cube : array_like
        ``(t, y, x)`` for ADI or ``(lambda, t, y, x)`` for ADI+mSDI. The star
        sits on the frame centre (pixel ``n // 2`` of each axis).
    angles : array_like, shape ``(t,)``
        Derotation angles in degrees: rotating frame ``i`` counter-clockwise by
        ``angles[i]`` aligns it with the final (sky) frame.
    psf : array_like, shape ``(y, x)`` or ``(lambda, y, x)``, optional
        Off-axis PSF, odd-sized, peak on the central pixel, not normalised (its
        flux gives the star's flux, see :attr:`star_flux`).
    pxscale : float, optional
        Pixel scale in arcsec per pixel.
    fwhm : float or array_like of shape ``(lambda,)``, optional
        FWHM in pixels; fitted on the PSF when not given.
    wavelengths : array_like, shape ``(lambda,)``, optional
        Channel wavelengths in microns; required for 4D cubes.
    instrument : str
        Instrument name, used in EIDC file names (letters, digits, ``.``, ``-``, ``_``).
    dataset_id : str or int
        Identifier of the dataset within its instrument (the ``k`` of EIDC names).
    star_flux : float or array_like, optional
        The star's flux in a 1-FWHM-diameter aperture, in cube units (per
        channel for 4D); by default the PSF's flux in that aperture.
    meta : dict, optional
        Free metadata (kept by the FITS and HDF5 writers when JSON-serialisable).
    recenter_psf : bool
        What to do with an even-sized or off-centre PSF: recentre it to an odd
        stamp on its fitted centre (with a warning saying so) or refuse it.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y, x = np.mgrid[:15, :15]
    >>> psf = np.exp(-((x - 7) ** 2 + (y - 7) ** 2) / 4.0)
    >>> ds = Dataset(rng.normal(size=(10, 31, 31)), np.linspace(0, 45, 10), psf=psf,
    ...              pxscale=0.027, instrument="naco", dataset_id=1)
    >>> ds.n_frames, ds.frame_shape, ds.center, round(ds.fwhm, 2)
    (10, (31, 31), (15.0, 15.0), 3.33)
    """

    cube: np.ndarray
    angles: np.ndarray
    psf: np.ndarray | None = None
    pxscale: float | None = None
    fwhm: float | np.ndarray | None = None
    wavelengths: np.ndarray | None = None
    instrument: str = "unknown"
    dataset_id: str = "1"
    star_flux: float | np.ndarray | None = None
    meta: dict = dataclasses.field(default_factory=dict)
    recenter_psf: bool = True

    def __post_init__(self):
        given = {name for name in ("fwhm", "star_flux") if getattr(self, name) is not None}
        self._set("_given", frozenset(given))
        cube = as_float_array(self.cube, "cube")
        check_ndim(cube, "cube", (3, 4), what="(t, y, x) or (lambda, t, y, x)")
        self._set("cube", cube)
        self._validate_frames()
        self._set("angles", self._validated_angles())
        self._set("wavelengths", self._validated_wavelengths())
        self._set("psf", self._validated_psf())
        self._set("fwhm", self._validated_fwhm())
        self._set("star_flux", self._validated_star_flux())
        if self.pxscale is not None:
            self._set("pxscale", _scalar(self.pxscale, "pxscale"))
        self._set("instrument", _checked_name(self.instrument, "instrument", _INSTRUMENT_NAME,
                                              "letters, digits, '.', '-' or '_'"))
        self._set("dataset_id", _checked_name(self.dataset_id, "dataset_id", _DATASET_ID,
                                              "letters, digits, '.' or '-' (no '_')"))
        self._set("meta", dict(self.meta))

    # -- validation ----------------------------------------------------------------------

    def _set(self, name, value):
        object.__setattr__(self, name, value)

    def _validate_frames(self):
        frames = self.cube.reshape(-1, *self.cube.shape[-2:])
        empty = np.flatnonzero(np.all(np.isnan(frames), axis=(1, 2)))
        if empty.size:
            index = [tuple(int(i) for i in np.unravel_index(k, self.cube.shape[:-2])) for k in empty[:5]]
            raise ValueError(
                f"cube: expected no frame made only of NaN, got {empty.size} such frame(s), "
                f"first at index {index}"
            )

    def _validated_angles(self):
        angles = as_float_array(self.angles, "angles")
        if angles.ndim == 2 and 1 in angles.shape:  # real-world (t, 1) files
            angles = angles.ravel()
        check_ndim(angles, "angles", 1, what="of derotation angles (t,)")
        check_finite(angles, "angles")
        if angles.size != self.n_frames:
            raise ValueError(
                f"angles: expected {self.n_frames} angles (one per frame of the cube), got {angles.size}"
            )
        return angles.astype(np.float64)

    def _validated_wavelengths(self):
        if self.wavelengths is None:
            if self.is_4d:
                raise ValueError("wavelengths: required for a 4D (lambda, t, y, x) cube, got None")
            return None
        wavelengths = as_float_array(self.wavelengths, "wavelengths").ravel()
        check_positive(wavelengths, "wavelengths")
        if wavelengths.size != self.n_channels:
            raise ValueError(
                f"wavelengths: expected {self.n_channels} values (one per channel), got {wavelengths.size}"
            )
        return wavelengths.astype(np.float64)

    def _validated_psf(self):
        if self.psf is None:
            if self.fwhm is None:
                raise ValueError("psf: a PSF or a fwhm is required, got neither")
            return None
        psf = as_float_array(self.psf, "psf")
        expected = (2,) if not self.is_4d else (2, 3)
        check_ndim(psf, "psf", expected, what="(y, x) or (lambda, y, x)" if self.is_4d else "(y, x)")
        if psf.ndim == 3 and psf.shape[0] != self.n_channels:
            raise ValueError(
                f"psf: expected {self.n_channels} channels like the cube, got {psf.shape[0]}"
            )
        if psf.ndim == 2 and self.is_4d:
            psf = np.repeat(psf[None], self.n_channels, axis=0)
        check_finite(psf, "psf")
        problem = _psf_problem(psf)
        if problem is None:
            return psf
        if not self.recenter_psf:
            raise ValueError(f"psf: {problem}; expected an odd-sized PSF centred on its central "
                             f"pixel (pass recenter_psf=True to recenter it)")
        from ..psf import crop_psf

        size = min(psf.shape[-2:])
        size -= 1 - size % 2
        size = min(size, 2 * min(_peak_margins(psf)) + 1)
        warnings.warn(
            f"psf: {problem}; recentred to an odd {size}x{size} stamp on its fitted centre",
            ExobenchWarning,
            stacklevel=4,
        )
        return crop_psf(psf, size, recenter=True)

    def _validated_fwhm(self):
        if self.fwhm is None:
            from ..psf import fit_fwhm

            return fit_fwhm(self.psf)
        fwhm = as_float_array(self.fwhm, "fwhm")
        check_positive(fwhm, "fwhm")
        if fwhm.size == 1:
            return float(fwhm.ravel()[0]) if not self.is_4d else np.full(self.n_channels, float(fwhm.ravel()[0]))
        if not self.is_4d or fwhm.size != self.n_channels:
            raise ValueError(
                f"fwhm: expected one value{' or one per channel (%d)' % self.n_channels if self.is_4d else ''}, "
                f"got {fwhm.size}"
            )
        return fwhm.ravel().astype(np.float64)

    def _validated_star_flux(self):
        if self.star_flux is not None:
            flux = np.ravel(check_positive(self.star_flux, "star_flux")).astype(float)
            if not self.is_4d:
                return _scalar(flux, "star_flux")
            if flux.size not in (1, self.n_channels):
                raise ValueError(
                    f"star_flux: expected one value or one per channel ({self.n_channels}), got {flux.size}"
                )
            return np.broadcast_to(flux, (self.n_channels,)).copy()
        if self.psf is None:
            return None
        from ..psf import psf_flux

        return psf_flux(self.psf, self.fwhm)

    # -- derived properties ----------------------------------------------------------------

    @property
    def is_4d(self):
        """True for an ADI+mSDI cube ``(lambda, t, y, x)``."""
        return self.cube.ndim == 4

    @property
    def n_channels(self):
        """Number of wavelength channels (1 for ADI)."""
        return self.cube.shape[0] if self.is_4d else 1

    @property
    def n_frames(self):
        """Number of frames (time steps)."""
        return self.cube.shape[-3]

    @property
    def frame_shape(self):
        """``(ny, nx)`` of a frame."""
        return tuple(int(n) for n in self.cube.shape[-2:])

    @property
    def center(self):
        """``(x, y)`` of the star: the frame centre."""
        return frame_center(self.cube.shape)

    @property
    def field_rotation(self):
        """Total field rotation in degrees (max - min of the angles)."""
        return float(np.ptp(self.angles))

    @property
    def normalized_psf(self):
        """The PSF scaled to unit flux in a 1-FWHM-diameter aperture (per channel)."""
        if self.psf is None:
            raise ValueError("psf: this dataset has no PSF")
        from ..psf import normalize_psf

        return normalize_psf(self.psf, self.fwhm)

    def replace(self, **changes):
        """A new, validated dataset with some fields changed (the original is untouched).

        Values that were derived rather than given (the FWHM fitted on the PSF, the
        star's flux measured on it) are derived again when what they came from changes.
        """
        cleared = {name for name, value in changes.items() if value is None}
        given = (set(self._given) - cleared) | {name for name in ("fwhm", "star_flux")
                                                if changes.get(name) is not None}
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        stale = set()
        if "psf" in changes:
            stale |= {"fwhm", "star_flux"} - given
        if "fwhm" in changes:
            stale |= {"star_flux"} - given
        stale |= cleared & {"fwhm", "star_flux"}
        fields.update({name: None for name in stale})
        fields.update(changes)
        new = type(self)(**fields)
        object.__setattr__(new, "_given", frozenset(given - stale))
        return new

    def is_given(self, name):
        """Whether ``name`` (``"fwhm"`` or ``"star_flux"``) was given rather than derived from the PSF."""
        return name in self._given

    def summary(self):
        """A dict of the dataset's main facts (what ``exobench inspect`` prints)."""
        fwhm = np.atleast_1d(self.fwhm)
        nan_fraction = float(np.count_nonzero(np.isnan(self.cube)) / self.cube.size)
        facts = {
            "instrument": self.instrument,
            "dataset_id": self.dataset_id,
            "kind": "ADI+mSDI (lambda, t, y, x)" if self.is_4d else "ADI (t, y, x)",
            "cube_shape": tuple(int(n) for n in self.cube.shape),
            "dtype": str(self.cube.dtype),
            "frames": self.n_frames,
            "channels": self.n_channels,
            "center_xy": self.center,
            "angles_deg": (float(self.angles.min()), float(self.angles.max())),
            "field_rotation_deg": self.field_rotation,
            "fwhm_px": (float(fwhm.min()), float(fwhm.max())),
            "pxscale_arcsec": self.pxscale,
            "psf_shape": None if self.psf is None else tuple(int(n) for n in self.psf.shape),
            "nan_fraction": nan_fraction,
        }
        if self.wavelengths is not None:
            facts["wavelengths_um"] = (float(self.wavelengths.min()), float(self.wavelengths.max()))
        return facts

    def __repr__(self):
        return (
            f"Dataset(instrument={self.instrument!r}, dataset_id={self.dataset_id!r}, "
            f"cube={self.cube.shape}, frames={self.n_frames}, channels={self.n_channels})"
        )


def _checked_name(value, name, pattern, allowed):
    text = str(value)
    if not pattern.match(text):
        raise ValueError(f"{name}: expected {allowed} (it is used in file names), got {text!r}")
    return text


def _scalar(value, name):
    """One positive number as a float, from a scalar or a one-element array (FITS scalar files)."""
    array = np.ravel(np.asarray(value, dtype=float))
    if array.size != 1:
        raise ValueError(f"{name}: expected a single value, got {array.size}")
    return float(check_positive(array[0], name))


def _peak_margins(psf):
    stack = psf.reshape(-1, *psf.shape[-2:])
    margins = []
    for channel in stack:
        y, x = np.unravel_index(np.argmax(channel), channel.shape)
        margins.append(min(x, y, channel.shape[1] - 1 - x, channel.shape[0] - 1 - y))
    return margins


def _psf_problem(psf):
    """Why a PSF is not an odd, centred stamp (None when it is)."""
    ny, nx = psf.shape[-2:]
    if ny % 2 == 0 or nx % 2 == 0:
        return f"even-sized ({ny}, {nx})"
    from ..psf import fit_gaussian_cached

    xc, yc = frame_center(psf.shape)
    for index, channel in enumerate(psf.reshape(-1, ny, nx)):
        fit = fit_gaussian_cached(channel)
        offset = float(np.hypot(fit.x - xc, fit.y - yc))
        if offset > PSF_CENTER_TOLERANCE:
            where = f" (channel {index})" if psf.ndim == 3 else ""
            return f"off-centre by {offset:.2f} px{where}"
    return None
