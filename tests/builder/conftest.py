import textwrap

import pytest

SMALL = """
name: tiny
seed: 5
calibration: {azimuths: 2, explained_variance: [0.9, 0.99]}
injection:
  companions: [COMPANIONS]
  separation_bands_fwhm: [[2.5, 5], [5, 9]]
  min_spacing_fwhm: 3
phases:
  - number: 1
    kind: adi
    sources:
      - simulate: sphere_irdis
        frames: 16
        frame_size: 71
        overrides: {simulation.subframes: 2, simulation.halo_samples: 12}
      - simulate: lmircam
        frames: 16
        frame_size: 121
        seed: 3
        overrides: {simulation.subframes: 2, simulation.halo_samples: 12, simulation.band_samples: 1}
      - simulate: sphere_irdis
        frames: 16
        frame_size: 71
        overrides: {simulation.subframes: 2, simulation.halo_samples: 12}
  - number: 2
    kind: adi+msdi
    sources:
      - simulate: sphere_ifs
        frames: 12
        frame_size: 71
        overrides: {wavelength.channels: 3, simulation.subframes: 2, simulation.halo_samples: 12}
"""


@pytest.fixture
def write_definition(tmp_path):
    """Write a small challenge definition (``companions`` as 'low, high') and return its path."""

    def write(companions="1, 3", text=SMALL, name="tiny.yaml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).replace("COMPANIONS", companions))
        return path

    return write
