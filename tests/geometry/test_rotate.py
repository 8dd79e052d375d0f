"""Rotation of frames and derotation of cubes, for every interpolation method."""

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from exobench.geometry import (
    ROTATION_METHODS,
    cartesian_to_polar,
    derotate_cube,
    disk_mask,
    frame_center,
    polar_to_cartesian,
    rotate_frames,
)

from .conftest import centroid, gaussian, quarter_turn

INTERPOLATING = ("bilinear", "bicubic")


def _sample_points(shape, angle, center):
    """Where output pixel (x, y) samples the input for a counter-clockwise rotation by ``angle``."""
    xc, yc = center
    y, x = np.mgrid[: shape[0], : shape[1]].astype(float)
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    return c * (x - xc) + s * (y - yc) + xc, -s * (x - xc) + c * (y - yc) + yc


def _keys(s, a=-0.5):
    s = np.abs(s)
    return np.where(s <= 1, (a + 2) * s**3 - (a + 3) * s**2 + 1,
                    np.where(s < 2, a * s**3 - 5 * a * s**2 + 8 * a * s - 4 * a, 0.0))


def _brute_bicubic(frame, xs, ys):
    """Keys (a = -0.5) cubic convolution summed over every input pixel (no shortcuts)."""
    ny, nx = frame.shape
    out = np.zeros_like(xs)
    for j in range(ny):
        for k in range(nx):
            out += frame[j, k] * _keys(xs - k) * _keys(ys - j)
    return out


# -- sign and centre -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ROTATION_METHODS)
@pytest.mark.parametrize("n", [9, 10, 11, 12])
def test_quarter_turn_moves_theta_0_to_theta_90(method, n):
    # a pixel at theta = 0 (k px right of the centre) goes to theta = 90 (k px above it, origin lower left)
    xc, yc = (int(v) for v in frame_center((n, n)))
    k = 3
    frame = np.zeros((n, n))
    frame[yc, xc + k] = 1.0
    out = rotate_frames(frame, 90.0, method=method)
    expected = np.zeros((n, n))
    expected[yc + k, xc] = 1.0
    np.testing.assert_allclose(out, expected, atol=1e-12)
    # and on through theta = 180 and theta = 270 (= -90)
    expected = np.zeros((n, n))
    expected[yc, xc - k] = 1.0
    np.testing.assert_allclose(rotate_frames(frame, 180.0, method=method), expected, atol=1e-12)
    expected = np.zeros((n, n))
    expected[yc - k, xc] = 1.0
    np.testing.assert_allclose(rotate_frames(frame, -90.0, method=method), expected, atol=1e-12)


@pytest.mark.parametrize("method", ROTATION_METHODS)
@pytest.mark.parametrize("shape", [(25, 25), (26, 26), (25, 28)])
def test_rotation_is_about_pixel_n_over_2(method, shape):
    xc, yc = frame_center(shape)
    # a source on the centre pixel stays there, for any angle
    frame = gaussian(shape, xc, yc, sigma=1.5)
    for angle in (17.0, 63.0, -128.0):
        out = rotate_frames(frame, angle, method=method)
        assert centroid(out) == pytest.approx((xc, yc), abs=2e-3)
        assert np.unravel_index(np.argmax(out), shape) == (yc, xc)
    # and an off-centre source turns about it
    x0, y0 = xc + 4.0, yc + 1.0
    out = rotate_frames(gaussian(shape, x0, y0, sigma=1.5), 30.0, method=method)
    r, theta = cartesian_to_polar(x0, y0, center=(xc, yc))
    expected = polar_to_cartesian(r, theta + 30.0, center=(xc, yc))
    assert centroid(out, around=expected, radius=5) == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("method", ROTATION_METHODS)
def test_rotation_about_a_given_center(method):
    frame = np.zeros((13, 13))
    frame[4, 7] = 1.0  # 2 px right of (5, 4)
    out = rotate_frames(frame, 90.0, method=method, center=(5, 4))
    assert np.unravel_index(np.argmax(out), out.shape) == (6, 5)  # 2 px above (5, 4)
    assert out[6, 5] == pytest.approx(1.0, abs=1e-12)


