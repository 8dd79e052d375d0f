"""The ``cnn`` baseline through the plug-in interface of exobench.baselines and the command line."""

import math
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import yaml

from exobench import baselines as bl
from exobench.cli import main
from exobench.cnn._backend import unavailable_reason
from exobench.data.fits_io import write_dataset
from exobench.examples import example_dataset
from exobench.inject import inject_companions
from exobench.scoring.reference import Reference, ReferenceDataset
from exobench.submission import extract_zip, read_submission

SIZE = 41
COMPANIONS = {("nirc2", "1"): ([11.0], [60.0]), ("sphere_irdis", "1"): ([], [])}
#: Small, fast parameters (the defaults train a larger network on more samples).
FAST = {"cnn": {"size": "tiny", "n_samples": 300, "levels": [0.5, 0.9], "epochs": 6, "snr_band": [3.0, 8.0]}}

needs_keras = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


@pytest.fixture(scope="module")
def phase(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phase")
    truth = {}
    for seed, ((instrument, k), (seps, thetas)) in enumerate(COMPANIONS.items()):
        dataset = example_dataset(n_frames=20, size=SIZE, seed=seed).replace(instrument=instrument, dataset_id=k)
        positions = np.zeros((0, 2))
        if seps:
            injection = inject_companions(dataset, separations=seps, thetas=thetas, contrasts=[5e-3])
            dataset, positions = injection.dataset, injection.truth[["x", "y"]].to_numpy()
        write_dataset(dataset, folder)
        truth[instrument, k] = (positions, float(dataset.fwhm))
    return folder, truth


def test_cnn_is_registered_with_its_parameters():
    cls = bl.get_baseline("cnn")
    assert cls.options_key == "cnn" and cls.detection_maps() == ("significance", "probability")
    params = cls.default_params()
    assert cls.default_threshold(params) == pytest.approx(-math.log10(params["cnn"]["fpr"]))
    assert cls.default_threshold(dict(params, detection_map="probability")) == 0.9
    if unavailable_reason() is None:
        assert "cnn" in bl.available_baselines()
        assert bl.load_params({"cnn": {"epochs": 5}}, "cnn")["cnn"]["epochs"] == 5
        for bad, named in [({"cnn": {"model": "resnet"}}, "cnn: model"), ({"cnn": {"fpr": 2.0}}, "cnn: fpr"),
                           ({"cnn": {"n_samples": 3}}, "n_samples"), ({"cnn": {"epochs": "x"}}, "cnn: epochs"),
                           ({"cnn": {"model": "absent.keras"}}, "not found"), ({"cnn": {"depth": 3}}, "depth"),
                           ({"cnn": {"standardize_annuli": "yes"}}, "cnn: standardize_annuli: expected true or false"),
                           ({"cnn": {"mirrors": "yes"}}, "cnn: mirrors: expected true or false"),
                           ({"cnn": {"calibration_pixels": 0}}, "cnn: calibration_pixels"),
                           ({"cnn": {"calibration_tail": "gpd"}},
                            "cnn: calibration_tail: expected one of 'exponential', 'normal', got 'gpd'"),
                           ({"cnn": {"standardize_annuli": False, "calibration_tail": "normal"}},
                            "cnn: calibration_tail: 'normal' needs standardize_annuli: true"),
                           ({"cnn": {"own_image_radius": 0}}, "cnn: own_image_radius: expected a number > 0 or None, got 0"),
                           ({"cnn": {"variance": "all"}}, "cnn: variance: expected one of 'total', 'above-median'"),
                           ({"cnn": {"matched_filter": "yes"}}, "cnn: matched_filter: expected true or false"),
                           ({"cnn": {"null_permutations": -1}}, "cnn: null_permutations: expected an integer >= 0"),
                           ({"cnn": {"null_permutations": 2, "own_image_radius": 1.0}},
                            "cnn: null_permutations: the permuted-angle maps need own_image_radius: null"),
                           ({"cnn": {"permutation_kind": "blocks"}},
                            "cnn: permutation_kind: expected one of 'random', 'reversed-runs', got 'blocks'"),
                           ({"cnn": {"near_fraction": 2}},
                            r"cnn: near_fraction: expected a number in \[0, 1\], got 2"),
                           ({"cnn": {"delta": -1}}, r"cnn: delta: expected a rotation threshold >= 0 \(FWHM of arc\) "
                                                    r"or a list of distinct ones \(one network each\), got -1"),
                           ({"cnn": {"delta": []}}, "cnn: delta: expected"),
                           ({"cnn": {"delta": [1, 1]}}, r"cnn: delta: .*got \[1, 1\]"),
                           ({"cnn": {"delta": [0, "1"]}}, "cnn: delta: expected"),
                           ({"detection_map": "snr"}, "detection_map")]:
            with pytest.raises(ValueError, match=named):
                bl.load_params(bad, "cnn")


def test_one_network_per_delta_each_with_its_own_seeds():
    from exobench.cnn.options import CNNOptions
    from exobench.cnn.pipeline import dataset_seeds

    options = CNNOptions(delta=[0, 1.5])
    assert options.deltas == (0.0, 1.5)
    assert [options.label_settings(delta).delta for delta in options.deltas] == [0.0, 1.5]
    assert CNNOptions(near_fraction=0.25).label_settings(0.0).near_fraction == 0.25
    dataset = example_dataset(n_frames=10, size=33)
    single, first, second = (dataset_seeds(0, dataset, member) for member in (0, 0, 1))
    assert single[1] == first[1] and single[0].random() == first[0].random()  # member 0: a single network's
    assert second[1] != first[1]


def test_null_angles_are_seeded_per_dataset_and_permute_its_angles():
    import dataclasses

    from exobench.cnn.options import CNNOptions
    from exobench.cnn.pipeline import null_angles

    dataset = example_dataset(n_frames=10, size=33)
    options = CNNOptions(null_permutations=3, own_image_radius=None)
    first, again = null_angles(dataset, options), null_angles(dataset, options)
    assert len(first) == 3 and all(np.array_equal(a, b) for a, b in zip(first, again))
    assert all(np.array_equal(np.sort(a), np.sort(dataset.angles)) for a in first)
    other = null_angles(dataset.replace(dataset_id="2"), options)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    assert null_angles(dataset, CNNOptions(null_permutations=0)) == []
    runs = null_angles(dataset, dataclasses.replace(options, permutation_kind="reversed-runs"))
    assert all(np.array_equal(np.sort(a), np.sort(dataset.angles)) for a in runs)
    assert not all(np.array_equal(a, b) for a, b in zip(first, runs))
    assert bl.load_params({"cnn": {"null_permutations": 2}}, "cnn")["cnn"]["null_permutations"] == 2


def test_module_imports_without_keras_and_says_what_to_install(monkeypatch):
    import importlib.util

    from exobench.cnn import _backend
    from exobench.cnn.baseline import CNNBaseline

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "keras" else real(name, *a))
    reason = CNNBaseline.unavailable_reason()
    assert "keras is not installed" in reason and "pip install 'exobench[cnn]'" in reason
    with pytest.raises(ImportError, match=r"exobench\[cnn\]"):
        _backend.import_keras()


