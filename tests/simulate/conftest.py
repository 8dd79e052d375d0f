import pytest

pytest.importorskip("hcipy", reason="the simulator needs hcipy (a dependency of exobench: pip install hcipy)")

#: Settings that keep a test simulation small: few instants per frame, a small halo bank.
FAST = {"simulation.subframes": 2, "simulation.halo_samples": 8, "simulation.band_samples": 1}
