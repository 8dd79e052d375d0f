"""Tests of exobench.scoring.sweep (and its engine, exobench.scoring.basins): the one-pass threshold sweep.

The sweep is checked at *every* threshold against two references on random small
maps (hypothesis): :func:`count_detections` itself, and a brute-force counting
written here independently (``scipy.ndimage.label`` at each threshold, explicit
disks and greedy matching), which also attributes counts to separation bands.
"""

import math
import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from exobench.scoring import count_detections, roc_by_separation, sweep_counts
from exobench.scoring.metrics import UndefinedMetricWarning

PROPERTY = settings(max_examples=50, deadline=None)

# --------------------------------------------------------------------------- random maps


def random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction):
    """A small map: correlated noise, a few bumps (mostly on the injections), some NaN."""
    rng = np.random.default_rng(seed)
    detmap = ndimage.gaussian_filter(rng.normal(size=(ny, nx)), 0.8)
    yy, xx = np.indices((ny, nx))
    positions = np.column_stack([rng.uniform(-0.5, nx - 0.5, n_inj), rng.uniform(-0.5, ny - 0.5, n_inj)])
    sigma = fwhm / 2.3548
    bumps = list(positions[rng.random(n_inj) < 0.8]) + [rng.uniform(0, [nx, ny]) for _ in range(rng.integers(0, 3))]
    for x, y in bumps:
        detmap += rng.uniform(0.5, 4.0) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    if quantum:  # plateaus: many pixels share a level
        detmap = np.round(detmap / quantum) * quantum
    if nan_fraction:
        detmap[rng.random((ny, nx)) < nan_fraction] = np.nan
    return detmap, positions


case_args = dict(
    seed=st.integers(0, 2**32 - 1),
    ny=st.integers(4, 20),
    nx=st.integers(4, 20),
    n_inj=st.integers(0, 4),
    fwhm=st.floats(0.6, 4.0),
    quantum=st.sampled_from([0.0, 0.25, 0.5]),
    nan_fraction=st.sampled_from([0.0, 0.0, 0.1]),
)
option_args = dict(
    npix=st.integers(1, 3),
    overlap=st.sampled_from([0.3, 0.5, 0.7, 1.0]),
    max_fact=st.sampled_from([0.5, 1.0, 2.0, 4.0]),
    inner=st.sampled_from([None, 0.0, 2.5]),
)


def finite(threshold, detmap):
    """count_detections takes finite thresholds: -inf means 'below every finite value'."""
    if np.isfinite(threshold):
        return threshold
    finite_values = detmap[np.isfinite(detmap)]
    return (finite_values.min() - 1.0) if finite_values.size else 0.0


# --------------------------------------------------------------------------- brute-force reference


