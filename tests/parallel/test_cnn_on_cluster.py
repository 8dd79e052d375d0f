"""The CNN baseline (labelled samples, training and inference per dataset) on a 2-worker
local cluster gives the in-process maps byte for byte."""

import numpy as np
import pytest

from exobench import baselines as bl
from exobench.cnn._backend import unavailable_reason
from exobench.data.fits_io import write_dataset
from exobench.examples import example_dataset
from exobench.inject import inject_companions

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))

#: A tiny network on few samples: seconds per dataset.
FAST = {"cnn": {"size": "tiny", "n_samples": 200, "levels": [0.5, 0.9], "epochs": 3, "snr_band": [3.0, 8.0]}}


def test_cnn_maps_are_identical_on_a_cluster(cluster, tmp_path):
    for seed, k in enumerate(("1", "2", "3")):  # 3 datasets on 2 workers: both busy, then one
        dataset = example_dataset(n_frames=16, size=35, seed=seed).replace(instrument="nirc2", dataset_id=k)
        if k != "2":
            dataset = inject_companions(dataset, separations=[9.0], thetas=[50.0 * seed], contrasts=[5e-3]).dataset
        write_dataset(dataset, tmp_path)
    params = bl.load_params(FAST, "cnn")
    local = bl.run_baseline("cnn", tmp_path, params=params)
    remote = bl.run_baseline("cnn", tmp_path, params=params, executor=cluster)
    assert list(local.maps) == list(remote.maps) == [("nirc2", "1"), ("nirc2", "2"), ("nirc2", "3")]
    for key in local.maps:
        assert local.maps[key].dtype == np.float64
        assert local.maps[key].tobytes() == remote.maps[key].tobytes()
