"""MLAR frames, patch extraction and matched-filter planes (exobench.cnn.mlar, .patches, .matched_filter)."""

import numpy as np
import pytest

from exobench.cnn.matched_filter import annulus_noise, matched_filter_frames, matched_filter_snr, stacked_planes
from exobench.cnn.mlar import MLARFrames, annulus_bounds, components_for_levels, mlar_frames, pixel_positions
from exobench.cnn.patches import extract_patches, patch_size
from exobench.data import Dataset
from exobench.examples import example_dataset
from exobench.geometry import derotate_cube, frame_center, polar_to_cartesian
from exobench.inject import inject_companions


@pytest.fixture(scope="module")
def small():
    return example_dataset(n_frames=14, size=31, seed=3)


def reference_mlar(dataset, levels, bounds, *, angles=None, collapse=np.median):
    """Brute force: per annulus a full SVD of the mean-centred pixel matrix, per level a rank-k
    residual, derotated with exobench's derotate_cube and collapsed; 0 outside the annuli."""
    cube = np.asarray(dataset.cube, dtype=np.float64)
    t, ny, nx = cube.shape
    xc, yc = frame_center(cube.shape)
    radius = np.hypot(np.arange(nx)[None, :] - xc, np.arange(ny)[:, None] - yc)
    residuals = np.zeros((len(levels), t, ny, nx))
    ks = []
    for inner, outer in bounds:
        ring = (radius >= inner) & (radius < outer)
        matrix = cube[:, ring] - cube[:, ring].mean(axis=0)
        _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
        variance = singular**2 / np.sum(singular**2)
        row = []
        for index, level in enumerate(levels):
            k = 0
            while np.sum(variance[:k]) < level - 1e-12:
                k += 1
            row.append(k)
            residuals[index][:, ring] = matrix - matrix @ vt[:k].T @ vt[:k]
        ks.append(row)
    angles = dataset.angles if angles is None else angles
    finals = np.array([collapse(derotate_cube(r, angles), axis=0) for r in residuals])
    region = (radius >= bounds[0][0]) & (radius < bounds[-1][1])
    return finals * region, np.array(ks)


def test_matches_brute_force_svd_reference(small):
    levels = (0.0, 0.5, 0.8, 0.95)
    mlar = mlar_frames(small, levels=levels)
    expected, ks = reference_mlar(small, levels, mlar.annuli)
    np.testing.assert_array_equal(mlar.ks, ks)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(mlar.frames, expected, rtol=0, atol=1e-5 * scale)
    assert mlar.frames.dtype == np.float32 and mlar.frames.shape == (4, 31, 31)
    assert isinstance(mlar, MLARFrames) and mlar.levels == levels and mlar.center == (15.0, 15.0)
    assert repr(mlar).startswith("MLARFrames(frames=(4, 31, 31), annuli=") and mlar.n_levels == 4


def reference_delta_mlar(dataset, levels, bounds, delta, *, angles=None):
    """Brute force of ``delta``: per annulus and frame, an SVD of the frame's library (the frames
    rotated at least ``delta`` FWHM of arc at the annulus's mean radius from it, or its
    ``max(k)`` farthest frames where fewer are), the frame minus its projection on the first
    ``k`` right singular vectors; ``k`` counted on the whole annulus as without ``delta``."""
    cube = np.asarray(dataset.cube, dtype=np.float64)
    t, ny, nx = cube.shape
    xc, yc = frame_center(cube.shape)
    radius = np.hypot(np.arange(nx)[None, :] - xc, np.arange(ny)[:, None] - yc)
    _, ks = reference_mlar(dataset, levels, bounds)
    residuals = np.zeros((len(levels), t, ny, nx))
    for (inner, outer), row in zip(bounds, ks):
        ring = (radius >= inner) & (radius < outer)
        matrix = cube[:, ring] - cube[:, ring].mean(axis=0)
        threshold = np.degrees(delta * dataset.fwhm / (0.5 * (inner + outer)))
        for i in range(t):
            moved = np.abs(dataset.angles - dataset.angles[i])
            keep = max(1, int(max(row)))
            library = matrix[moved >= min(threshold, np.sort(moved)[::-1][keep - 1])]
            _, _, vt = np.linalg.svd(library, full_matrices=False)
            for index, k in enumerate(row):
                residuals[index, i][ring] = matrix[i] - vt[:k].T @ (vt[:k] @ matrix[i])
    angles = dataset.angles if angles is None else angles
    finals = np.array([np.median(derotate_cube(r, angles), axis=0) for r in residuals])
    region = (radius >= bounds[0][0]) & (radius < bounds[-1][1])
    return finals * region, ks


