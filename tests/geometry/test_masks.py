"""Annulus and disk masks against brute force, edges included."""

import numpy as np
import pytest

from exobench.geometry import annulus_mask, disk_mask, frame_center


def _brute_count(shape, center, test):
    xc, yc = center
    count = 0
    for y in range(shape[0]):
        for x in range(shape[1]):
            if test((x - xc) ** 2 + (y - yc) ** 2):
                count += 1
    return count


@pytest.mark.parametrize(("radius", "expected"), [(0.5, 1), (1.0, 5), (1.5, 9), (2.0, 13), (3.0, 29),
                                                  (4.0, 49), (5.0, 81)])
def test_disk_counts_lattice_points(radius, expected):
    # Gauss's circle problem: lattice points with x^2 + y^2 <= r^2 (the edge is inclusive)
    mask = disk_mask((21, 21), radius)
    assert mask.dtype == bool and mask.shape == (21, 21)
    assert int(mask.sum()) == expected


@pytest.mark.parametrize("shape", [(15, 15), (16, 16), (13, 20)])
@pytest.mark.parametrize("radius", [0.7, 1.0, 2.0, 2.5, np.sqrt(5.0), 4.0, 6.3])
def test_disk_against_brute_force(shape, radius):
    center = frame_center(shape)
    mask = disk_mask(shape, radius)
    assert int(mask.sum()) == _brute_count(shape, center, lambda d2: d2 <= radius**2 + 1e-9)
    assert mask[int(center[1]), int(center[0])]


def test_disk_off_centre_and_clipped():
    center = (1.3, 0.6)
    mask = disk_mask((10, 12), 3.0, center=center)
    assert int(mask.sum()) == _brute_count((10, 12), center, lambda d2: d2 <= 9.0)
    y, x = np.nonzero(mask)
    assert np.all(np.hypot(x - 1.3, y - 0.6) <= 3.0)


def test_annulus_edges_inner_inclusive_outer_exclusive():
    ring = annulus_mask((21, 21), 2.0, 3.0)  # about pixel (10, 10)
    assert ring[10, 12]  # r == inner radius: in
    assert not ring[10, 13]  # r == outer radius: out
    assert ring[11, 12]  # 2 < sqrt(5) < 3
    assert not ring[10, 11]  # r = 1 < inner radius
    assert int(annulus_mask((9, 9), 0, 1).sum()) == 1  # only the centre pixel
    assert int(annulus_mask((9, 9), 1, 2).sum()) == 8  # r = 1 and r = sqrt(2), not r = 2


@pytest.mark.parametrize("shape", [(15, 15), (16, 16), (11, 18)])
@pytest.mark.parametrize(("inner", "outer"), [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (1.5, 4.0), (3.0, 3.5),
                                              (0.0, 9.0)])
def test_annulus_against_brute_force(shape, inner, outer):
    center = frame_center(shape)
    mask = annulus_mask(shape, inner, outer)
    expected = _brute_count(shape, center, lambda d2: inner**2 <= d2 < outer**2)
    assert int(mask.sum()) == expected


def test_annuli_tile_the_frame_without_overlap():
    shape = (17, 16)
    edges = np.arange(0.0, 13.0, 1.5)
    rings = np.array([annulus_mask(shape, a, b) for a, b in zip(edges[:-1], edges[1:])])
    assert rings.sum(axis=0).max() == 1  # consecutive annuli share no pixel
    np.testing.assert_array_equal(rings.any(axis=0), annulus_mask(shape, 0.0, edges[-1]))
    # a disk keeps the pixels at r == R, an annulus from 0 drops them
    disk, ring = disk_mask(shape, 2.0), annulus_mask(shape, 0.0, 2.0)
    assert int(disk.sum()) - int(ring.sum()) == 4 and np.all(ring <= disk)


def test_annulus_custom_center():
    mask = annulus_mask((9, 9), 1.0, 1.5, center=(0.0, 0.0))
    assert sorted(zip(*np.nonzero(mask))) == [(0, 1), (1, 0), (1, 1)]


def test_mask_errors():
    with pytest.raises(ValueError, match=r"outer_radius: expected a value > inner_radius \(3.0\), got 2.0"):
        annulus_mask((9, 9), 3.0, 2.0)
    with pytest.raises(ValueError, match=r"outer_radius: expected a value > inner_radius \(2.0\), got 2.0"):
        annulus_mask((9, 9), 2.0, 2.0)
    with pytest.raises(ValueError, match=r"inner_radius: expected a value >= 0, got -1.0"):
        annulus_mask((9, 9), -1.0, 2.0)
    with pytest.raises(ValueError, match=r"radius: expected a value > 0, got 0.0"):
        disk_mask((9, 9), 0.0)
    with pytest.raises(ValueError, match=r"radius: expected a finite number, got nan"):
        disk_mask((9, 9), float("nan"))
