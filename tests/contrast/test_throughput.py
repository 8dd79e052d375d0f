"""Throughput by injection-recovery: 1 for an algorithm that subtracts nothing, the brute-force value for
median ADI, one task per branch."""

import numpy as np
import pytest

from exobench.algorithms import PCA, MedianADI
from exobench.contrast import branch_thetas, injection_rounds, throughput
from exobench.data import Dataset
from exobench.examples import example_dataset
from exobench.inject import inject_companions
from exobench.parallel import Executor
from exobench.photometry import aperture_flux

from .conftest import FWHM, noise_dataset


def test_noop_without_rotation_has_throughput_one(noop):
    dataset = noise_dataset(seed=0, size=61)
    measured = throughput(noop(), dataset, branches=3)
    np.testing.assert_allclose(measured.values, 1.0, rtol=1e-9)
    np.testing.assert_allclose(measured.std, 0.0, atol=1e-9)
    assert measured.values.shape == (3, len(measured.separation_px))


def test_noop_with_flux_preserving_derotation_has_throughput_one(noop):
    """The frames rotate and the no-op derotates them (Fourier rotation): the companions come back whole."""
    dataset = noise_dataset(seed=1, size=61, angles=np.linspace(0.0, 60.0, 6))
    measured = throughput(noop(derotation="fft"), dataset, branches=3)
    np.testing.assert_allclose(measured.mean, 1.0, atol=0.01)


def test_median_adi_matches_brute_force_injection_recovery():
    """inject, run median ADI, subtract its final frame without companions, aperture photometry:
    recovered / the companion's flux in a frame holding only it."""
    dataset = example_dataset(n_frames=16, size=45, rotation=60.0, seed=3)
    fwhm = float(dataset.fwhm)
    separations = np.array([1.5, 3.5, 5.5]) * fwhm  # 2 FWHM apart: one injection round with spacing 2
    fluxes = np.array([400.0, 150.0, 60.0])
    measured = throughput(MedianADI(), dataset, separations=separations, fluxes=fluxes, branches=2, theta0=20.0,
                          spacing=2.0)
    algorithm = MedianADI()
    reference = algorithm.process(dataset).final
    for row, theta in enumerate([20.0, 200.0]):
        injection = inject_companions(dataset, separations=separations, thetas=[theta] * 3, fluxes=fluxes)
        residual = algorithm.process(injection.dataset).final - reference
        recovered = aperture_flux(residual, injection.positions, radius=fwhm / 2)
        alone = Dataset(np.zeros((1, 45, 45)), [0.0], psf=dataset.psf, fwhm=dataset.fwhm)
        image = inject_companions(alone, separations=separations, thetas=[theta] * 3, fluxes=fluxes).dataset.cube[0]
        injected = aperture_flux(image, injection.positions, radius=fwhm / 2)
        np.testing.assert_allclose(measured.recovered[row], recovered, rtol=1e-9)
        np.testing.assert_allclose(measured.values[row], recovered / injected, rtol=1e-9)
    assert np.all((measured.mean > 0.05) & (measured.mean < 1.0))  # median ADI subtracts some of the companion
    np.testing.assert_allclose(measured.std, np.std(measured.values, axis=0, ddof=1), rtol=1e-12)


