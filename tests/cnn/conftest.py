"""Fixtures shared by the tests of the CNN's maps: a small dataset, its samples and a tiny trained model."""

import pytest


@pytest.fixture(scope="session")
def dataset():
    from exobench.examples import example_dataset

    return example_dataset(n_frames=20, size=41, seed=1)


@pytest.fixture(scope="session")
def samples(dataset):
    from exobench.cnn.labels import generate_samples
    from exobench.cnn.samples import LabelSettings

    settings = LabelSettings(n_samples=400, snr_band=(6.0, 10.0), levels=(0.5, 0.8, 0.95))
    return generate_samples(dataset, settings, random_state=0)


@pytest.fixture(scope="session")
def trained(samples):
    from exobench.cnn.training import train_model

    return train_model(samples, model="na-conv3d", size="tiny", epochs=10, batch_size=32, random_state=0)