def test_fft_needs_an_integer_center():
    with pytest.raises(ValueError, match=r"center: the 'fft' method needs a pixel centre, got \(5.5, 4.0\)"):
        rotate_frames(np.zeros((13, 13)), 10.0, method="fft", center=(5.5, 4.0))


# -- exactness -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", INTERPOLATING)
@pytest.mark.parametrize("shape", [(9, 9), (10, 12)])
def test_rotation_by_zero_is_identity(method, shape):
    frame = np.random.default_rng(2).normal(size=shape)
    np.testing.assert_array_equal(rotate_frames(frame, 0.0, method=method), frame)
    # even with NaN pixels and a NaN fill value: zero-weight neighbours are not read
    frame[2, 3] = np.nan
    out = rotate_frames(frame, 0.0, method=method, fill_value=np.nan)
    np.testing.assert_array_equal(out, frame)


@pytest.mark.parametrize("method", ROTATION_METHODS)
@pytest.mark.parametrize("shape", [(9, 9), (10, 10), (9, 12)])
def test_multiples_of_90_degrees_are_exact(method, shape):
    # white noise is the worst case for an interpolator; quarter turns must still be exact copies
    frame = np.random.default_rng(3).normal(size=shape)
    center = frame_center(shape)
    for k, angle in [(1, 90.0), (2, 180.0), (3, 270.0), (3, -90.0), (0, 360.0), (1, 450.0), (2, -180.0)]:
        np.testing.assert_allclose(rotate_frames(frame, angle, method=method), quarter_turn(frame, k, center),
                                   atol=1e-12, err_msg=f"{method} {angle}")


@pytest.mark.parametrize("method", ROTATION_METHODS)
def test_rotate_there_and_back_recovers_a_smooth_image(method):
    shape = (41, 41)
    frame = gaussian(shape, 24.3, 16.6, sigma=2.5) + 0.5 * gaussian(shape, 15.0, 23.0, sigma=3.0)
    inside = disk_mask(shape, 15.0)  # away from the corners, which a rotation cuts off
    # bilinear smooths (peak 1, error about 5 %), bicubic much less, fft not at all
    tolerance = {"bilinear": 0.07, "bicubic": 7e-3, "fft": 1e-6}[method]
    for angle in (13.0, 47.5, -110.0):
        back = rotate_frames(rotate_frames(frame, angle, method=method), -angle, method=method)
        np.testing.assert_allclose(back[inside], frame[inside], atol=tolerance, err_msg=f"{method} {angle}")


@pytest.mark.parametrize("angle", [7.0, 33.3, 45.0, 60.0, 135.0, -100.0, 271.5])
def test_fft_preserves_flux(angle):
    shape = (41, 41)
    frame = gaussian(shape, 26.3, 19.1, sigma=2.0, amplitude=3.0) + gaussian(shape, 14.0, 23.5, sigma=2.5)
    out = rotate_frames(frame, angle, method="fft")
    assert out.sum() == pytest.approx(frame.sum(), rel=1e-6)


@pytest.mark.parametrize("method", INTERPOLATING)
def test_interpolating_methods_keep_flux_roughly(method):
    # not a requirement of theirs, only a sanity bound
    shape = (41, 41)
    frame = gaussian(shape, 26.3, 19.1, sigma=2.0)
    for angle in (7.0, 33.3, 135.0):
        assert rotate_frames(frame, angle, method=method).sum() == pytest.approx(frame.sum(), rel=5e-3)


# -- against independent implementations -----------------------------------------------------


@pytest.mark.parametrize("shape", [(21, 21), (16, 23)])
@pytest.mark.parametrize("angle", [11.0, 37.0, 128.0, -73.5])
def test_bilinear_matches_scipy_map_coordinates(shape, angle):
    frame = np.random.default_rng(4).normal(size=shape)
    center = frame_center(shape)
    xs, ys = _sample_points(shape, angle, center)
    expected = map_coordinates(frame, [ys, xs], order=1, mode="constant", cval=0.0)
    out = rotate_frames(frame, angle, method="bilinear")
    interior = (xs >= 0) & (ys >= 0) & (xs <= shape[1] - 1) & (ys <= shape[0] - 1)
    assert interior.sum() > 0.4 * frame.size
    np.testing.assert_allclose(out[interior], expected[interior], atol=1e-12)


