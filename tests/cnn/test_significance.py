"""Significance maps calibrated on the dataset's null (exobench.cnn.significance)."""

import numpy as np
import pytest

from exobench.cnn.significance import null_significance_map


def test_significance_maps_share_one_threshold_across_datasets():
    import types


    rng = np.random.default_rng(3)
    rates = []
    for scale, size in [(0.3, 60), (8.0, 90)]:  # two datasets whose networks are calibrated very differently
        mask = np.ones((size, size), bool)
        negative = types.SimpleNamespace(probability=1 / (1 + np.exp(-rng.normal(0, scale, (size, size)))), mask=mask)
        noise = types.SimpleNamespace(probability=1 / (1 + np.exp(-rng.normal(0, scale, (size, size)))), mask=mask)
        own = null_significance_map(negative, negative)
        rates.append(np.mean(own > 2.0))                   # fpr 1e-2 on its own negatives
        assert abs(np.mean(null_significance_map(noise, negative) > 2.0) - 0.01) < 0.006  # and on fresh noise
        brightest = 1 - (1 - negative.probability.max()) / 4  # above every negative pixel
        bright = types.SimpleNamespace(probability=np.where(mask, brightest, 0.0), mask=mask)
        assert np.all(null_significance_map(bright, negative) > own.max())  # beyond the negatives: still ranked
    assert all(0.005 < r <= 0.01 for r in rates)


def test_significance_by_annulus_gives_each_separation_the_rate():
    import types


    rng = np.random.default_rng(4)
    size = 81
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(xx - 40, yy - 40)
    annuli = [(4.0, 16.0), (16.0, 28.0), (28.0, 40.0)]
    mask = (r >= 4) & (r < 40)
    scale = np.where(r < 16, 6.0, 1.0)  # the inner annulus: heavy tails

    def pmap():
        return types.SimpleNamespace(probability=np.where(mask, 1 / (1 + np.exp(-scale * rng.normal(size=r.shape))), 0),
                                     mask=mask, annuli=annuli)

    negative, fresh = pmap(), pmap()
    inner = mask & (r < 16)
    pooled = null_significance_map(fresh, negative)
    assert np.mean(pooled[inner] > 2) > 0.03  # one scale for the whole map: the inner annulus floods
    for kwargs in ({"by_annulus": True}, {"by_annulus": True, "min_pixels": 700}):
        calibrated = null_significance_map(fresh, negative, **kwargs)
        assert np.mean(calibrated[inner] > 2) < 0.02 and np.mean(calibrated[mask & ~inner] > 2) < 0.02
        assert np.all(calibrated[~mask] == 0)


