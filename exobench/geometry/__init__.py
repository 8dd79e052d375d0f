"""Geometry: one frame-centre convention, polar coordinates, masks, shifts and rotation.

See ``docs/conventions.md`` for the conventions, which every function here follows.
"""

from .coords import (
    cartesian_to_polar,
    frame_center,
    pa_to_theta,
    polar_grid,
    polar_to_cartesian,
    theta_to_pa,
)
from .masks import annulus_mask, disk_mask
from .rotate import ROTATION_METHODS, derotate_cube, rotate_frames
from .shift import SHIFT_METHODS, shift_frames

__all__ = [
    "frame_center",
    "polar_grid",
    "cartesian_to_polar",
    "polar_to_cartesian",
    "theta_to_pa",
    "pa_to_theta",
    "annulus_mask",
    "disk_mask",
    "rotate_frames",
    "derotate_cube",
    "ROTATION_METHODS",
    "shift_frames",
    "SHIFT_METHODS",
]
