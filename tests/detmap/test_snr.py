"""S/N of sources and exact S/N maps, against independent brute-force references."""

import numpy as np
import pytest
from photutils.aperture import CircularAperture
from scipy import stats

from exobench.detmap import (
    aperture_count_map,
    significance_map,
    snr,
    snr_map,
    snr_to_significance,
)


def brute_force_snr(image, x, y, fwhm, center):
    """Mawet et al. (2014) written out: rings of touching 1-FWHM apertures, photutils exact."""
    xc, yc = center
    sep = np.hypot(x - xc, y - yc)
    step = 2 * np.arcsin(fwhm / 2 / sep)
    count = int(np.floor(2 * np.pi / step))
    positions = []
    px, py = x - xc, y - yc
    for _ in range(count):  # the reference library's clockwise stepping, one rotation at a time
        positions.append((px + xc, py + yc))
        px, py = np.cos(step) * px + np.sin(step) * py, np.cos(step) * py - np.sin(step) * px
    fluxes = np.array([
        CircularAperture(pos, r=fwhm / 2).do_photometry(image, method="exact")[0][0] for pos in positions
    ])
    bg = fluxes[1:]
    return (fluxes[0] - bg.mean()) / (bg.std(ddof=1) * np.sqrt(1 + 1 / bg.size))