def _annular_maps(rng, scales, size=81, annuli=((4.0, 16.0), (16.0, 28.0), (28.0, 40.0))):
    """Probability maps whose logits have a different spread in each annulus (heavy inner tails)."""
    import types

    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(xx - size // 2, yy - size // 2)
    mask = (r >= annuli[0][0]) & (r < annuli[-1][1])
    scale = np.select([r < b for _, b in annuli], scales, 1.0)

    def one(shift=0.0):
        logits = scale * rng.normal(size=r.shape) + shift
        return types.SimpleNamespace(probability=np.where(mask, 1 / (1 + np.exp(-logits)), 0.0), mask=mask,
                                     annuli=list(annuli))
    return one, mask, r


def test_standardised_annuli_give_every_separation_the_rate_on_the_whole_map():

    one, mask, r = _annular_maps(np.random.default_rng(5), scales=(6.0, 1.0, 0.3))
    negative, fresh = one(), one()
    inner, outer = mask & (r < 16), mask & (r >= 28)
    plain = null_significance_map(fresh, negative)
    assert np.mean(plain[inner] > 2) > 0.03 and np.mean(plain[outer] > 2) < 0.001  # one scale: wrong at both ends
    calibrated = null_significance_map(fresh, negative, standardize=True)
    for part in (inner, mask & (r >= 16) & (r < 28), outer):
        assert np.mean(calibrated[part] > 2) < 0.025
    assert abs(np.mean(calibrated[mask] > 2) - 0.01) < 0.005  # the rate of the threshold, over the whole map
    assert np.all(calibrated[~mask] == 0)


def test_standardised_significance_ignores_each_annulus_scale_and_offset():

    rng = np.random.default_rng(6)
    one, mask, r = _annular_maps(rng, scales=(1.0, 1.0, 1.0))
    negative, fresh = one(), one()
    same = null_significance_map(fresh, negative, standardize=True)

    def stretched(m):  # logits of the inner annulus x 5 + 2 in both maps: the same after standardising
        logits = np.log(m.probability) - np.log1p(-m.probability)
        logits = np.where(r < 16, 5 * logits + 2, logits)
        return type(m)(probability=np.where(m.mask, 1 / (1 + np.exp(-logits)), 0.0), mask=m.mask, annuli=m.annuli)

    np.testing.assert_allclose(null_significance_map(stretched(fresh), stretched(negative), standardize=True),
                               same, atol=1e-6)
    assert not np.allclose(null_significance_map(stretched(fresh), stretched(negative)),
                           null_significance_map(fresh, negative))


def test_standardised_significance_keeps_bright_sources_ranked_and_refuses_empty_annuli():
    import types


    one, mask, r = _annular_maps(np.random.default_rng(7), scales=(2.0, 1.0, 1.0))
    negative = one()
    own = null_significance_map(negative, negative, standardize=True)
    bright = one(shift=40.0)
    assert np.all(null_significance_map(bright, negative, standardize=True)[mask] > own.max())
    hollow = types.SimpleNamespace(probability=negative.probability, mask=mask & (r >= 16), annuli=negative.annuli)
    with pytest.raises(ValueError, match="negative: expected predicted pixels in every annulus.*between 4 and 16 px"):
        null_significance_map(negative, hollow, standardize=True)


def test_several_negative_maps_are_pooled_into_one_null():
    import types


    one, mask, r = _annular_maps(np.random.default_rng(9), scales=(2.0, 1.0, 0.5))
    fresh, first, second, third = one(), one(), one(), one()
    for options in ({}, {"standardize": True}, {"by_annulus": True, "min_pixels": 300, "standardize": True}):
        np.testing.assert_array_equal(null_significance_map(fresh, [first], **options),
                                      null_significance_map(fresh, first, **options))
    # brute force, raw probabilities on the whole map: the rate among the pooled negative pixels
    pooled = null_significance_map(fresh, [first, second, third])
    null = np.sort(np.concatenate([m.probability[m.mask] for m in (first, second, third)]))
    inside = mask & (fresh.probability <= null[-1])
    reached = null.size - np.searchsorted(null, fresh.probability[inside], side="left")
    np.testing.assert_allclose(pooled[inside], -np.log10((reached + 1.0) / (null.size + 1.0)))
    # a pooled null resolves rates that one map cannot: more distinct values, as fine as 1 / (3 N + 1)
    assert np.unique(pooled[mask]).size > np.unique(null_significance_map(fresh, first)[mask]).size
    with pytest.raises(ValueError, match="angles: the own-image exclusion needs one negative map, got 2"):
        null_significance_map(fresh, [first, second], angles=[0.0, 10.0])
    with pytest.raises(ValueError, match="negative: expected a negative map or several, got none"):
        null_significance_map(fresh, [])
    small = types.SimpleNamespace(probability=first.probability[:5, :5], mask=first.mask[:5, :5], annuli=first.annuli)
    with pytest.raises(ValueError, match=r"negative: expected maps of shape \(\d+, \d+\), got \(5, 5\)"):
        null_significance_map(fresh, [first, small])


def test_normal_tail_extrapolates_the_rate_beyond_the_largest_negative_as_a_normal_tail():
    from scipy.stats import norm

    from exobench.cnn.significance import _standardised_logits

    one, mask, r = _annular_maps(np.random.default_rng(8), scales=(2.0, 1.0, 0.5))
    negative, fresh = one(), one(shift=1.5)
    normal = null_significance_map(fresh, negative, standardize=True, tail="normal")
    exponential = null_significance_map(fresh, negative, standardize=True)
    values, negatives = _standardised_logits(fresh, negative)
    top, n = negatives[negative.mask].max(), np.count_nonzero(negative.mask)
    beyond = mask & (values > top)
    assert beyond.sum() > 10
    # brute force: the empirical rate 1 / (N + 1) at the largest negative, then the normal tail's shape
    expected = np.log10(n + 1) + np.log10(norm.sf(top) / norm.sf(values[beyond]))
    np.testing.assert_allclose(normal[beyond], expected, rtol=1e-9)
    within = mask & ~beyond
    np.testing.assert_array_equal(normal[within], exponential[within])  # the ranks do not depend on the tail
    assert np.all(normal[beyond] > exponential[beyond])  # a normal tail falls faster than exp(-z) past z ~ 1
    order = np.argsort(values[mask])
    assert np.all(np.diff(normal[mask][order]) >= 0)  # monotonic in the standardised logit
    assert np.all(normal[~mask] == 0)


@pytest.mark.parametrize("kwargs, message", [
    ({"tail": "pareto", "standardize": True}, "tail: expected one of 'exponential', 'normal', got 'pareto'"),
    ({"tail": "normal"}, r"tail: 'normal' needs standardize=True"),
])
def test_significance_tail_errors(kwargs, message):

    one, _, _ = _annular_maps(np.random.default_rng(9), scales=(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match=message):
        null_significance_map(one(), one(), **kwargs)


def test_standardised_annuli_use_their_negatives_mean_and_spread():
    from exobench.cnn.significance import _centre_spread, _standardised_logits

    one, mask, r = _annular_maps(np.random.default_rng(8), scales=(4.0, 1.0, 0.5))
    negative, fresh = one(), one()
    values, negatives = _standardised_logits(fresh, negative)
    for low, high in negative.annuli:
        ring = mask & (r >= low) & (r < high)
        assert abs(negatives[ring].mean()) < 1e-9 and negatives[ring].std() == pytest.approx(1.0)
        assert abs(values[ring].mean()) < 0.1 and values[ring].std() == pytest.approx(1.0, abs=0.1)
    assert np.all(values[~mask] == 0)
    assert _centre_spread(np.full(10, 4.0)) == (4.0, 1.0)  # a flat annulus: unscaled


def _own_image_reference(pmap, negative, angles, radius_px):
    """Brute force of null_significance_map(..., angles=...) on one region: each pixel's null is every
    negative pixel farther than ``radius_px`` from every point of its own image's arc."""
    from exobench.cnn.probability import logit
    from exobench.geometry import frame_center

    xc, yc = frame_center(pmap.probability.shape)
    ys, xs = np.nonzero(negative.mask)
    null = logit(negative.probability[negative.mask])
    out = np.zeros(pmap.probability.shape)
    for y, x in zip(*np.nonzero(pmap.mask)):
        r, theta = np.hypot(x - xc, y - yc), np.arctan2(y - yc, x - xc)
        arc = theta - 2 * np.radians(angles)  # where a source at (x, y) sits in the negative map
        ax, ay = xc + r * np.cos(arc), yc + r * np.sin(arc)
        near = np.hypot(xs[:, None] - ax[None, :], ys[:, None] - ay[None, :]).min(axis=1) <= radius_px
        kept = null[~near] if (~near).any() else null
        value = logit(pmap.probability[y, x])
        if value > kept.max():
            out[y, x] = np.log10(kept.size + 1) + (value - kept.max()) / np.log(10)
        else:
            out[y, x] = -np.log10((np.sum(kept >= value) + 1) / (kept.size + 1))
    return out


def test_own_image_exclusion_matches_a_brute_force_reference():

    one, mask, _ = _annular_maps(np.random.default_rng(8), scales=(1.0, 2.0, 1.0), size=41,
                                 annuli=((3.0, 9.0), (9.0, 15.0), (15.0, 20.0)))
    negative, fresh = one(), one()
    for m in (negative, fresh):
        m.fwhm = 4.0
    angles = np.array([-40.0, -25.0, -5.0, 0.0, 12.0, 30.0, 41.0])
    for radius in (0.55, 1.05, 2.45):  # no pixel exactly at the radius (rounding would decide it)
        fast = null_significance_map(fresh, negative, angles=angles, own_image_radius=radius)
        np.testing.assert_allclose(fast, _own_image_reference(fresh, negative, angles, radius * 4.0), atol=1e-12)
    # without rotation the own image is the pixel itself: a disk of the radius around it is left out
    still = null_significance_map(fresh, negative, angles=np.zeros(5), own_image_radius=1.05)
    np.testing.assert_allclose(still, _own_image_reference(fresh, negative, np.zeros(1), 4.2), atol=1e-12)


def test_own_image_exclusion_unhides_a_companion_behind_its_smeared_arc():
    """A bright companion's arc in the negative map, as high as the companion: counted in the
    companion's own null it hides it; left out, the companion is the map's most significant pixel."""
    from exobench.geometry import frame_center

    rng = np.random.default_rng(9)
    one, mask, r = _annular_maps(rng, scales=(1.0, 1.0, 1.0))
    negative, fresh = one(), one()
    for m in (negative, fresh):
        m.fwhm = 4.0
    angles = np.linspace(-30.0, 30.0, 25)
    xc, yc = frame_center(mask.shape)
    sep, theta = 22.0, 60.0
    cx, cy = xc + sep * np.cos(np.radians(theta)), yc + sep * np.sin(np.radians(theta))
    companion = 0.999
    fresh.probability[int(round(cy)), int(round(cx))] = companion
    arc = np.radians(theta - 2 * angles)
    for ax, ay in zip(xc + sep * np.cos(arc), yc + sep * np.sin(arc)):  # the smeared light, as bright
        negative.probability[int(round(ay)), int(round(ax))] = companion
    plain = null_significance_map(fresh, negative, by_annulus=True)
    own = null_significance_map(fresh, negative, by_annulus=True, angles=angles, own_image_radius=1.0)
    y, x = int(round(cy)), int(round(cx))
    assert plain[y, x] < 2.0  # level with the arc: a false-positive rate above 1 %, no detection
    assert own[y, x] == own.max() and own[y, x] > 3.0


@pytest.mark.parametrize("kwargs, message", [
    ({"angles": np.zeros((2, 3))}, r"angles: expected a non-empty 1D array of finite derotation angles \(deg\), "
                                   r"got shape \(2, 3\)"),
    ({"angles": []}, r"angles: expected a non-empty 1D array"),
    ({"angles": [0.0, np.nan]}, r"angles: expected a non-empty 1D array"),
    ({"angles": [0.0, 1.0], "own_image_radius": 0.0}, "own_image_radius: expected a number > 0, got 0.0"),
    ({"angles": [0.0, 1.0], "own_image_radius": "1"}, "own_image_radius: expected a number > 0, got '1'"),
])
def test_own_image_exclusion_errors(kwargs, message):

    one, _, _ = _annular_maps(np.random.default_rng(10), scales=(1.0, 1.0), size=21,
                              annuli=((2.0, 6.0), (6.0, 10.0)))
    negative = one()
    negative.fwhm = 3.0
    with pytest.raises(ValueError, match=message):
        null_significance_map(negative, negative, **kwargs)


def test_own_image_is_where_the_flipped_derotation_puts_a_source():
    """The arc that null_significance_map leaves out is where a source injected with the library's
    conventions lands when its frames are derotated with the negated angles (flip_angles)."""
    from exobench.builder.calibration import companion_cube
    from exobench.cnn.significance import _angular_gap, _own_image_offsets
    from exobench.data import Dataset
    from exobench.geometry import derotate_cube, frame_center

    yy, xx = np.mgrid[:15, :15]
    fwhm = 3.0
    psf = np.exp(-4 * np.log(2) * ((xx - 7) ** 2 + (yy - 7) ** 2) / fwhm ** 2)
    angles = np.linspace(-20.0, 35.0, 12)
    dataset = Dataset(np.zeros((angles.size, 61, 61)), angles, psf=psf, fwhm=fwhm, star_flux=1.0)
    separation, theta = 18.0, 70.0
    cube = companion_cube(dataset, [separation], [theta])
    plain = derotate_cube(cube, angles).mean(axis=0)
    flipped = derotate_cube(cube, -angles).mean(axis=0)
    xc, yc = frame_center(plain.shape)
    sx, sy = xc + separation * np.cos(np.radians(theta)), yc + separation * np.sin(np.radians(theta))
    peak = np.unravel_index(np.argmax(plain), plain.shape)
    assert np.hypot(peak[1] - sx, peak[0] - sy) < 1.0  # the plain derotation: the source itself
    ys, xs = np.nonzero(flipped > 0.2 * flipped.max())
    r, phi = np.hypot(xs - xc, ys - yc), np.arctan2(ys - yc, xs - xc)
    gap = _angular_gap(phi - np.radians(theta), _own_image_offsets(angles))
    distance = np.sqrt(np.maximum(r ** 2 + separation ** 2 - 2 * r * separation * np.cos(gap), 0.0))
    assert distance.max() < fwhm  # all of the flipped light lies on the arc theta - 2 angles[i]
    wrong = _angular_gap(phi - np.radians(theta), _own_image_offsets(-angles))  # the other sign: off
    assert np.sqrt(np.maximum(r ** 2 + separation ** 2 - 2 * r * separation * np.cos(wrong), 0.0)).max() > 3 * fwhm
