"""A model saved with the torch backend predicts the same when loaded with tensorflow."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from exobench.cnn._backend import unavailable_reason

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
    pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                       reason="tensorflow is not installed, so the tensorflow backend cannot be checked "
                              "(.ci/run installs tensorflow-cpu; locally: pip install tensorflow-cpu)"),
]

LOAD_AND_PREDICT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from exobench.cnn.training import load_model
    from exobench.cnn._backend import backend_name
    data = np.load(sys.argv[1])
    report = {"backend": backend_name(), "names": []}
    for model, out in zip(sys.argv[2::2], sys.argv[3::2]):
        trained = load_model(model)
        np.save(out, trained.predict(data["x"], data["separations"], float(data["fwhm"])))
        report["names"].append(trained.name)
    print(json.dumps(report))
""")
NAMES = ("conv3d", "na-conv3d", "convlstm")


def test_torch_models_predict_the_same_with_tensorflow(tmp_path):
    from exobench.cnn.training import save_model, train_model
    from tests.cnn.test_training import synthetic_samples

    samples = synthetic_samples(n=120)
    np.savez(tmp_path / "inputs.npz", x=samples.x, separations=samples.separations, fwhm=samples.fwhm)
    expected, arguments = {}, []
    for name in NAMES:
        trained = train_model(samples, model=name, size="tiny", epochs=2, batch_size=32, random_state=0)
        assert trained.metadata["backend"] == "torch"
        save_model(trained, tmp_path / f"{name}.keras")
        expected[name] = trained.predict(samples.x, samples.separations, samples.fwhm)
        arguments += [str(tmp_path / f"{name}.keras"), str(tmp_path / f"{name}.npy")]
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT, str(tmp_path / "inputs.npz"), *arguments],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report == {"backend": "tensorflow", "names": list(NAMES)}
    for name in NAMES:
        np.testing.assert_allclose(np.load(tmp_path / f"{name}.npy"), expected[name], rtol=0, atol=1e-5,
                                   err_msg=name)