def test_delta_matches_brute_force_per_frame_libraries(small):
    levels = (0.0, 0.5, 0.8, 0.95)
    for delta in (0.5, 2.0):
        mlar = mlar_frames(small, levels=levels, delta=delta)
        expected, ks = reference_delta_mlar(small, levels, mlar.annuli, delta)
        np.testing.assert_array_equal(mlar.ks, ks)
        np.testing.assert_allclose(mlar.frames, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    flipped = mlar_frames(small, levels=levels, delta=0.5, flip_angles=True)  # the same libraries
    expected, _ = reference_delta_mlar(small, levels, mlar.annuli, 0.5, angles=-small.angles)
    np.testing.assert_allclose(flipped.frames, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def test_delta_protects_a_companion_from_self_subtraction():
    ds = example_dataset(n_frames=30, size=41, seed=5)
    injected = inject_companions(ds, separations=[10.0], thetas=[30.0], fluxes=[2000.0]).dataset
    x, y = (int(round(v)) for v in polar_to_cartesian(10.0, 30.0, center=ds.center))
    levels = (0.9, 0.99)
    shared = mlar_frames(injected, levels=levels, variance="above-median")
    protected = mlar_frames(injected, levels=levels, variance="above-median", delta=1.0)
    np.testing.assert_array_equal(shared.ks, protected.ks)
    for level in range(len(levels)):
        assert protected.frames[level, y, x] > 1.2 * shared.frames[level, y, x] > 0


def test_mean_collapse_matches_reference(small):
    levels = (0.3, 0.9)
    mlar = mlar_frames(small, levels=levels, collapse="mean")
    expected, _ = reference_mlar(small, levels, mlar.annuli, collapse=np.mean)
    np.testing.assert_allclose(mlar.frames, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def test_level_zero_is_the_mean_subtracted_cube_and_ks_grow_with_level(small):
    mlar = mlar_frames(small, levels=(0.0, 0.5, 0.7, 0.9, 0.99, 1.0))
    assert np.all(mlar.ks[:, 0] == 0)
    assert np.all(np.diff(mlar.ks, axis=1) >= 0)
    assert np.all(mlar.ks[:, -2] > mlar.ks[:, 1])
    cube = small.cube - small.cube.mean(axis=0)
    final = np.median(derotate_cube(cube, small.angles), axis=0)
    xc, yc = small.center
    radius = np.hypot(*np.mgrid[:31, :31] - np.array([yc, xc])[:, None, None])
    region = (radius >= mlar.annuli[0][0] + 1.5) & (radius < mlar.annuli[-1][1] - 1.5)  # away from the zeros
    np.testing.assert_allclose(mlar.frames[0][region], final[region], rtol=0, atol=1e-4 * np.abs(final).max())
    # every component removed (the centred matrix has rank t - 1): nothing left
    assert np.abs(mlar.frames[-1]).max() < 1e-3 * np.abs(mlar.frames[0]).max()


def test_flip_angles_derotates_with_negated_angles_and_smears_a_companion():
    ds = example_dataset(n_frames=20, size=41, seed=5)
    injected = inject_companions(ds, separations=[12.0], thetas=[60.0], fluxes=[3000.0]).dataset
    x, y = (int(round(v)) for v in polar_to_cartesian(12.0, 60.0, center=ds.center))
    normal = mlar_frames(injected, levels=(0.5, 0.9))
    flipped = mlar_frames(injected, levels=(0.5, 0.9), flip_angles=True)
    assert flipped.flip_angles and not normal.flip_angles
    for level in range(2):  # a point source with the angles, smeared and weaker with the negated ones
        frame = normal.frames[level]
        peak = np.unravel_index(np.argmax(frame), frame.shape)
        assert abs(peak[0] - y) <= 1 and abs(peak[1] - x) <= 1
        assert flipped.frames[level, y, x] < 0.5 * frame[y, x]
    negated = mlar_frames(injected.replace(angles=-injected.angles), levels=(0.5, 0.9))
    np.testing.assert_array_equal(flipped.frames, negated.frames)


def test_zero_outside_the_annuli_and_the_mask(small):
    mlar = mlar_frames(small, levels=(0.5, 0.9), inner_radius=1.5, annulus_width=1.2)
    ny, nx = small.frame_shape
    xc, yc = small.center
    half = mlar.patch_size // 2
    expected_mask = np.zeros((ny, nx), dtype=bool)
    region = np.zeros((ny, nx), dtype=bool)
    for y in range(ny):
        for x in range(nx):
            r = np.hypot(x - xc, y - yc)
            region[y, x] = any(inner <= r < outer for inner, outer in mlar.annuli)
            fits = half <= x <= nx - 1 - half and half <= y <= ny - 1 - half
            expected_mask[y, x] = region[y, x] and fits
    np.testing.assert_array_equal(mlar.mask, expected_mask)
    assert np.all(mlar.frames[:, ~region] == 0)
    assert np.count_nonzero(mlar.frames[:, region]) > 0.99 * region.sum() * 2
    assert mlar.annuli[0][0] == pytest.approx(1.5 * small.fwhm)
    widths = [outer - inner for inner, outer in mlar.annuli]
    np.testing.assert_allclose(widths, 1.2 * small.fwhm)


def test_annulus_bounds_whole_annuli_and_errors():
    assert annulus_bounds((33, 33), 4.0) == [(4.0, 8.0), (8.0, 12.0), (12.0, 16.0)]
    assert annulus_bounds((33, 33), 4.0, outer_radius=3.5) == [(4.0, 8.0), (8.0, 12.0)]
    assert annulus_bounds((34, 34), 4.0, inner_radius=0.5, annulus_width=2.0) == [(2.0, 10.0)]
    with pytest.raises(ValueError, match="outer_radius"):
        annulus_bounds((33, 33), 4.0, outer_radius=5.0)
    with pytest.raises(ValueError, match="inner_radius"):
        annulus_bounds((33, 33), 4.0, inner_radius=3.9)
    with pytest.raises(ValueError, match="annulus_width: expected a number > 0, got 0"):
        annulus_bounds((33, 33), 4.0, annulus_width=0)
    with pytest.raises(ValueError, match="inner_radius: expected a number >= 0, got -1"):
        annulus_bounds((33, 33), 4.0, inner_radius=-1)
    with pytest.raises(ValueError, match="outer_radius: expected a number > 0, got 'x'"):
        annulus_bounds((33, 33), 4.0, outer_radius="x")


def test_components_for_levels():
    assert components_for_levels(np.array([5.0, 3.0, 2.0]), (0.0, 0.5, 0.51, 0.8, 1.0)).tolist() == [0, 1, 2, 2, 3]
    assert components_for_levels(np.zeros(4), (0.5, 0.9)).tolist() == [0, 0]


def test_components_above_the_median_eigenvalue():
    # analytic: excess over the median 1 is (9, 2, 0, 0, 0), cumulative 9/11, 11/11
    eigenvalues = np.array([10.0, 3.0, 1.0, 1.0, 1.0])
    assert components_for_levels(eigenvalues, (0.0, 0.5, 0.82, 0.9, 1.0), variance="above-median").tolist() == \
        [0, 1, 2, 2, 2]
    assert components_for_levels(np.ones(6), (0.5, 0.9), variance="above-median").tolist() == [0, 0]
    with pytest.raises(ValueError, match="variance: expected one of 'total', 'above-median', got 'all'"):
        components_for_levels(eigenvalues, (0.5,), variance="all")


def test_white_noise_does_not_pull_in_most_components():
    # 30 frames of white noise plus one strong structured component: the total variance needs
    # most components to reach 0.9, the variance above the noise floor the one that carries it
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(30, 400)) + 1.5 * np.outer(rng.normal(size=30), rng.normal(size=400))
    matrix -= matrix.mean(axis=0)
    eigenvalues = np.linalg.svd(matrix, compute_uv=False) ** 2
    assert components_for_levels(eigenvalues, (0.9,))[0] > 10
    assert components_for_levels(eigenvalues, (0.5, 0.9), variance="above-median").tolist() == [1, 1]


def test_mlar_frames_above_median_ks_match_a_brute_force_svd(small):
    levels = (0.3, 0.6, 0.9)
    mlar = mlar_frames(small, levels=levels, variance="above-median")
    total = mlar_frames(small, levels=levels)
    cube = np.asarray(small.cube, dtype=np.float64)
    xc, yc = frame_center(cube.shape)
    ny, nx = cube.shape[1:]
    radius = np.hypot(np.arange(nx)[None, :] - xc, np.arange(ny)[:, None] - yc)
    for index, (inner, outer) in enumerate(mlar.annuli):
        ring = (radius >= inner) & (radius < outer)
        matrix = cube[:, ring] - cube[:, ring].mean(axis=0)
        eigenvalues = np.linalg.svd(matrix, compute_uv=False) ** 2
        excess = np.clip(eigenvalues - np.median(eigenvalues), 0, None)
        expected = [int(np.argmax(np.cumsum(excess) / excess.sum() >= v - 1e-12)) + 1 for v in levels]
        assert mlar.ks[index].tolist() == expected
    assert np.all(mlar.ks <= total.ks)
    with pytest.raises(ValueError, match="variance"):
        mlar_frames(small, variance="noise")


def test_mlar_errors(small):
    with pytest.raises(TypeError, match="dataset"):
        mlar_frames(small.cube)
    with pytest.raises(ValueError, match="levels"):
        mlar_frames(small, levels=(0.9, 0.5))
    with pytest.raises(ValueError, match="levels"):
        mlar_frames(small, levels=(0.5, 1.5))
    with pytest.raises(ValueError, match="levels"):
        mlar_frames(small, levels=())
    with pytest.raises(ValueError, match="collapse"):
        mlar_frames(small, collapse="sum")
    with pytest.raises(ValueError, match="derotation"):
        mlar_frames(small, derotation="nearest")
    with pytest.raises(ValueError, match="patch"):
        mlar_frames(small, patch=4)
    for delta in (-0.5, float("inf"), "1", True):
        with pytest.raises(ValueError, match=f"delta: expected a number >= 0, got {delta!r}"):
            mlar_frames(small, delta=delta)
    cube = small.cube.copy()
    cube[0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        mlar_frames(small.replace(cube=cube))


def test_4d_cube_averages_the_channels(small):
    cube = np.stack([small.cube, 0.5 * small.cube[::-1][::-1] + 1.0])
    ds4 = Dataset(cube, small.angles, psf=small.psf, wavelengths=[1.6, 1.7], fwhm=small.fwhm)
    mlar = mlar_frames(ds4, levels=(0.5, 0.9))
    per_channel = [mlar_frames(small.replace(cube=c), levels=(0.5, 0.9)) for c in cube]
    assert mlar.ks.shape == (2, len(mlar.annuli), 2)
    np.testing.assert_array_equal(mlar.ks[0], per_channel[0].ks)
    np.testing.assert_allclose(mlar.frames, (per_channel[0].frames + per_channel[1].frames) / 2, atol=1e-6)


def test_patch_size():
    assert [patch_size(f) for f in (1.0, 2.0, 4.0, 4.8, 5.3)] == [3, 5, 9, 11, 11]
    assert patch_size(np.array([4.0, 4.2])) == 9
    for bad in (0, -1.0, np.nan, "4"):
        with pytest.raises(ValueError, match=f"fwhm: expected a number > 0, got {bad!r}"):
            patch_size(bad)


def test_extract_patches_equals_a_loop(rng):
    frames = rng.normal(size=(3, 20, 17))
    positions = np.array([[2, 2], [14, 17], [8, 9], [8, 9], [3, 15]])
    patches = extract_patches(frames, positions, 5)
    assert patches.shape == (5, 3, 5, 5) and patches.dtype == np.float32
    for i, (x, y) in enumerate(positions):
        np.testing.assert_array_equal(patches[i], frames[:, y - 2:y + 3, x - 2:x + 3].astype(np.float32))
    assert extract_patches(frames, np.empty((0, 2), dtype=int), 3).shape == (0, 3, 3, 3)
    np.testing.assert_array_equal(extract_patches(frames, positions.astype(float), 5), patches)


def test_extract_patches_errors(rng):
    frames = rng.normal(size=(2, 12, 12))
    for position in ([1, 5], [5, 1], [10, 5], [5, 10], [-3, 5]):
        with pytest.raises(ValueError, match=r"positions: .*position 1 at \(x, y\)"):
            extract_patches(frames, [[5, 5], position], 5)
    with pytest.raises(ValueError, match="positions"):
        extract_patches(frames, [[5, 5, 5]], 5)
    with pytest.raises(ValueError, match="positions"):
        extract_patches(frames, [5, 5], 5)
    with pytest.raises(ValueError, match="positions: expected integer"):
        extract_patches(frames, [[5.5, 5]], 5)
    with pytest.raises(ValueError, match="frames"):
        extract_patches(frames[0], [[5, 5]], 5)
    with pytest.raises(ValueError, match=r"size: expected an odd integer >= 1 \(patch side in pixels\), got 4"):
        extract_patches(frames, [[5, 5]], 4)
    for size in (0, 2.0, True):
        with pytest.raises(ValueError, match=f"size: expected an integer >= 1, got {size!r}"):
            extract_patches(frames, [[5, 5]], size)


def test_pixel_positions_are_x_y_in_row_major_order(small):
    mlar = mlar_frames(small, levels=(0.9,))
    xy = pixel_positions(mlar)
    rows, cols = np.nonzero(mlar.mask)
    np.testing.assert_array_equal(xy[:, 0], cols)
    np.testing.assert_array_equal(xy[:, 1], rows)
    assert np.all(mlar.mask[xy[:, 1], xy[:, 0]])
    patches = extract_patches(mlar.frames, xy, mlar.patch_size)  # every mask pixel has a whole patch
    h = mlar.patch_size // 2
    np.testing.assert_array_equal(patches[:, :, h, h], mlar.frames[:, xy[:, 1], xy[:, 0]].T)
    with pytest.raises(TypeError, match="mlar"):
        pixel_positions(mlar.mask)


def test_naco_mlar_frames(naco):
    mlar = mlar_frames(naco)
    assert mlar.frames.shape == (8, 99, 99) and mlar.patch_size == 11
    assert mlar.ks.shape == (len(mlar.annuli), 8) and np.all(np.diff(mlar.ks, axis=1) >= 0)
    assert mlar.annuli[-1][1] <= 49.5 and np.all(np.isfinite(mlar.frames))
    flipped = mlar_frames(naco, flip_angles=True)
    np.testing.assert_array_equal(flipped.ks, mlar.ks)  # same PCA, other derotation
    assert not np.array_equal(flipped.frames, mlar.frames)


# -- matched-filter planes -------------------------------------------------------------------


def _white_noise_dataset(seed, *, n_frames=12, size=41, fwhm=4.0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:15, :15]
    psf = np.exp(-4 * np.log(2) * ((xx - 7) ** 2 + (yy - 7) ** 2) / fwhm**2)
    return Dataset(rng.normal(size=(n_frames, size, size)), np.linspace(0.0, 60.0, n_frames), psf=psf, fwhm=fwhm)


def test_matched_filter_frames_match_a_brute_force_correlation(small):
    mlar = mlar_frames(small, levels=(0.5, 0.9))
    filtered = matched_filter_frames(mlar, small.psf)
    half = int(round(mlar.fwhm))
    c = small.psf.shape[0] // 2
    kernel = small.psf[c - half:c + half + 1, c - half:c + half + 1].astype(float)
    kernel /= np.sqrt(np.sum(kernel**2))
    padded = np.pad(mlar.frames.astype(float), ((0, 0), (half, half), (half, half)))
    inside = np.argwhere(mlar.mask)
    for y, x in inside[:: max(1, len(inside) // 25)]:
        window = padded[:, y:y + 2 * half + 1, x:x + 2 * half + 1]
        expected = np.sum(window * kernel, axis=(1, 2))
        np.testing.assert_allclose(filtered[:, y, x], expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    region = np.hypot(*(np.indices(mlar.mask.shape)[::-1] - np.array(mlar.center)[:, None, None]))
    outside = (region < mlar.annuli[0][0]) | (region >= mlar.annuli[-1][1])
    assert filtered.dtype == np.float32 and np.all(filtered[:, outside] == 0)


def test_annulus_noise_is_the_robust_spread_of_each_annulus(small):
    mlar = mlar_frames(small, levels=(0.5, 0.9))
    noise = annulus_noise(mlar, mlar.frames)
    radius = np.hypot(*(np.indices(mlar.mask.shape)[::-1] - np.array(mlar.center)[:, None, None]))
    for j, (inner, outer) in enumerate(mlar.annuli):
        values = mlar.frames[:, (radius >= inner) & (radius < outer)].astype(float)
        for level in range(2):
            v = values[level]
            np.testing.assert_allclose(noise[j, level], 1.4826 * np.median(np.abs(v - np.median(v))), rtol=1e-5)
    assert np.all(annulus_noise(mlar, np.zeros_like(mlar.frames)) == 1.0)  # constant: 1, never 0
    with pytest.raises(ValueError, match=r"frames: expected an \(n, 31, 31\) array"):
        annulus_noise(mlar, mlar.frames[:, :5])


def test_matched_filter_snr_is_unit_on_white_noise_and_finds_a_point_source():
    dataset = _white_noise_dataset(4)
    mlar = mlar_frames(dataset, levels=(0.0,), collapse="mean")
    snr, noise = matched_filter_snr(mlar, dataset.psf)
    radius = np.hypot(*(np.indices(mlar.mask.shape)[::-1] - np.array(mlar.center)[:, None, None]))
    for inner, outer in mlar.annuli:
        v = snr[0, (radius >= inner) & (radius < outer)]
        assert 1.4826 * np.median(np.abs(v - np.median(v))) == pytest.approx(1.0, rel=1e-4)
    # a companion: the filter's S/N is the white-noise optimum, |PSF core| x amplitude / sigma
    injected = inject_companions(dataset, separations=[12.0], thetas=[40.0], fluxes=[40.0]).dataset
    with_source, _ = matched_filter_snr(mlar_frames(injected, levels=(0.0,), collapse="mean"), dataset.psf,
                                        noise=noise)
    x, y = polar_to_cartesian(12.0, 40.0, center=mlar.center)
    peak = np.unravel_index(np.argmax(with_source[0]), with_source[0].shape)
    assert np.hypot(peak[1] - x, peak[0] - y) <= 1.5
    assert with_source[0].max() > 6 > np.abs(snr[0]).max()
    halved, _ = matched_filter_snr(mlar, dataset.psf, noise=2 * noise)
    np.testing.assert_allclose(halved, snr / 2, rtol=1e-5, atol=1e-6)


def test_matched_filter_errors(small):
    mlar = mlar_frames(small, levels=(0.5, 0.9))
    with pytest.raises(ValueError, match=r"noise: expected positive finite values of shape \(\d+, 2\)"):
        matched_filter_snr(mlar, small.psf, noise=np.ones((1, 2)))
    with pytest.raises(ValueError, match="noise: expected positive"):
        matched_filter_snr(mlar, small.psf, noise=np.zeros((len(mlar.annuli), 2)))
    with pytest.raises(ValueError, match="psf: expected a finite, odd-sized"):
        matched_filter_frames(mlar, np.ones((8, 8)))
    with pytest.raises(ValueError, match="psf: expected a PSF with light in its core"):
        matched_filter_frames(mlar, np.zeros((9, 9)))
    with pytest.raises(TypeError, match="mlar: expected MLARFrames"):
        matched_filter_frames(mlar.frames, small.psf)


def test_stacked_planes_put_the_snr_after_the_frames(small):
    mlar = mlar_frames(small, levels=(0.5, 0.9))
    planes = stacked_planes(mlar, small.psf)
    assert planes.shape == (4, 31, 31) and planes.dtype == np.float32
    np.testing.assert_array_equal(planes[:2], mlar.frames)
    np.testing.assert_array_equal(planes[2:], matched_filter_snr(mlar, small.psf)[0])
    assert stacked_planes(mlar) is mlar.frames