@pytest.mark.parametrize("shape", [(9, 9), (8, 11)])
@pytest.mark.parametrize("angle", [23.0, -141.0])
@pytest.mark.parametrize("fill_value", [0.0, 2.5])
def test_bicubic_matches_brute_force_keys(shape, angle, fill_value):
    frame = np.random.default_rng(5).normal(size=shape)
    xs, ys = _sample_points(shape, angle, frame_center(shape))
    pad = 12  # taps outside the frame read fill_value: pad the frame with it, shift the coordinates
    padded = np.pad(frame, pad, constant_values=fill_value)
    expected = _brute_bicubic(padded, xs + pad, ys + pad)
    out = rotate_frames(frame, angle, method="bicubic", fill_value=fill_value)
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_bilinear_fill_value_matches_padded_reference():
    shape = (9, 10)
    frame = np.random.default_rng(6).normal(size=shape)
    xs, ys = _sample_points(shape, 31.0, frame_center(shape))
    padded = np.pad(frame, 2, constant_values=-4.0)
    inside = (xs > -1) & (ys > -1) & (xs < shape[1]) & (ys < shape[0])
    expected = np.where(inside, map_coordinates(padded, [ys + 2, xs + 2], order=1), -4.0)
    np.testing.assert_allclose(rotate_frames(frame, 31.0, fill_value=-4.0), expected, atol=1e-12)


# -- NaN handling ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ROTATION_METHODS)
def test_nan_pixels_spread_only_to_their_neighbourhood(method):
    frame = gaussian((21, 21), 12.0, 9.0, sigma=3.0)
    frame[14, 6] = np.nan
    out = rotate_frames(frame, 90.0, method=method)
    expected = np.zeros(frame.shape, dtype=bool)
    expected[quarter_turn(np.isnan(frame).astype(float), 1, (10, 10)) > 0] = True
    np.testing.assert_array_equal(np.isnan(out), expected)  # a quarter turn moves the NaN, nothing more
    out = rotate_frames(frame, 30.0, method=method)
    bad = np.argwhere(np.isnan(out))
    assert 1 <= len(bad) <= 16  # at most the 4x4 taps of bicubic interpolation
    r, theta = cartesian_to_polar(6.0, 14.0, center=(10.0, 10.0))
    x, y = polar_to_cartesian(r, theta + 30.0, center=(10.0, 10.0))
    assert np.all(np.hypot(bad[:, 1] - x, bad[:, 0] - y) < 2.0 * np.sqrt(2.0))


# -- derotation ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ROTATION_METHODS)
@pytest.mark.parametrize("n", [41, 42])
def test_derotated_source_lands_at_its_final_position(method, n):
    # the convention: a source at (r, theta) of the final frame sits at (r, theta - angles[i]) in frame i
    shape = (n, n)
    center = frame_center(shape)
    angles = np.array([-14.3, -2.0, 9.5, 21.0, 33.3, 48.0, 60.1, 67.5])
    r, theta = 12.5, 31.0
    cube = np.array([gaussian(shape, *polar_to_cartesian(r, theta - a, center=center), sigma=2.0)
                     for a in angles])
    final = derotate_cube(cube, angles, method=method).mean(axis=0)
    expected = polar_to_cartesian(r, theta, center=center)
    assert centroid(final, around=expected, radius=6.0) == pytest.approx(expected, abs=0.05)
    # with the opposite sign the source would smear along its arc
    wrong = derotate_cube(cube, -angles, method=method).mean(axis=0)
    assert wrong.max() < 0.5 * final.max()


def test_derotate_cube_3d_is_rotate_frames():
    cube = np.random.default_rng(7).normal(size=(4, 11, 12))
    angles = np.array([0.0, 10.0, -35.0, 200.0])
    for method in ROTATION_METHODS:
        expected = np.array([rotate_frames(frame, a, method=method) for frame, a in zip(cube, angles)])
        np.testing.assert_allclose(derotate_cube(cube, angles, method=method), expected, atol=1e-12)


