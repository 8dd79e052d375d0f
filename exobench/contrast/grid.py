"""Contrast grids: detection confidence and completeness over separations x contrasts.

A contrast curve states one contrast per separation; a grid measures what
happens around it. At every separation and contrast of a grid, companions are
injected along ``azimuths`` directions by the throughput's injection-recovery
(:func:`~exobench.contrast.throughput.throughput` with ``rings=True``: the
same execution layer, one task per azimuth, each contrast one call), and each
is tested as a candidate would be in a detection map: the flux of its
1-FWHM aperture in the final frame of the injected cube against the ``n - 1``
other apertures of its ring (the ring of :func:`exobench.detmap.ring_fluxes`,
the companion's own excluded), through the statistic of
:mod:`exobench.contrast.curve`

    T = (x - m) / (s sqrt(1 + 1/(n - 1))).

Its false-positive fraction is ``P(T' > T)`` under the chosen null law
(:func:`~exobench.contrast.statistics.statistic_sf`, ``n - 1`` noise
apertures) and it is *detected* when ``T`` exceeds that law's threshold at
``fpf``. Per cell: the median false-positive fraction and the true-positive
fraction (detected / injected). The *50 % completeness* contrast of a
separation is where the true-positive fraction crosses 1/2, interpolated
linearly in log contrast between the two grid contrasts around the first
crossing (NaN when the grid does not bracket it).
"""

import dataclasses
import json
import math
import numpy as np

from .._validate import as_float_array, check_integer, check_positive
from ._common import check_dataset, finite_or_none, mean_fwhm
from .curve import contrast_unit, resolve_fpf
from .statistics import DEFAULT_DRAWS, check_draws, check_statistic, detection_threshold, statistic_sf

__all__ = ["ContrastGrid", "contrast_grid", "check_grid_separations", "grid_contrasts", "completeness_contrast", "write_grid",
           "check_grid_output", "GRID_FILES"]

#: The files ``write_grid`` writes into its folder.
GRID_FILES = ("grid.json", "grid.png")


@dataclasses.dataclass(frozen=True)
class ContrastGrid:
    """Injections over separations x contrasts, and what a detection test makes of them.

    Attributes
    ----------
    separation_px, separation_fwhm : ndarray, shape ``(s,)``
    contrast : ndarray, shape ``(c,)``
        The grid's contrasts, increasing (:attr:`contrast_unit`).
    thetas : ndarray, shape ``(a,)``
        The injections' polar angles (degrees).
    n_noise : ndarray of int, shape ``(s,)``
        The noise apertures of each test: the ring's apertures but the companion's.
    threshold : ndarray, shape ``(s,)``
        The test's threshold on ``T`` at :attr:`fpf` with ``n_noise`` apertures.
    statistic_value : ndarray, shape ``(s, c, a)``
        ``T`` of each injected companion.
    fpf_value : ndarray, shape ``(s, c, a)``
        Its false-positive fraction (detection confidence ``1 - fpf_value``).
    detected : ndarray of bool, shape ``(s, c, a)``
        ``statistic_value > threshold``.
    median_fpf, tpf : ndarray, shape ``(s, c)``
        Per cell, the median false-positive fraction and the fraction detected.
    completeness_50 : ndarray, shape ``(s,)``
        The contrast detected half of the time (:func:`completeness_contrast`).
    fpf : float
    statistic : str
    contrast_unit : str
    fwhm : float
    """

    separation_px: np.ndarray
    separation_fwhm: np.ndarray
    contrast: np.ndarray
    thetas: np.ndarray
    n_noise: np.ndarray
    threshold: np.ndarray
    statistic_value: np.ndarray
    fpf_value: np.ndarray
    detected: np.ndarray
    median_fpf: np.ndarray
    tpf: np.ndarray
    completeness_50: np.ndarray
    fpf: float
    statistic: str
    contrast_unit: str
    fwhm: float

    def to_dict(self):
        """The grid as plain JSON types (NaN as None)."""
        from .._json import jsonable

        return {key: finite_or_none(value) for key, value in jsonable(self).items()}

    def to_json(self, *, curve=None):
        """JSON text; with ``curve`` (a :class:`~exobench.contrast.curve.ContrastCurve`) under the key ``curve``."""
        data = self.to_dict()
        if curve is not None:
            data["curve"] = curve.to_dict()
        return json.dumps(data, indent=2, allow_nan=False) + "\n"

    def table_text(self):
        """A text table: the true-positive fraction of each cell, and the 50 % completeness contrast."""
        lines = [f"# true-positive fraction at fpf {self.fpf:.3g} ({self.statistic}), {len(self.thetas)} azimuths; "
                 f"contrast relative to the {self.contrast_unit}",
                 f"{'sep_fwhm':>8} " + " ".join(f"{c:9.3g}" for c in self.contrast) + f" {'c50':>10}"]
        for separation, row, c50 in zip(self.separation_fwhm, self.tpf, self.completeness_50):
            lines.append(f"{separation:8.2f} " + " ".join(f"{v:9.2f}" for v in row) + f" {c50:10.4g}")
        return "\n".join(lines) + "\n"