def brute_counts(detmap, threshold, positions, fwhm, npix, overlap, max_fact, inner, bands=None):
    """Counting at one threshold, written independently: per band when ``bands`` (in FWHM) is given.

    Returns a list of (tp, fp, fn, tn) tuples: one per band, or one for the whole map.
    """
    ny, nx = detmap.shape
    with np.errstate(invalid="ignore"):
        mask = detmap > threshold
    labels, n = ndimage.label(mask)  # default structure: 4-connectivity
    k = int(math.ceil(fwhm)) + 1
    elem = sum(1 for dy in range(-k, k + 1) for dx in range(-k, k + 1) if dx * dx + dy * dy < fwhm * fwhm)
    yy, xx = np.indices((ny, nx))
    xc, yc = nx // 2, ny // 2
    disks = [(yy - y) ** 2 + (xx - x) ** 2 < fwhm**2 for x, y in positions]
    blobs = []  # (label, area, huge, centroid distance)
    pairs = []
    for label in range(1, n + 1):
        blob = labels == label
        area = int(blob.sum())
        if area < npix:
            continue
        cx, cy = xx[blob].sum() / area, yy[blob].sum() / area
        huge = area > max_fact * elem
        blobs.append((label, area, huge, np.sqrt((cx - xc) ** 2 + (cy - yc) ** 2)))
        if huge:
            continue
        for j, disk in enumerate(disks):
            small = min(area, int(disk.sum()))
            ratio = int((blob & disk).sum()) / small if small else 0.0
            if ratio > overlap:
                pairs.append((-ratio, label, j))
    matched_blob, matched_inj = set(), set()
    for _, label, j in sorted(pairs):
        if label not in matched_blob and j not in matched_inj:
            matched_blob.add(label)
            matched_inj.add(j)
    r_pix = np.sqrt((xx - xc) ** 2 + (yy - yc) ** 2)
    annulus = (xx - xc) ** 2 + (yy - yc) ** 2 >= (fwhm if inner is None else inner) ** 2
    r_inj = [np.sqrt((x - xc) ** 2 + (y - yc) ** 2) for x, y in positions]
    out = []
    for lo, hi in bands or [(0.0, np.inf)]:
        def inside(r):
            return True if bands is None else (r >= lo * fwhm) and (r < hi * fwhm)

        fps = 0.0
        for label, area, huge, r in blobs:
            if not inside(r):
                continue
            if huge:
                fps += area / elem
            elif label not in matched_blob:
                fps += 1
        fp = round(fps)
        injections = [j for j in range(len(positions)) if inside(r_inj[j])]
        tp = sum(1 for j in injections if j in matched_inj)
        in_band = annulus if bands is None else annulus & (r_pix >= lo * fwhm) & (r_pix < hi * fwhm)
        n_elements = int(in_band.sum()) // elem
        out.append((tp, fp, len(injections) - tp, max(n_elements - len(injections) - fp, 0)))
    return out


def rows(s):
    return list(zip(s.tp.tolist(), s.fp.tolist(), s.fn.tolist(), s.tn.tolist()))


# --------------------------------------------------------------------------- the sweep equals the counting


@PROPERTY
@given(**case_args, **option_args)
def test_sweep_equals_count_detections_at_every_level(
    seed, ny, nx, n_inj, fwhm, quantum, nan_fraction, npix, overlap, max_fact, inner
):
    detmap, positions = random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction)
    options = dict(npix=npix, overlap_threshold=overlap, max_blob_fact=max_fact, inner_radius=inner)
    s = sweep_counts(detmap, positions, fwhm, **options)
    levels = np.unique(detmap[~np.isnan(detmap)])[::-1]
    assert s.complete
    assert s.thresholds.tolist() == levels.tolist() + [-np.inf]
    for t, got in zip(s.thresholds, rows(s)):
        c = count_detections(detmap, finite(t, detmap), positions, fwhm, **options)
        assert got == (c.tp, c.fp, c.fn, c.tn), f"threshold {t}"
        assert (s.n_injections, s.n_elements, s.element_area) == (c.n_injections, c.n_elements, c.element_area)


@PROPERTY
@given(**case_args, **option_args)
def test_sweep_equals_brute_force_at_every_level(
    seed, ny, nx, n_inj, fwhm, quantum, nan_fraction, npix, overlap, max_fact, inner
):
    detmap, positions = random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction)
    s = sweep_counts(detmap, positions, fwhm, npix=npix, overlap_threshold=overlap, max_blob_fact=max_fact,
                     inner_radius=inner)
    for t, got in zip(s.thresholds, rows(s)):
        assert [got] == brute_counts(detmap, t, positions, fwhm, npix, overlap, max_fact, inner), f"threshold {t}"