def test_derotate_cube_4d_rotates_every_channel_alike():
    rng = np.random.default_rng(8)
    cube = rng.normal(size=(3, 5, 13, 13)).astype(np.float32)
    angles = np.linspace(-20.0, 40.0, 5)
    for method in ROTATION_METHODS:
        out = derotate_cube(cube, angles, method=method)
        assert out.shape == cube.shape and out.dtype == np.float32
        for channel in range(3):
            np.testing.assert_allclose(out[channel], derotate_cube(cube[channel], angles, method=method),
                                       atol=1e-6)


@pytest.mark.parametrize("method", ROTATION_METHODS)
def test_dtype_is_kept(method):
    frames = np.ones((2, 9, 9), dtype=np.float32)
    assert rotate_frames(frames, [10.0, 20.0], method=method).dtype == np.float32
    assert rotate_frames(np.ones((9, 9), dtype=np.int16), 10.0, method=method).dtype == np.float64


def test_one_angle_for_a_whole_stack():
    frames = np.random.default_rng(9).normal(size=(3, 9, 9))
    np.testing.assert_array_equal(rotate_frames(frames, 25.0), rotate_frames(frames, [25.0] * 3))


def test_default_method_is_bilinear():
    frame = np.random.default_rng(10).normal(size=(9, 9))
    np.testing.assert_array_equal(rotate_frames(frame, 25.0), rotate_frames(frame, 25.0, method="bilinear"))
    cube = frame[None].repeat(2, axis=0)
    np.testing.assert_array_equal(derotate_cube(cube, [5.0, 9.0]), derotate_cube(cube, [5.0, 9.0],
                                                                                 method="bilinear"))


# -- errors -----------------------------------------------------------------------------------