@pytest.mark.parametrize("shape, fwhm", [((41, 41), 4.0), ((36, 40), 3.3), ((45, 45), 5.7)])
def test_snr_map_matches_brute_force_everywhere(shape, fwhm, rng):
    image = rng.normal(size=shape)
    smap = snr_map(image, fwhm)
    center = (shape[1] // 2, shape[0] // 2)
    ys, xs = np.nonzero(np.isfinite(smap))
    assert len(xs) > 100
    expected = np.array([brute_force_snr(image, x, y, fwhm, center) for x, y in zip(xs, ys)])
    np.testing.assert_allclose(smap[ys, xs], expected, rtol=1e-9, atol=1e-9)


def test_snr_map_defined_region():
    fwhm = 4.0
    smap = snr_map(np.random.default_rng(3).normal(size=(41, 41)), fwhm)
    radius = np.hypot(*(np.mgrid[:41, :41] - 20))
    finite = np.isfinite(smap)
    assert not finite[radius < fwhm].any()  # inside 1 FWHM: undefined by default
    assert finite[(radius >= fwhm) & (radius <= 20.5 - fwhm / 2 - 1e-6)].all()
    assert not finite[radius > 20.5 - fwhm / 2].any()  # apertures would leave the frame
    counts = aperture_count_map((41, 41), fwhm)
    np.testing.assert_array_equal(counts > 0, finite)


def test_snr_map_options(rng):
    image = rng.normal(size=(41, 41))
    limited = snr_map(image, 4.0, inner_radius=8, outer_radius=12)
    radius = np.hypot(*(np.mgrid[:41, :41] - 20))
    assert np.isfinite(limited[(radius >= 8) & (radius <= 12)]).all()
    assert not np.isfinite(limited[(radius < 8) | (radius > 12)]).any()
    full = snr_map(image, 4.0)
    both = np.isfinite(limited)
    np.testing.assert_allclose(limited[both], full[both])
    excluded = snr_map(image, 4.0, exclude_adjacent=True)
    assert np.isfinite(excluded[20, 35])
    assert excluded[20, 35] == pytest.approx(snr(image, (35, 20), 4.0, exclude_adjacent=True).snr)


def test_snr_of_a_bright_source_is_large_and_located():
    rng = np.random.default_rng(5)
    image = rng.normal(size=(51, 51))
    yy, xx = np.mgrid[:51, :51]
    image += 20 * np.exp(-((xx - 37) ** 2 + (yy - 30) ** 2) / (2 * 1.7**2))
    smap = snr_map(image, 4.0)
    peak_y, peak_x = np.unravel_index(np.nanargmax(smap), smap.shape)
    assert abs(peak_y - 30) <= 1 and abs(peak_x - 37) <= 1  # the ring's noise shifts the peak at most a pixel
    result = snr(image, (37.0, 30.0), 4.0)
    assert result.snr > 10
    assert result.snr == pytest.approx(smap[30, 37])
    assert result.significance > 5


def test_snr_follows_student_t_on_gaussian_noise():
    # 2000 independent noise frames; the S/N at one pixel must follow t(n_bg - 1) (Mawet et al. 2014)
    rng = np.random.default_rng(2014)
    fwhm, pixel = 4.0, (15 + 10, 15)  # separation 10 px: 15 apertures, 14 in the background
    values = np.array([snr_map(rng.normal(size=(31, 31)), fwhm)[pixel[1], pixel[0]] for _ in range(2000)])
    n_bg = int(aperture_count_map((31, 31), fwhm)[pixel[1], pixel[0]])
    assert n_bg == 14
    assert stats.kstest(values, stats.t(df=n_bg - 1).cdf).pvalue > 0.01
    # and the t law's heavier spread is seen: a unit normal is rejected
    assert stats.kstest(values, stats.norm.cdf).pvalue < stats.kstest(values, stats.t(df=n_bg - 1).cdf).pvalue
    assert np.var(values) == pytest.approx((n_bg - 1) / (n_bg - 3), rel=0.1)


def test_significance_conversion():
    # t -> Gaussian-equivalent sigma: same false-alarm probability
    value = snr_to_significance(5.0, 10)
    assert stats.norm.sf(value) == pytest.approx(stats.t(df=9).sf(5.0), rel=1e-9)
    assert snr_to_significance(0.0, 10) == 0.0
    assert np.isfinite(snr_to_significance(200.0, 50))  # no overflow to infinity
    many = snr_to_significance(np.array([1.0, 2.0, 3.0]), np.array([5, 10, 100]))
    assert many.shape == (3,) and np.all(np.diff(many) > 0)
    assert np.isnan(snr_to_significance(3.0, 1))  # one background aperture: undefined


def test_significance_map_consistent(rng):
    image = rng.normal(size=(41, 41))
    sig = significance_map(image, 4.0)
    smap = snr_map(image, 4.0)
    counts = aperture_count_map((41, 41), 4.0)
    np.testing.assert_array_equal(np.isfinite(sig), np.isfinite(smap))
    y, x = 20, 33
    assert sig[y, x] == pytest.approx(snr_to_significance(smap[y, x], counts[y, x]))


def test_snr_errors(rng):
    image = rng.normal(size=(41, 41))
    with pytest.raises(ValueError, match="position: expected a separation > fwhm / 2"):
        snr(image, (21.0, 20.0), 4.0)
    with pytest.raises(ValueError, match="fwhm: expected a value > 0"):
        snr_map(image, -1.0)
    with pytest.raises(ValueError, match="image: expected a 2D array"):
        snr_map(np.zeros((3, 10, 10)), 2.0)
    with pytest.raises(ValueError, match="center: expected a pixel centre"):
        snr_map(image, 4.0, center=(20.5, 20.0))
    with pytest.raises(ValueError, match="positions: 1 aperture"):
        from exobench.photometry import aperture_sums

        aperture_sums(image, [(1.0, 1.0)], radius=2.0)


def test_a_background_without_spread_gives_inf_not_an_error():
    # e.g. the median collapse of a sparse (LLSG) residual cube: zero almost everywhere
    image = np.zeros((41, 41))
    image[20, 30] = 1.0
    smap = snr_map(image, 4.0)
    assert smap[20, 30] == np.inf
    assert np.isnan(smap[35, 20])  # a ring at 15 px, all zero: 0 / 0, nothing to say
    with np.errstate(divide="ignore", invalid="ignore"):
        assert snr(image, (30.0, 20.0), 4.0).snr == np.inf


@pytest.mark.parametrize("size, fwhm", [(51, 3.096), (51, 2.69), (50, 3.5), (33, 2.2)])
def test_outermost_rings_read_only_the_image(size, fwhm, rng):
    # regression: the stamp of an aperture was square (the larger of its two sides), so a cell
    # beyond the circle's box could fall outside the image on the outermost rings
    image = rng.normal(size=(size, size))
    smap = snr_map(image, fwhm)
    ys, xs = np.nonzero(np.isfinite(smap))
    outer = np.argsort(np.hypot(xs - size // 2, ys - size // 2))[-30:]
    center = (size // 2, size // 2)
    expected = [brute_force_snr(image, xs[k], ys[k], fwhm, center) for k in outer]
    np.testing.assert_allclose(smap[ys[outer], xs[outer]], expected, rtol=1e-9, atol=1e-9)


def test_ring_fluxes_are_linear_and_give_snr():
    from exobench.detmap import ring_fluxes, snr, snr_of_fluxes

    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(2, 41, 41))
    position = (28.0, 22.0)
    fa, fb = ring_fluxes(a, position, 4.0), ring_fluxes(b, position, 4.0)
    np.testing.assert_allclose(ring_fluxes(a + 2.5 * b, position, 4.0), fa + 2.5 * fb, rtol=1e-12, atol=1e-12)
    assert float(snr_of_fluxes(fa)) == pytest.approx(snr(a, position, 4.0).snr, rel=1e-12)
    # along leading axes: one S/N per row
    stacked = np.stack([fa, fb])
    np.testing.assert_allclose(snr_of_fluxes(stacked), [snr(a, position, 4.0).snr, snr(b, position, 4.0).snr])


@pytest.mark.parametrize("position", [(40.3, 25.7), (49.2, 25.0), (25.0, 1.2)])
def test_ring_fluxes_equal_photutils_exact_photometry(position, rng):
    """Inside the frame the compiled overlap is used, over its edge photutils: the same fluxes."""
    from exobench.detmap import ring_fluxes
    from exobench.detmap.snr import ring_positions

    image = rng.normal(size=(51, 51))
    fwhm = 4.2
    positions = ring_positions(position, fwhm, center=(25.0, 25.0))
    expected, _ = CircularAperture(positions, r=fwhm / 2).do_photometry(image, method="exact")
    np.testing.assert_allclose(ring_fluxes(image, position, fwhm), expected, rtol=1e-12, atol=1e-12)