@pytest.mark.parametrize("rings", [False, True])
def test_rounds_compute_only_the_pixels_they_read(monkeypatch, rings):
    """The final frames with companions are computed at the apertures (and their rings) alone: the throughput
    of whole final frames, to rounding (the Fourier derotation sums its last transforms at a few rows)."""
    import importlib

    module = importlib.import_module("exobench.contrast.throughput")
    dataset = example_dataset(n_frames=12, size=45, rotation=60.0, seed=4)
    algorithm = PCA(ncomp=3, derotation="fft")
    asked = []
    original = module.final_frame

    def recording(algorithm, dataset, *, where=None):
        asked.append(None if where is None else where.copy())
        return original(algorithm, dataset, where=where)

    monkeypatch.setattr(module, "final_frame", recording)
    measured = throughput(algorithm, dataset, branches=2, rings=rings)
    masks = [where for where in asked if where is not None]
    assert len(masks) == 2 * len(injection_rounds(len(measured.separation_px), 1.0, 3.0))
    share = max(where.mean() for where in masks)
    assert share < (0.6 if rings else 0.1)
    monkeypatch.setattr(module, "final_frame", lambda algorithm, dataset, *, where=None: original(algorithm, dataset))
    whole = throughput(algorithm, dataset, branches=2, rings=rings)
    scale = np.abs(whole.recovered).max()
    np.testing.assert_allclose(measured.recovered / scale, whole.recovered / scale, rtol=0, atol=1e-11)
    if rings:
        for ours, theirs in zip(measured.rings, whole.rings):
            for a, b in zip(ours, theirs):
                np.testing.assert_allclose(a / scale, b / scale, rtol=0, atol=1e-11)


def test_default_fluxes_are_a_multiple_of_the_local_noise(noop):
    dataset = noise_dataset(seed=5, size=41)
    from exobench.contrast import ring_noise

    measured = throughput(noop(), dataset, branches=1, injection_snr=3.0)
    noise = ring_noise(dataset.cube.mean(axis=0), measured.separation_px, FWHM)
    np.testing.assert_allclose(measured.fluxes, 3.0 * noise.std, rtol=1e-12)


class _Recording:
    """An in-process executor that records the tasks it is given."""

    def __init__(self):
        self.inner = Executor(workers=0)
        self.calls = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def map(self, fn, items, **kwargs):
        items = list(items)
        self.calls.append((kwargs.get("key"), len(items)))
        return self.inner.map(fn, items, **kwargs)


def test_one_task_per_branch(noop):
    recording = _Recording()
    throughput(noop(), noise_dataset(seed=6, size=41), branches=5, executor=recording)
    assert recording.calls == [("contrast_reference", 1), ("contrast_branch", 5)]


def test_branches_and_rounds():
    np.testing.assert_allclose(branch_thetas(4, 10.0), [10.0, 100.0, 190.0, 280.0])
    assert injection_rounds(5, 1.0, 3.0) == [[0, 3], [1, 4], [2]]
    assert injection_rounds(4, 2.0, 3.0) == [[0, 2], [1, 3]]
    assert injection_rounds(3, 1.0, 0.5) == [[0, 1, 2]]
    with pytest.raises(ValueError, match=r"^branches: expected an integer >= 1, got 0$"):
        branch_thetas(0)


def test_throughput_errors(noop):
    dataset = noise_dataset(seed=7, size=41)
    with pytest.raises(ValueError, match=r"^fluxes: expected positive fluxes at every separation, got \[0.0, 0.0"):
        throughput(noop(), dataset.replace(cube=np.zeros_like(dataset.cube)), branches=1)
    with pytest.raises(ValueError, match=r"^spacing: expected a number > 0, got -1$"):
        throughput(noop(), dataset, spacing=-1)
    with pytest.raises(ValueError, match=r"^separations: companion 0 at \(x, y\) = \(70.0, 20.0\) lies outside"):
        throughput(noop(), dataset, separations=[50.0], fluxes=1.0, branches=1)


@pytest.mark.slow
def test_a_local_cluster_gives_the_same_curve_as_in_process(monkeypatch):
    """The branches run on 2 worker processes: the same numbers, byte for byte."""
    from exobench.contrast import contrast_curve
    from exobench.parallel import SCHEDULER_ENV

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    dataset = example_dataset(n_frames=10, size=33, seed=4)
    local = contrast_curve(MedianADI(), dataset, branches=2)
    with Executor(workers=2) as cluster:
        distributed = contrast_curve(MedianADI(), dataset, branches=2, executor=cluster)
    assert distributed.contrast.tobytes() == local.contrast.tobytes()
    assert distributed.throughput_std.tobytes() == local.throughput_std.tobytes()
