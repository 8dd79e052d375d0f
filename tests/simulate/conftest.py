import pytest

pytest.importorskip("hcipy", reason="the simulator needs hcipy (pip install 'exobench[simulate]')")

#: Settings that keep a test simulation small: few instants per frame, a small halo bank.
FAST = {"simulation.subframes": 2, "simulation.halo_samples": 8, "simulation.band_samples": 1}