def test_rotation_errors():
    frames = np.zeros((5, 9, 9))
    with pytest.raises(ValueError, match=r"angles: expected 5 angles \(one per frame\), got 3"):
        rotate_frames(frames, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"angles: expected 1 angles \(one per frame\), got 2"):
        rotate_frames(frames[0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"angles: expected 5 angles \(one per frame\), got 4"):
        derotate_cube(frames, np.zeros(4))
    with pytest.raises(ValueError, match=r"angles: expected 5 angles \(one per frame\), got 1"):
        derotate_cube(frames, 10.0)  # derotation wants one angle per frame, no broadcasting
    with pytest.raises(ValueError, match=r"method: expected one of 'bilinear', 'bicubic', 'fft', got 'nearest'"):
        rotate_frames(frames, 1.0, method="nearest")
    with pytest.raises(ValueError, match=r"method: expected one of .*, got 'lanczos4'"):
        derotate_cube(frames, np.zeros(5), method="lanczos4")
    with pytest.raises(ValueError, match=r"frames: expected a 2D or 3D array, got shape \(9,\)"):
        rotate_frames(np.zeros(9), 1.0)
    with pytest.raises(ValueError, match=r"frames: expected a 2D or 3D array, got shape \(2, 3, 9, 9\)"):
        rotate_frames(np.zeros((2, 3, 9, 9)), 1.0)
    with pytest.raises(ValueError, match=r"cube: expected a 3D or 4D array \(t, y, x\) or \(lambda, t, y, x\), "
                                         r"got shape \(9,\)"):
        derotate_cube(np.zeros(9), [1.0])
    with pytest.raises(ValueError, match=r"cube: expected a 3D or 4D array .*, got shape \(9, 9\)"):
        derotate_cube(np.zeros((9, 9)), [1.0])
    with pytest.raises(ValueError, match=r"angles: expected finite values, got 1 NaN or infinite value\(s\)"):
        rotate_frames(frames, [0.0, 1.0, np.nan, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"frames: expected an array of numbers, got dtype <U1"):
        rotate_frames(np.array([["a"]]), 1.0)


@pytest.mark.parametrize("method", ["bilinear", "bicubic"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_where_computes_the_same_pixels_bit_for_bit(method, dtype):
    rng = np.random.default_rng(4)
    frames = rng.normal(size=(5, 31, 28)).astype(dtype)
    angles = rng.uniform(-180, 180, 5)
    where = rng.random((31, 28)) < 0.3
    where[:, 0] = where[0, :] = True  # runs touching the edges
    whole = rotate_frames(frames, angles, method=method, fill_value=-3.0)
    some = rotate_frames(frames, angles, method=method, fill_value=-3.0, where=where)
    np.testing.assert_array_equal(some[:, where], whole[:, where])
    assert (some[:, ~where] == -3.0).all()
    # the mean over frames too (what a collapse of derotated residuals computes)
    np.testing.assert_array_equal(some[:, where].mean(axis=0), whole.mean(axis=0)[where])


@pytest.mark.parametrize("where", [np.ones((31, 27), dtype=bool), np.ones((31, 28)), np.ones((2, 31, 28), dtype=bool)])
def test_where_must_be_a_boolean_frame(where):
    with pytest.raises(ValueError, match=r"where: expected a boolean array of shape \(31, 28\)"):
        rotate_frames(np.zeros((2, 31, 28)), [1.0, 2.0], where=where)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fft_where_computes_the_same_pixels(dtype):
    # many rows: the same transforms, bit for bit; few rows: the middle shear's inverse summed at those rows
    rng = np.random.default_rng(9)
    frames = (100 * rng.normal(size=(4, 45, 45))).astype(dtype)
    angles = np.array([13.0, -101.5, 44.9, 170.0])
    whole = rotate_frames(frames, angles, method="fft")
    many = rng.random((45, 45)) < 0.3
    some = rotate_frames(frames, angles, method="fft", where=many, fill_value=-3.0)
    np.testing.assert_array_equal(some[:, many], whole[:, many])
    assert (some[:, ~many] == -3.0).all()
    few = np.zeros((45, 45), dtype=bool)
    few[[3, 20, 21, 40], 5:30] = True
    some = rotate_frames(frames, angles, method="fft", where=few)
    scale = np.abs(whole).max()
    tolerance = {np.float32: 1e-6, np.float64: 1e-14}[dtype]
    np.testing.assert_allclose(some[:, few] / scale, whole[:, few] / scale, rtol=0, atol=tolerance)
    assert some.dtype == dtype and (some[:, ~few] == 0.0).all()


def test_fft_where_must_be_a_boolean_frame():
    with pytest.raises(ValueError, match=r"where: expected a boolean array of shape \(31, 31\)"):
        rotate_frames(np.zeros((2, 31, 31)), [1.0, 2.0], method="fft", where=np.ones((31, 31)))


@pytest.mark.parametrize("shape", [(31, 28), (5, 31, 28), (2, 5, 31, 28)])
def test_out_receives_the_result_and_keeps_the_pixels_outside_where(shape):
    rng = np.random.default_rng(5)
    frames = rng.normal(size=shape)
    angles = rng.uniform(-90, 90, 5) if len(shape) > 2 else 33.0
    rotate = derotate_cube if len(shape) == 4 else rotate_frames
    buffer = np.empty(shape)
    assert rotate(frames, angles, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, rotate(frames, angles))
    where = rng.random((31, 28)) < 0.3
    buffer[...] = 7.0  # a buffer used before: only the pixels of `where` are written
    rotate(frames, angles, where=where, out=buffer)
    np.testing.assert_array_equal(buffer[..., where], rotate(frames, angles)[..., where])
    assert (buffer[..., ~where] == 7.0).all()


@pytest.mark.parametrize("out, got", [
    (np.empty((5, 31, 27)), r"got float64 of shape \(5, 31, 27\)"),
    (np.empty((5, 31, 28), np.float32), r"got float32 of shape \(5, 31, 28\)"),
    (np.empty((28, 31, 5)).T, r"got float64 of shape \(5, 31, 28\)"),  # not C-contiguous
    ([[0.0]], r"got list of shape None"),
])
def test_out_must_match_the_frames(out, got):
    with pytest.raises(ValueError, match=r"out: expected a writeable C-contiguous float64 array of shape "
                                         r"\(5, 31, 28\), " + got):
        derotate_cube(np.zeros((5, 31, 28)), np.zeros(5), out=out)


def test_the_fft_rotation_writes_out():
    rng = np.random.default_rng(10)
    frames = rng.normal(size=(2, 31, 31))
    buffer = np.full((2, 31, 31), 7.0)
    assert rotate_frames(frames, [1.0, 2.0], method="fft", out=buffer) is buffer
    np.testing.assert_array_equal(buffer, rotate_frames(frames, [1.0, 2.0], method="fft"))
    where = np.zeros((31, 31), dtype=bool)
    where[4:9, 10:20] = True
    buffer[...] = 7.0
    rotate_frames(frames, [1.0, 2.0], method="fft", where=where, out=buffer)
    np.testing.assert_allclose(buffer[:, where], rotate_frames(frames, [1.0, 2.0], method="fft")[:, where],
                               rtol=0, atol=1e-14)
    assert (buffer[:, ~where] == 7.0).all()


def _padded_square_rotation(frames, angles, center):
    """The three shears on the whole zero-padded square, every line with numpy's FFT and ``exp`` of every bin:
    the reference the fast rotation must equal."""
    from exobench.geometry._common import odd_fast_len

    n, ny, nx = frames.shape
    xc, yc = center
    half = int(max(xc, nx - 1 - xc, yc, ny - 1 - yc))
    size = odd_fast_len(2 * (half + int(np.ceil(0.75 * half)) + 2) + 1)
    mid = size // 2
    x0, y0 = mid - xc, mid - yc
    padded = np.zeros((n, size, size))
    padded[:, y0:y0 + ny, x0:x0 + nx] = frames
    quarter = np.round(angles / 90.0).astype(int)
    for i, k in enumerate(quarter % 4):
        padded[i] = np.rot90(padded[i], k=k, axes=(1, 0))
    residual = np.radians(angles - 90.0 * quarter)
    offsets = np.arange(size) - mid
    freqs = np.fft.rfftfreq(size)

    def shear(factors, axis):
        shifts = factors[:, None] * offsets[None, :]
        spectrum = np.fft.rfft(padded, axis=axis)
        if axis == 2:
            spectrum *= np.exp(-2j * np.pi * shifts[:, :, None] * freqs[None, None, :])
        else:
            spectrum *= np.exp(-2j * np.pi * shifts[:, None, :] * freqs[None, :, None])
        return np.fft.irfft(spectrum, n=size, axis=axis)

    padded = shear(-np.tan(residual / 2), 2)
    padded = shear(np.sin(residual), 1)
    padded = shear(-np.tan(residual / 2), 2)
    return padded[:, y0:y0 + ny, x0:x0 + nx]


@pytest.mark.parametrize("shape, center", [((21, 21), None), ((16, 23), None), ((19, 15), (6, 11))])
def test_fft_rotation_equals_the_three_shears_of_the_padded_square(shape, center):
    # the fast rotation transforms only the lines that matter, along the contiguous axis, with a compiled
    # phase (products of bin 1's, exact every 16 bins): the same numbers to rounding
    from exobench.geometry.coords import resolve_center

    frames = np.random.default_rng(8).normal(size=(4, *shape))
    angles = np.array([13.0, -101.5, 44.9, 170.0])
    fast = rotate_frames(frames, angles, method="fft", center=center)
    xc, yc = resolve_center(frames.shape, center)
    expected = _padded_square_rotation(frames, angles, (int(xc), int(yc)))
    np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("size, scale", [(11, 0.5), (75, 3.0), (189, 0.7)])
def test_the_direct_middle_shear_equals_the_fourier_shift(size, scale):
    # the sum with the Dirichlet kernel (what the rotation uses at few rows) against numpy's transforms, with
    # shifts beyond a period and integer ones (the kernel's 0/0 points)
    from exobench.geometry._interpolate_kernels import shear_at

    rng = np.random.default_rng(size)
    length = size // 2
    first = (size - length) // 3
    band = rng.normal(size=(3, length, size))
    factors = np.array([scale * rng.normal(), -scale, 1.0])
    offsets = np.arange(size) - size // 2.0
    padded = np.zeros((3, size, size))
    padded[:, first:first + length] = band
    shifts = factors[:, None] * offsets[None, :]
    spectrum = np.fft.rfft(padded, axis=1) * np.exp(-2j * np.pi * shifts[:, None, :]
                                                     * np.fft.rfftfreq(size)[None, :, None])
    expected = np.fft.irfft(spectrum, n=size, axis=1)
    at = np.array([0, first, first + length // 2, size - 1], dtype=np.int64)
    out = np.empty((3, at.size, size))
    shear_at(band, first, factors, offsets, float(size), at, 8.0, out)
    np.testing.assert_allclose(out, expected[:, at], rtol=0, atol=1e-13 * np.abs(expected).max())
