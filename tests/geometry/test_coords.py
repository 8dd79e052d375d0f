"""Frame centre, polar grid, cartesian <-> polar and theta <-> position angle."""

import numpy as np
import pytest

from exobench.geometry import (
    cartesian_to_polar,
    frame_center,
    pa_to_theta,
    polar_grid,
    polar_to_cartesian,
    theta_to_pa,
)


@pytest.mark.parametrize(("n", "expected"), [(1, 0.0), (5, 2.0), (9, 4.0), (99, 49.0), (101, 50.0)])
def test_frame_center_odd(n, expected):
    assert frame_center((n, n)) == (expected, expected)


@pytest.mark.parametrize(("n", "expected"), [(2, 1.0), (6, 3.0), (10, 5.0), (100, 50.0)])
def test_frame_center_even(n, expected):
    # pixel n // 2, the pixel up and right of the geometric middle (n - 1) / 2
    assert frame_center((n, n)) == (expected, expected)
    assert expected == (n - 1) / 2 + 0.5


def test_frame_center_cube_uses_last_two_axes():
    assert frame_center((61, 99, 99)) == (49.0, 49.0)
    assert frame_center((39, 24, 100, 101)) == (50.0, 50.0)
    assert frame_center(np.zeros((3, 7, 7)).shape) == (3.0, 3.0)


def test_frame_center_is_x_then_y():
    center = frame_center((10, 21))  # ny = 10, nx = 21
    assert center == (10.0, 5.0)
    assert all(type(v) is float for v in center)


def test_frame_center_needs_two_axes():
    with pytest.raises(ValueError, match=r"shape: expected at least 2 axes \(y, x\), got \(5,\)"):
        frame_center((5,))


def _brute_polar(shape, xc, yc):
    radius = np.empty(shape)
    theta = np.empty(shape)
    for y in range(shape[0]):
        for x in range(shape[1]):
            radius[y, x] = np.sqrt((x - xc) ** 2 + (y - yc) ** 2)
            theta[y, x] = np.degrees(np.arctan2(y - yc, x - xc)) % 360.0
    return radius, theta


@pytest.mark.parametrize("shape", [(5, 5), (6, 6), (7, 10), (10, 7)])
def test_polar_grid_values(shape):
    radius, theta = polar_grid(shape)
    xc, yc = frame_center(shape)
    expected_r, expected_t = _brute_polar(shape, xc, yc)
    np.testing.assert_allclose(radius, expected_r, atol=1e-12)
    np.testing.assert_allclose(theta, expected_t, atol=1e-9)
    assert radius.shape == theta.shape == shape
    assert theta.min() >= 0.0 and theta.max() < 360.0
    yc, xc = int(yc), int(xc)
    assert radius[yc, xc] == 0.0
    assert theta[yc, xc + 1] == 0.0  # +x
    assert theta[yc + 1, xc] == 90.0  # +y: up with origin="lower"
    assert theta[yc, xc - 1] == 180.0
    assert theta[yc - 1, xc] == 270.0
    assert theta[yc + 1, xc + 1] == pytest.approx(45.0)


def test_polar_grid_custom_center_and_cube_shape():
    radius, theta = polar_grid((3, 8, 9), center=(1.5, 2.0))
    expected_r, expected_t = _brute_polar((8, 9), 1.5, 2.0)
    np.testing.assert_allclose(radius, expected_r, atol=1e-12)
    np.testing.assert_allclose(theta, expected_t, atol=1e-9)


def test_cartesian_polar_round_trip_arrays():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-5, 60, 200), rng.uniform(-5, 60, 200)
    center = (24.0, 31.0)
    radius, theta = cartesian_to_polar(x, y, center=center)
    assert isinstance(radius, np.ndarray) and radius.shape == (200,)
    assert theta.min() >= 0.0 and theta.max() < 360.0
    back_x, back_y = polar_to_cartesian(radius, theta, center=center)
    np.testing.assert_allclose(back_x, x, atol=1e-10)
    np.testing.assert_allclose(back_y, y, atol=1e-10)
    # and polar -> cartesian -> polar, with angles outside [0, 360) folded back
    r2, t2 = cartesian_to_polar(*polar_to_cartesian(radius, theta - 720.0, center=center), center=center)
    np.testing.assert_allclose(r2, radius, atol=1e-10)
    np.testing.assert_allclose((t2 - theta + 180.0) % 360.0 - 180.0, 0.0, atol=1e-9)


def test_cartesian_polar_scalars_return_floats():
    r, t = cartesian_to_polar(49.0, 59.0, center=(49.0, 49.0))
    assert (r, t) == (10.0, 90.0) and type(r) is float and type(t) is float
    x, y = polar_to_cartesian(10.0, 180.0, center=(49.0, 49.0))
    assert type(x) is float and type(y) is float
    assert (x, y) == pytest.approx((39.0, 49.0), abs=1e-12)
    r, t = cartesian_to_polar(np.float32(3.0), 4, center=(0, 0))
    assert (r, t) == pytest.approx((5.0, np.degrees(np.arctan2(4, 3))))
    assert type(r) is float
    assert cartesian_to_polar(48.0, 49.0, center=(49.0, 49.0)) == (1.0, 180.0)
    assert cartesian_to_polar(49.0, 48.0, center=(49.0, 49.0)) == (1.0, 270.0)


def test_cartesian_polar_arrays_keep_their_shape():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    r, t = cartesian_to_polar(x, x, center=(0.0, 0.0))
    assert r.shape == t.shape == (2, 2)
    np.testing.assert_allclose(t, 45.0)
    px, py = polar_to_cartesian(np.array([1.0, 2.0]), 90.0, center=(5.0, 5.0))
    np.testing.assert_allclose(px, [5.0, 5.0], atol=1e-12)
    np.testing.assert_allclose(py, [6.0, 7.0])


def test_theta_to_pa_compass_points():
    # north-up, east-left: north is +y (theta 90), east is -x (theta 180)
    assert theta_to_pa(90.0) == 0.0
    assert theta_to_pa(180.0) == 90.0
    assert theta_to_pa(270.0) == 180.0
    assert theta_to_pa(0.0) == 270.0
    assert theta_to_pa(-45.0) == 225.0
    assert theta_to_pa(450.0) == 0.0
    assert type(theta_to_pa(12.0)) is float


def test_pa_to_theta_inverts_theta_to_pa():
    assert pa_to_theta(0.0) == 90.0 and pa_to_theta(90.0) == 180.0 and pa_to_theta(270.0) == 0.0
    assert type(pa_to_theta(1.0)) is float
    theta = np.linspace(-400.0, 400.0, 161)
    pa = theta_to_pa(theta)
    assert isinstance(pa, np.ndarray) and pa.shape == theta.shape
    assert pa.min() >= 0.0 and pa.max() < 360.0
    np.testing.assert_allclose(pa_to_theta(pa), theta % 360.0, atol=1e-9)
    np.testing.assert_allclose(pa, (theta - 90.0) % 360.0)
