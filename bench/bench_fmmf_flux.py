"""FMMF's refined flux of companions on and off pixel centres, read at the map's maximum.

    python bench/bench_fmmf_flux.py

On the synthetic cube ``example_dataset(n_frames=30, size=65, seed=2)``, one
companion per run at 10, 15 and 20 px, on a pixel centre and off it by 1/4 or
1/2 px in x, y or both (and -0.34, +0.2), with a flux for a calibrated S/N of
16-32; ``FMMF()`` on the rings within 4 px of the companion. Prints one
markdown row per run: the separation, the flux, the statistic at the map's
local maximum within 2 px of the companion, that maximum's offset from the
companion, the first-order and the refined flux there and the refined flux at
the pixel nearest the companion (over the injected flux), and the position
the refinement fits at the maximum minus the companion's (blank with a
version of exobench whose ``FMMF`` does not fit it). Hand-written reading:
docs/benchmarks.md, "FMMF flux off a pixel centre and at the map's maximum".
"""

import sys

import numpy as np

from exobench.algorithms import FMMF
from exobench.examples import example_dataset
from exobench.geometry import cartesian_to_polar, polar_to_cartesian
from exobench.inject import inject_companions

#: Companions' pixels (x, y from the star) and fluxes; offsets (x, y) from those pixels' centres.
PIXELS = (((9, 5), 146.0), ((6, 8), 150.0), ((-9, 12), 40.0), ((12, -16), 15.0))
OFFSETS = ((0, 0), (0.25, 0), (0, 0.25), (0.25, 0.25), (0.5, 0), (0.5, 0.5), (-0.34, 0.2))


def fitted_offset(detector, dataset, peak, x, y):
    """The position the refinement fits at the flat pixel ``peak`` minus ``(x, y)``, as text."""
    setup = detector._setup(dataset)
    if not hasattr(setup, "locate"):
        return ""
    radius, theta, _ = setup.locate(peak)
    found_x, found_y = polar_to_cartesian(radius, theta, center=dataset.center)
    return f"{found_x - x:+.2f}, {found_y - y:+.2f}"


def main():
    empty = example_dataset(n_frames=30, size=65, seed=2)
    xc, yc = empty.center
    fwhm = float(empty.fwhm)
    print("| pixel from the star (x, y), offset (px) | sep. (px) | flux | S/N at the max | max - companion (px) "
          "| first order at the max | refined at the max | refined at the nearest pixel | fitted - companion (px) |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |")
    for (px, py), flux in PIXELS:
        for dx, dy in OFFSETS:
            x, y = xc + px + dx, yc + py + dy
            separation, theta = cartesian_to_polar(x, y, center=empty.center)
            dataset = inject_companions(empty, separations=[separation], thetas=[theta], fluxes=[flux]).dataset
            options = {"inner_radius": (separation - 4) / fwhm, "outer_radius": (separation + 4) / fwhm}
            detector = FMMF(**options)
            detection = detector.detect(dataset)
            first = FMMF(**options, refine_flux_above=None).detect(dataset)
            iy, ix = int(round(y)), int(round(x))
            box = detection.statistic[iy - 2:iy + 3, ix - 2:ix + 3]
            my, mx = (int(v) for v in np.unravel_index(np.nanargmax(box), box.shape))
            my, mx = my + iy - 2, mx + ix - 2
            fitted = fitted_offset(detector, dataset, my * empty.cube.shape[2] + mx, x, y)
            print(f"| ({px}, {py}) {dx:+.2f}, {dy:+.2f} | {separation:.2f} | {flux:.0f} | "
                  f"{detection.statistic[my, mx]:.1f} | {mx - x:+.2f}, {my - y:+.2f} | "
                  f"{first.flux[my, mx] / flux:.2f} | {detection.flux[my, mx] / flux:.2f} | "
                  f"{detection.flux[iy, ix] / flux:.2f} | {fitted} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