@settings(max_examples=25, deadline=None)
@given(**case_args, **option_args, band_edge=st.sampled_from([0.5, 1.0, 2.0]))
def test_bands_equal_brute_force(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction, npix, overlap, max_fact, inner,
                                 band_edge):
    detmap, positions = random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction)
    bands = ((0.0, band_edge), (band_edge, np.inf), (0.5, 2.5))  # overlapping bands are counted on their own
    options = dict(npix=npix, overlap_threshold=overlap, max_blob_fact=max_fact, inner_radius=inner)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        curves = roc_by_separation([detmap], [positions], fwhm, bands=bands, **options)
    assert list(curves) == list(bands)
    for t in curves[bands[0]].thresholds:
        expected = brute_counts(detmap, t, positions, fwhm, npix, overlap, max_fact, inner, bands=bands)
        for band, want in zip(bands, expected):
            c = curves[band]
            i = c.index(t)
            assert (c.tp[i], c.fp[i], c.fn[i], c.tn[i]) == want, f"band {band}, threshold {t}"


@settings(max_examples=25, deadline=None)
@given(**case_args, **option_args)
def test_one_band_over_the_whole_map_equals_count_detections(
    seed, ny, nx, n_inj, fwhm, quantum, nan_fraction, npix, overlap, max_fact, inner
):
    """A single band covering everything (the band bookkeeping) counts as count_detections at every level."""
    detmap, positions = random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction)
    options = dict(npix=npix, overlap_threshold=overlap, max_blob_fact=max_fact, inner_radius=inner)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        (band,) = roc_by_separation([detmap], [positions], fwhm, bands=((0, np.inf),), **options).values()
    levels = np.unique(detmap[~np.isnan(detmap)])[::-1]
    assert band.thresholds.tolist() == levels.tolist() + [-np.inf]
    for i, t in enumerate(band.thresholds):
        c = count_detections(detmap, finite(t, detmap), positions, fwhm, **options)
        assert (band.tp[i], band.fp[i], band.fn[i], band.tn[i]) == (c.tp, c.fp, c.fn, c.tn), f"threshold {t}"


@settings(max_examples=25, deadline=None)
@given(**case_args, grid_seed=st.integers(0, 2**32 - 1))
def test_given_grid_equals_count_detections(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction, grid_seed):
    detmap, positions = random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction)
    rng = np.random.default_rng(grid_seed)
    grid = np.concatenate([rng.uniform(-3, 5, 12), rng.choice(detmap.ravel(), 4), [np.inf, -np.inf, 0.0]])
    grid = grid[~np.isnan(grid)]
    s = sweep_counts(detmap, positions, fwhm, thresholds=grid)
    assert not s.complete
    assert s.thresholds.tolist() == sorted(set(grid.tolist()), reverse=True)
    for t, got in zip(s.thresholds, rows(s)):
        if t == np.inf:  # nothing detected
            assert got[:2] == (0, 0)
            continue
        c = count_detections(detmap, finite(t, detmap), positions, fwhm)
        assert got == (c.tp, c.fp, c.fn, c.tn), f"threshold {t}"
    # a complete sweep re-gridded gives the same counts
    assert rows(sweep_counts(detmap, positions, fwhm).at(grid)) == rows(s)


def test_float32_map_is_compared_exactly():
    rng = np.random.default_rng(3)
    detmap = rng.normal(size=(12, 12)).astype(np.float32)
    s = sweep_counts(detmap, [(6.0, 6.0)], 2.0)
    assert s.thresholds[:-1].tolist() == np.unique(detmap.astype(np.float64))[::-1].tolist()
    for t, got in zip(s.thresholds[:-1], rows(s)):
        c = count_detections(detmap, t, [(6.0, 6.0)], 2.0)
        assert got == (c.tp, c.fp, c.fn, c.tn)


def test_infinite_pixels():
    detmap = np.zeros((10, 10))
    detmap[5, 4:6] = np.inf
    detmap[1, 1:3] = -np.inf  # never detected
    s = sweep_counts(detmap, [(4.5, 5.0)], 2.0)
    assert s.thresholds.tolist() == [np.inf, 0.0, -np.inf]
    assert s.tp.tolist() == [0, 1, 0]
