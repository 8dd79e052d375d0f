import numpy as np
import pytest

from exobench.simulate import parallactic_angle
from exobench.simulate.phase import ScreenProcess, ao_residual_psd, frequency_grid, power_law_psd


def _zenith_position_angle(hour_angle_h, dec_deg, lat_deg):
    """Brute force: the position angle (north through east) of the zenith seen
    from the target, from unit vectors in the hour-angle frame."""
    h, dec, lat = np.radians(15 * hour_angle_h), np.radians(dec_deg), np.radians(lat_deg)
    target = np.array([np.cos(dec) * np.cos(h), -np.cos(dec) * np.sin(h), np.sin(dec)])
    pole = np.array([0.0, 0.0, 1.0])
    zenith = np.array([np.cos(lat), 0.0, np.sin(lat)])
    north = pole - pole @ target * target
    east = np.cross(pole, target)  # towards increasing right ascension
    to_zenith = zenith - zenith @ target * target
    return np.degrees(np.arctan2(to_zenith @ east, to_zenith @ north))


@pytest.mark.parametrize("dec, lat", [(-51.07, -24.63), (20.0, 19.83), (-30.0, -30.24), (60.0, 32.7)])
def test_parallactic_angle_matches_spherical_geometry(dec, lat):
    hours = np.linspace(-3, 3, 25)
    expected = np.array([_zenith_position_angle(h, dec, lat) for h in hours])
    got = parallactic_angle(hours, declination_deg=dec, latitude_deg=lat)
    difference = (got - expected + 180) % 360 - 180
    np.testing.assert_allclose(difference, 0, atol=1e-9)


def test_parallactic_angle_is_continuous_through_a_zenith_transit():
    # a target transiting 0.2 deg north of the zenith turns by almost 180 deg in minutes
    hours = np.linspace(-0.5, 0.5, 2001)
    q = parallactic_angle(hours, declination_deg=20.03, latitude_deg=19.83)
    assert np.max(np.abs(np.diff(q))) < 5
    assert abs(q[-1] - q[0]) > 170


def test_screen_rms_follows_the_psd():
    n, dx = 64, 0.25
    f = frequency_grid(n, dx)
    psd = power_law_psd(f, exponent=-2, rms=80e-9, df=1 / (n * dx), min_frequency=0.1)
    process = ScreenProcess(psd, dx, lifetime=1.0, rng=np.random.default_rng(3))
    screens = process.sample(np.arange(200) * 100.0)  # independent draws
    assert np.sqrt(np.mean(screens**2)) == pytest.approx(80e-9, rel=0.03)


def test_screen_correlation_decays_exponentially():
    n, dx = 32, 0.25
    f = frequency_grid(n, dx)
    psd = power_law_psd(f, exponent=-2, rms=50e-9, df=1 / (n * dx), min_frequency=0.1)
    process = ScreenProcess(psd, dx, lifetime=2.0, rng=np.random.default_rng(4))
    lags = []
    for start in np.arange(300) * 1000.0:
        a, b, c = process.sample([start, start + 1.0, start + 4.0])
        lags.append((np.mean(a * b), np.mean(a * c), np.mean(a * a)))
    lag1, lag4, zero = np.mean(lags, axis=0)
    assert lag1 / zero == pytest.approx(np.exp(-0.5), abs=0.04)
    assert lag4 / zero == pytest.approx(np.exp(-2.0), abs=0.04)


def test_static_screens_never_change_and_times_must_increase():
    f = frequency_grid(16, 0.5)
    psd = power_law_psd(f, exponent=-2, rms=1e-8, df=1 / 8, min_frequency=0.1)
    process = ScreenProcess(psd, 0.5, lifetime=np.inf, rng=np.random.default_rng(0))
    first, later = process.sample([0.0, 1e6])
    np.testing.assert_array_equal(first, later)
    with pytest.raises(ValueError, match="times: expected a 1D array of increasing times"):
        process.sample([5.0, 1.0])


def test_ao_residual_psd_total_and_fitting_error():
    n, dx = 128, 8.0 / 64
    f, df = frequency_grid(n, dx), 1 / (n * dx)
    psd = ao_residual_psd(f, r0=0.15, outer_scale=25, cutoff=7 / 8.0, residual_rms=300e-9, df=df)
    assert np.sqrt(psd.sum() * df**2) == pytest.approx(300e-9, rel=1e-9)
    # beyond the control radius the turbulence is left as it is
    outside = f > 1.0
    untouched = ao_residual_psd(f, r0=0.15, outer_scale=25, cutoff=7 / 8.0, residual_rms=600e-9, df=df)
    np.testing.assert_allclose(psd[outside], untouched[outside])
    with pytest.raises(ValueError, match=r"ao.residual_wfe_nm: 10 nm is below the fitting error"):
        ao_residual_psd(f, r0=0.15, outer_scale=25, cutoff=7 / 8.0, residual_rms=10e-9, df=df)
