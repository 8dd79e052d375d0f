"""Drawing the companions of a dataset: how many, where, how bright (in S/N)."""

import dataclasses

import numpy as np

__all__ = ["Companion", "draw_companions", "spectrum_for"]

#: Attempts at placing one companion at its spacing before giving up on the dataset's draw.
_PLACEMENT_TRIES = 1000


@dataclasses.dataclass(frozen=True)
class Companion:
    """One companion to inject: separation (px), angle (deg, final frame), target S/N band."""

    separation: float
    theta: float
    snr_band: tuple
    target_snr: float


def draw_companions(recipe, *, fwhm, frame_size, rng):
    """Draw a dataset's companions following an injection recipe.

    The number is uniform in ``recipe.companions`` (inclusive); each separation
    comes from a band chosen with equal odds (uniform within it, capped
    ``edge_margin_fwhm`` inside the inscribed circle), each angle is uniform in
    [0, 360), companions keep ``min_spacing_fwhm`` apart (re-drawn until they
    do), and the S/N bands alternate companion by companion, starting with a
    random one; the target S/N is uniform within the band.

    Returns
    -------
    list of Companion
    """
    low, high = recipe.companions
    count = int(rng.integers(low, high + 1))
    room = ((frame_size - 1) / 2) / fwhm - recipe.edge_margin_fwhm
    bands = [(a, min(b, room)) for a, b in recipe.separation_bands_fwhm if a < room]
    if count and not bands:
        raise ValueError(f"injection: no separation band fits a frame of {frame_size} px at FWHM {fwhm:.2f} px")
    first = int(rng.integers(len(recipe.snr_bands)))
    placed = []
    for i in range(count):
        for _ in range(_PLACEMENT_TRIES):
            lo, hi = bands[int(rng.integers(len(bands)))]
            separation = rng.uniform(lo, hi) * fwhm
            theta = rng.uniform(0.0, 360.0)
            if all(_distance(separation, theta, c.separation, c.theta) >= recipe.min_spacing_fwhm * fwhm
                   for c in placed):
                break
        else:
            raise ValueError(f"injection: could not place {count} companions {recipe.min_spacing_fwhm:g} FWHM "
                             f"apart in {_PLACEMENT_TRIES} tries")
        band = tuple(recipe.snr_bands[(first + i) % len(recipe.snr_bands)])
        placed.append(Companion(float(separation), float(theta), band, float(rng.uniform(*band))))
    return placed


def _distance(r1, t1, r2, t2):
    a1, a2 = np.radians(t1), np.radians(t2)
    return float(np.hypot(r1 * np.cos(a1) - r2 * np.cos(a2), r1 * np.sin(a1) - r2 * np.sin(a2)))


def spectrum_for(recipe, wavelengths, rng):
    """A companion's relative spectrum over the channels, mean 1 (flat, or one of
    the recipe's template files drawn at random, interpolated onto the channels).

    A template file holds two columns, wavelength (microns) and flux, as text
    (CSV or whitespace-separated, ``#`` comments).
    """
    wavelengths = np.asarray(wavelengths, dtype=float)
    if recipe.spectra == "flat":
        return np.ones(len(wavelengths))
    path = recipe.spectra[int(rng.integers(len(recipe.spectra)))]
    table = _read_spectrum(path)
    if wavelengths.min() < table[0, 0] or wavelengths.max() > table[-1, 0]:
        raise ValueError(f"injection.spectra: {path} covers {table[0, 0]:g}-{table[-1, 0]:g} um, not the "
                         f"channels' {wavelengths.min():g}-{wavelengths.max():g} um")
    values = np.interp(wavelengths, table[:, 0], table[:, 1])
    if np.any(values < 0) or values.mean() <= 0:
        raise ValueError(f"injection.spectra: {path}: expected non-negative fluxes")
    return values / values.mean()


def _read_spectrum(path):
    try:
        table = np.loadtxt(path, delimiter="," if str(path).endswith(".csv") else None, comments="#", ndmin=2)
    except ValueError as exc:
        raise ValueError(f"injection.spectra: {path}: expected two numeric columns ({exc})") from None
    if table.ndim != 2 or table.shape[1] != 2 or len(table) < 2:
        raise ValueError(f"injection.spectra: {path}: expected two columns (wavelength_um, flux) and 2+ rows")
    return table[np.argsort(table[:, 0])]