def grid_contrasts(low, high, count):
    """``count`` contrasts spread evenly in log from ``low`` to ``high``.

    >>> grid_contrasts(1e-4, 1e-2, 3).tolist()
    [0.0001, 0.001, 0.01]
    """
    low = float(check_positive(low, "low"))
    high = float(check_positive(high, "high"))
    if high <= low:
        raise ValueError(f"high: expected more than low ({low:g}), got {high:g}")
    return np.geomspace(low, high, check_integer(count, "count", minimum=2))


def completeness_contrast(contrasts, fractions, level=0.5):
    """The contrast at which ``fractions`` (increasing ``contrasts``) first reach ``level``, linear in log contrast.

    NaN when the fractions are already at ``level`` at the lowest contrast or never reach it.

    >>> float(completeness_contrast([1e-4, 1e-3, 1e-2], [0.0, 0.25, 0.75]))
    0.0031622776601683794
    """
    contrasts = np.log10(as_float_array(contrasts, "contrasts"))
    fractions = as_float_array(fractions, "fractions")
    above = np.flatnonzero(fractions >= level)
    if above.size == 0 or above[0] == 0:
        return math.nan
    i = int(above[0])
    weight = (level - fractions[i - 1]) / (fractions[i] - fractions[i - 1])
    return float(10.0 ** (contrasts[i - 1] + weight * (contrasts[i] - contrasts[i - 1])))


def check_grid_separations(dataset, separations):
    """``separations`` (FWHM) as an array, checked: positive, each ring of apertures inside the frame.

    Returns
    -------
    ndarray
    """
    from .throughput import ring_edge

    check_dataset(dataset)
    separations = np.atleast_1d(as_float_array(separations, "separations")).ravel()
    check_positive(separations, "separations")
    outermost = ring_edge(dataset) / mean_fwhm(dataset)
    if np.max(separations) > outermost + 1e-9:
        raise ValueError(f"separations: expected at most {outermost:.3g} FWHM (a ring inside the frame), "
                         f"got {np.max(separations):g}")
    return separations