def test_registry_and_cnn_modules_import_no_framework_and_set_no_backend():
    code = ("import os, sys; os.environ.pop('KERAS_BACKEND', None); import exobench, exobench.baselines as bl; "
            "bl.get_baseline('cnn'); import exobench.cnn.baseline, exobench.cnn.pipeline, exobench.cnn.training; "
            "bad = [m for m in ('keras', 'torch', 'tensorflow') if m in sys.modules]; "
            "assert not bad and 'KERAS_BACKEND' not in os.environ, bad")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


@needs_keras
def test_cnn_baseline_writes_a_submission_the_scorer_accepts(phase, tmp_path, capsys):
    folder, truth = phase
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(FAST))
    archive = tmp_path / "cnn.zip"
    assert main(["baseline", "cnn", str(folder), "-o", str(archive), "--params", str(params), "--quiet"]) == 0
    threshold = -math.log10(bl.default_params("cnn")["cnn"]["fpr"])
    assert f"significance map, threshold {threshold:g}" in capsys.readouterr().out
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == sorted([f"{i}_detmap_{k}.fits" for i, k in truth] +
                                               ["detection_threshold.fits"])
    dest = tmp_path / "unzipped"
    dest.mkdir()
    extract_zip(archive, dest)
    reference = Reference(datasets=tuple(ReferenceDataset(i, k, pos, fwhm, (SIZE, SIZE))
                                         for (i, k), (pos, fwhm) in truth.items()))
    submission = read_submission(dest, reference)
    assert submission.threshold == pytest.approx(threshold) and not submission.missing
    for key, image in submission.detmaps.items():
        assert image.shape == (SIZE, SIZE) and np.all(np.isfinite(image)) and image.min() == 0.0
    detmap = submission.detmaps["nirc2", "1"]
    (x, y), = truth["nirc2", "1"][0]
    y_peak, x_peak = np.unravel_index(np.argmax(detmap), detmap.shape)
    assert np.hypot(x_peak - x, y_peak - y) <= 2.0  # the companion is the map's brightest source


