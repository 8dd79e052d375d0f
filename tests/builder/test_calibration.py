"""The flux-to-S/N relation: its interpolation both ways, its cache format, and what it measures."""

import numpy as np
import pytest

from exobench.builder.calibration import Calibrator, FluxCalibration, calibrate_fluxes
from exobench.data import Dataset
from exobench.examples import example_dataset


def test_relation_interpolates_both_ways_and_round_trips_json():
    relation = FluxCalibration(separations=np.array([10.0, 20.0]), fluxes=np.array([[0, 10, 20], [0, 20, 40.0]]),
                               snr=np.array([[0, 2, 4], [0, 2, 4.0]]), explained_variance=np.array([0.9, 0.99]))
    assert relation.flux_for_snr(10.0, 3.0) == pytest.approx(15.0)
    assert relation.flux_for_snr(15.0, 3.0) == pytest.approx(22.5)  # between separations: linear
    assert relation.snr_for_flux(20.0, relation.flux_for_snr(20.0, 2.5)) == pytest.approx(2.5)
    again = FluxCalibration.from_json(relation.to_json())
    for name in ("separations", "fluxes", "snr", "explained_variance"):
        np.testing.assert_array_equal(getattr(again, name), getattr(relation, name))


def test_snr_grows_with_flux_and_the_best_level_is_one_of_the_levels():
    dataset = example_dataset(n_frames=24, size=41)
    fwhm = float(dataset.fwhm)
    relation = calibrate_fluxes(dataset, separations=np.array([2.5, 3.5, 4.5]) * fwhm, azimuths=2,
                                explained_variance=(0.5, 0.9))
    assert relation.snr.shape == relation.fluxes.shape == (3, 65)
    assert np.all(np.diff(relation.snr, axis=1) >= 0) and np.all(relation.snr[:, -1] > 5)
    assert set(relation.explained_variance) <= {0.5, 0.9}
    # the S/N at zero flux is the dataset's own (noise) at that spot, small
    calibrator = Calibrator(dataset, explained_variance=(0.9,))
    assert abs(calibrator.snr_at([3 * fwhm], [0.0], [0.9])[0]) < 4


@pytest.fixture(scope="module")
def grid_dataset():
    dataset = example_dataset(n_frames=20, size=61, seed=4)
    return dataset, np.arange(2.5, 7.0, 1.0) * float(dataset.fwhm)


def test_each_separations_relation_does_not_depend_on_the_others_measured(grid_dataset):
    dataset, grid = grid_dataset
    whole = Calibrator(dataset, explained_variance=(0.9,)).relation(grid, azimuths=3)
    for only in ([1], [0, 3], [4, 2]):
        part = Calibrator(dataset, explained_variance=(0.9,)).relation(grid, azimuths=3, only=only)
        rows = np.unique(only)
        np.testing.assert_array_equal(part.snr, whole.snr[rows])
        np.testing.assert_array_equal(part.fluxes, whole.fluxes[rows])


def test_trial_companions_out_of_reach_are_not_injected_and_change_nothing(monkeypatch):
    import exobench.builder.calibration as calibration

    dataset = example_dataset(n_frames=12, size=121, seed=5)
    grid = np.arange(2.5, 13.0, 1.0) * float(dataset.fwhm)  # 11 separations, to 50 px
    counts = []
    original = calibration.companion_cube

    def counting(view, separations, thetas, **options):
        counts.append(len(separations))
        return original(view, separations, thetas, **options)

    monkeypatch.setattr(calibration, "companion_cube", counting)
    near = Calibrator(dataset, explained_variance=(0.9,)).relation(grid, azimuths=3, only=[0])
    everything = Calibrator(dataset, explained_variance=(0.9,))
    everything._reach = np.inf
    assert_equal = np.testing.assert_array_equal
    assert_equal(everything.relation(grid, azimuths=3, only=[0]).snr, near.snr)
    # separation 0 is in one group per azimuth (parity 0: separations 0, 2, ..., 10)
    assert counts[3:] == [6, 6, 6]
    assert all(1 <= count < 6 for count in counts[:3])  # the far ones were left out


def test_companion_cube_is_the_injection_into_a_blank_copy():
    from exobench.builder.calibration import companion_cube
    from exobench.inject import inject_companions

    dataset = example_dataset(n_frames=9, size=61, seed=2)
    separations, thetas = [8.0, 14.5, 21.0], [10.0, 200.0, 95.0]
    blank = Dataset(np.zeros(dataset.cube.shape), dataset.angles, psf=dataset.normalized_psf, fwhm=dataset.fwhm,
                    star_flux=1.0)
    expected = inject_companions(blank, separations=separations, thetas=thetas, fluxes=np.ones(3)).dataset.cube
    assert companion_cube(dataset, separations, thetas).tobytes() == expected.tobytes()
