"""Sub-pixel shifts: sign, accuracy, exactness, flux and errors."""

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from exobench.geometry import SHIFT_METHODS, shift_frames

from .conftest import centroid, gaussian


def _integer_shift(frame, dx, dy, fill=0.0):
    """Reference: content at (x, y) moves to (x + dx, y + dy); what enters is ``fill``."""
    ny, nx = frame.shape
    out = np.full_like(frame, fill)
    for y in range(ny):
        for x in range(nx):
            if 0 <= x + dx < nx and 0 <= y + dy < ny:
                out[y + dy, x + dx] = frame[y, x]
    return out


@pytest.mark.parametrize("shape", [(32, 32), (33, 33), (30, 35)])
@pytest.mark.parametrize(("dx", "dy"), [(0.3, 0.0), (0.0, -0.45), (1.7, -2.3), (-3.25, 2.5), (0.5, 0.5)])
def test_fft_shift_moves_the_centroid(shape, dx, dy):
    x0, y0 = 15.2, 14.7
    frame = gaussian(shape, x0, y0, sigma=2.0)
    out = shift_frames(frame, dx, dy, method="fft")
    assert centroid(out) == pytest.approx((x0 + dx, y0 + dy), abs=1e-3)
    # and the shifted image is the Gaussian at its new place
    np.testing.assert_allclose(out, gaussian(shape, x0 + dx, y0 + dy, sigma=2.0), atol=1e-6)


@pytest.mark.parametrize("method", SHIFT_METHODS)
def test_shift_sign_content_moves_by_plus_dx_dy(method):
    frame = np.zeros((12, 12))
    frame[3, 4] = 1.0
    out = shift_frames(frame, 2.0, 5.0, method=method)
    assert np.unravel_index(np.argmax(out), out.shape) == (8, 6)  # image[y + dy, x + dx]


@pytest.mark.parametrize("method", ["bilinear", "bicubic"])
@pytest.mark.parametrize(("dx", "dy"), [(0, 0), (1, 0), (0, -2), (3, 2), (-4, -1)])
def test_integer_shifts_are_exact_with_interpolation(method, dx, dy):
    frame = np.random.default_rng(11).normal(size=(9, 11))
    np.testing.assert_array_equal(shift_frames(frame, dx, dy, method=method), _integer_shift(frame, dx, dy))
    # what enters from outside is fill_value, and only that (also when it is NaN)
    np.testing.assert_array_equal(shift_frames(frame, dx, dy, method=method, fill_value=np.nan),
                                  _integer_shift(frame, dx, dy, np.nan))


@pytest.mark.parametrize(("dx", "dy"), [(1, 0), (0, -2), (3, 2), (-4, -1)])
def test_integer_fft_shifts_roll_periodically(dx, dy):
    frame = np.random.default_rng(12).normal(size=(9, 10))
    np.testing.assert_allclose(shift_frames(frame, dx, dy, method="fft"),
                               np.roll(frame, (dy, dx), axis=(0, 1)), atol=1e-12)


@pytest.mark.parametrize("shape", [(16, 16), (17, 17), (16, 19)])
def test_fft_shift_conserves_flux(shape):
    rng = np.random.default_rng(13)
    frames = rng.normal(size=(4, *shape)) + 3.0  # even white noise: the sum is the zero frequency
    out = shift_frames(frames, [0.3, -1.7, 2.5, 0.5], [0.9, 0.1, -3.3, 0.5], method="fft")
    np.testing.assert_allclose(out.sum(axis=(1, 2)), frames.sum(axis=(1, 2)), rtol=1e-12)
    assert np.isrealobj(out)


@pytest.mark.parametrize("shape", [(16, 16), (15, 18)])
def test_bilinear_shift_matches_scipy_map_coordinates(shape):
    frame = np.random.default_rng(14).normal(size=shape)
    dx, dy = 1.3, -0.6
    y, x = np.mgrid[: shape[0], : shape[1]].astype(float)
    expected = map_coordinates(frame, [y - dy, x - dx], order=1, mode="constant", cval=0.0)
    out = shift_frames(frame, dx, dy, method="bilinear")
    interior = (x - dx >= 0) & (x - dx <= shape[1] - 1) & (y - dy >= 0) & (y - dy <= shape[0] - 1)
    np.testing.assert_allclose(out[interior], expected[interior], atol=1e-12)


@pytest.mark.parametrize("method", SHIFT_METHODS)
def test_shifts_of_a_smooth_source_agree(method):
    shape = (31, 31)
    frame = gaussian(shape, 14.0, 16.0, sigma=2.5)
    out = shift_frames(frame, 0.4, -0.7, method=method)
    assert centroid(out) == pytest.approx((14.4, 15.3), abs={"fft": 1e-6, "bicubic": 5e-3, "bilinear": 5e-3}[method])


def test_per_frame_shifts_and_dtype():
    frames = np.stack([gaussian((21, 21), 10.0, 10.0)] * 3).astype(np.float32)
    out = shift_frames(frames, [0.0, 1.5, -2.0], [0.5, 0.0, 1.0])
    assert out.dtype == np.float32 and out.shape == frames.shape
    for frame, (dx, dy) in zip(out, [(0.0, 0.5), (1.5, 0.0), (-2.0, 1.0)]):
        assert centroid(frame) == pytest.approx((10.0 + dx, 10.0 + dy), abs=1e-3)
    same = shift_frames(frames, 1.0, 2.0)  # one pair for all frames
    np.testing.assert_allclose(same[0], same[2])


def test_default_method_is_fft():
    frame = np.random.default_rng(15).normal(size=(8, 8))
    np.testing.assert_array_equal(shift_frames(frame, 0.3, 0.2), shift_frames(frame, 0.3, 0.2, method="fft"))


def test_shift_errors():
    frames = np.zeros((3, 8, 8))
    with pytest.raises(ValueError, match=r"dx: expected one value or 3 \(one per frame\), got 2"):
        shift_frames(frames, [1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match=r"dy: expected one value or 3 \(one per frame\), got 4"):
        shift_frames(frames, 0.0, np.zeros(4))
    with pytest.raises(ValueError, match=r"method: expected one of 'fft', 'bilinear', 'bicubic', got 'spline'"):
        shift_frames(frames, 1.0, 1.0, method="spline")
    with pytest.raises(ValueError, match=r"dx: expected finite values, got 1 NaN or infinite value\(s\)"):
        shift_frames(frames, np.inf, 0.0)
    with pytest.raises(ValueError, match=r"frames: expected a 2D or 3D array, got shape \(8,\)"):
        shift_frames(np.zeros(8), 1.0, 1.0)