@needs_keras
def test_an_ensemble_averages_its_networks_maps(phase, monkeypatch):
    import exobench.cnn.pipeline as pipeline
    from exobench.cnn.options import CNNOptions
    from exobench.data.fits_io import read_dataset

    folder, _ = phase
    dataset = read_dataset(folder, "nirc2", "1")
    cls = bl.get_baseline("cnn")
    params = bl.load_params(dict(FAST, cnn=dict(FAST["cnn"], delta=[0.0, 1.0])), "cnn")
    averaged = []
    real = pipeline.average_maps
    monkeypatch.setattr(pipeline, "average_maps", lambda maps: averaged.append(list(maps)) or real(maps))
    ensemble = cls.detection_map(dataset, params)
    # the map, the flipped map and the default null_permutations' maps, two networks each
    assert [len(maps) for maps in averaged] == [2] * (2 + params["cnn"]["null_permutations"])
    assert [m.flip_angles for m in averaged[1]] == [True, True]
    options = CNNOptions.from_mapping(params["cnn"])
    expected = pipeline.null_significance_map(real(averaged[0]), [real(maps) for maps in averaged[1:]],
                                         **options.calibration_options(dataset.angles))
    np.testing.assert_array_equal(ensemble, expected)


@needs_keras
def test_null_permutations_add_permuted_angle_maps_to_the_null(phase, monkeypatch):
    import exobench.cnn.pipeline as pipeline
    from exobench.cnn.options import CNNOptions
    from exobench.data.fits_io import read_dataset

    folder, _ = phase
    dataset = read_dataset(folder, "nirc2", "1")
    params = bl.load_params(dict(FAST, cnn=dict(FAST["cnn"], null_permutations=2, own_image_radius=None)), "cnn")
    seen, nulls = [], []
    real_map, real_significance = pipeline.probability_map, pipeline.null_significance_map
    monkeypatch.setattr(pipeline, "probability_map",
                        lambda ds, model, **kw: seen.append((ds.angles, kw.get("flip_angles", False))) or
                        real_map(ds, model, **kw))
    monkeypatch.setattr(pipeline, "null_significance_map",
                        lambda pmap, negative, **kw: nulls.append(negative) or real_significance(pmap, negative, **kw))
    detmap = bl.get_baseline("cnn").detection_map(dataset, params)
    permuted = pipeline.null_angles(dataset, CNNOptions.from_mapping(params["cnn"]))
    # two networks (the default ensemble): the map, the flipped map, then each permutation's map
    assert [flip for _, flip in seen] == [False, False, True, True, False, False, False, False]
    for (angles, _), expected in zip(seen[4:], np.repeat(permuted, 2, axis=0)):
        np.testing.assert_array_equal(angles, expected)
    assert len(nulls) == 1 and len(nulls[0]) == 3 and nulls[0][0].flip_angles
    assert detmap.shape == dataset.cube.shape[-2:] and np.all(np.isfinite(detmap))