def contrast_grid(algorithm, dataset, *, contrasts, separations=None, azimuths=6, theta0=0.0, spacing=3.0,
                  inner=1.0, step=1.0, fpf=None, sigma=None, statistic="t", draws=DEFAULT_DRAWS, random_state=0,
                  executor=None, progress=False):
    """Inject companions over separations x contrasts and test each one.

    Parameters
    ----------
    algorithm : exobench.algorithms.Algorithm
    dataset : Dataset
        With a PSF; contrasts are relative to its ``star_flux`` as the curve's
        (:func:`~exobench.contrast.curve.contrast_unit`).
    contrasts : array_like
        Positive; sorted here.
    separations : array_like, optional
        In FWHM (:func:`check_grid_separations`); by default the curve's.
    inner, step : float
        The default separations, in FWHM
        (:func:`~exobench.contrast.throughput.contrast_separations`).
    azimuths : int
        Injections per cell, ``360 / azimuths`` degrees apart from ``theta0``; one task each.
    spacing : float
        Least distance (FWHM) between two companions of one injected cube.
    fpf, sigma : float, optional
        The detection threshold (:func:`~exobench.contrast.curve.resolve_fpf`).
    statistic, draws, random_state
        The test's null law (:mod:`exobench.contrast.statistics`).
    executor : exobench.parallel.Executor, optional
    progress : bool
        A progress bar over the contrasts.

    Returns
    -------
    ContrastGrid
    """
    from ..detmap import snr_of_fluxes
    from .._progress import progress_bar
    from .throughput import contrast_separations, reference_frame, throughput

    check_dataset(dataset)
    fpf = resolve_fpf(fpf, sigma)
    check_statistic(statistic)
    draws = check_draws(draws)
    if dataset.psf is None:
        raise ValueError("dataset: a PSF is needed to inject fake companions, got a dataset without one")
    contrasts = np.sort(np.atleast_1d(as_float_array(contrasts, "contrasts")).ravel())
    if contrasts.size == 0 or not np.all(np.isfinite(contrasts) & (contrasts > 0)):
        raise ValueError(f"contrasts: expected positive contrasts, got {contrasts.tolist()}")
    azimuths = check_integer(azimuths, "azimuths", minimum=1)
    fwhm = mean_fwhm(dataset)
    if separations is None:
        separations_px = contrast_separations(dataset, inner=inner, step=step)
    else:
        separations_px = check_grid_separations(dataset, separations) * fwhm
    if executor is None:
        from ..parallel import Executor

        with Executor(workers=0) as local:
            return contrast_grid(algorithm, dataset, contrasts=contrasts, separations=separations_px / fwhm,
                                 azimuths=azimuths, theta0=theta0, spacing=spacing, fpf=fpf, statistic=statistic,
                                 draws=draws, random_state=random_state, executor=local, progress=progress)
    # a contrast is a flux over the star's, averaged over channels as the curve's (one flux in every channel)
    per_star = float(np.mean(1.0 / np.atleast_1d(np.asarray(dataset.star_flux, dtype=float))))
    reference = reference_frame(algorithm, dataset, executor=executor)
    rings = []
    with progress_bar(len(contrasts), desc="contrast grid", unit="contrast", enabled=progress) as bar:
        for contrast in contrasts:
            measured = throughput(algorithm, dataset, separations=separations_px, fluxes=contrast / per_star,
                                  branches=azimuths, theta0=theta0, spacing=spacing, step=step,
                                  reference=reference, executor=executor, rings=True)
            rings.append(measured.rings)
            thetas = measured.thetas
            bar.update(1)
    # (s, c, a): T of each companion against its ring's other apertures
    values = np.array([[[snr_of_fluxes(rings[c][a][s]) for a in range(azimuths)] for c in range(len(contrasts))]
                       for s in range(len(separations_px))], dtype=float)
    n_noise = np.array([rings[0][0][s].size - 1 for s in range(len(separations_px))], dtype=int)
    threshold, _ = detection_threshold(n_noise, fpf, statistic=statistic, draws=draws, random_state=random_state)
    fpf_value = statistic_sf(values, n_noise[:, None, None], statistic=statistic, draws=draws,
                             random_state=random_state)
    detected = values > threshold[:, None, None]
    tpf = detected.mean(axis=2)
    completeness = np.array([completeness_contrast(contrasts, row) for row in tpf])
    return ContrastGrid(separation_px=separations_px, separation_fwhm=separations_px / fwhm, contrast=contrasts,
                        thetas=np.asarray(thetas), n_noise=n_noise, threshold=np.asarray(threshold, dtype=float),
                        statistic_value=values, fpf_value=np.asarray(fpf_value, dtype=float), detected=detected,
                        median_fpf=np.median(fpf_value, axis=2), tpf=tpf, completeness_50=completeness, fpf=fpf,
                        statistic=statistic, contrast_unit=contrast_unit(dataset), fwhm=fwhm)


def check_grid_output(output, *, overwrite=False):
    """Check, before any work, that ``grid.json`` and ``grid.png`` can be written into ``output``.

    Returns
    -------
    pathlib.Path
    """
    from .._atomic import check_new_folder

    return check_new_folder(output, overwrite=overwrite)


def write_grid(grid, output, *, curve=None, overwrite=False, title=None):
    """Write ``grid.json`` (with ``curve`` under ``curve`` when given) and ``grid.png`` into ``output``, atomically.

    Returns
    -------
    list of pathlib.Path
    """
    from ._common import write_json_and_png
    from .plot import plot_grid

    return write_json_and_png(output, GRID_FILES, grid.to_json(curve=curve),
                              lambda path: plot_grid(grid, path, curve=curve, title=title), overwrite=overwrite)
