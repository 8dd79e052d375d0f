"""Annuli of a frame and the rotation thresholds of reference libraries (frame exclusion)."""

import numpy as np

from ..geometry import annulus_mask, frame_center, polar_grid

__all__ = ["annuli", "vip_annuli", "annulus_segments", "rotation_thresholds"]


def annuli(shape, *, inner_radius, width):
    """Boolean masks of consecutive annuli from ``inner_radius`` (px) to the frame's edge.

    The annuli are ``width`` px wide; the last one reaches the largest circle
    inscribed in the frame (its pixels included) and is wider when the span is
    not a whole number of widths. Returns ``(masks, mean_radii)``.
    """
    xc, yc = frame_center(shape)
    ny, nx = shape[-2:]
    edge = min(xc, yc, nx - 1 - xc, ny - 1 - yc) + 0.5
    if inner_radius >= edge:
        raise ValueError(f"inner_radius: expected less than the frame's half-size ({edge:g} px), "
                         f"got {inner_radius:g} px (inner_radius x fwhm)")
    count = max(1, int(np.floor((edge - inner_radius) / width)))
    bounds = inner_radius + width * np.arange(count + 1)
    bounds[-1] = edge
    masks = [annulus_mask(shape, bounds[j], bounds[j + 1]) for j in range(count)]
    keep = [j for j in range(count) if masks[j].any()]
    return [masks[j] for j in keep], [0.5 * (bounds[j] + bounds[j + 1]) for j in keep]


def vip_annuli(shape, *, inner_radius, width):
    """VIP's annuli (``pca_annular``, vip_hci 2.1): ``(masks, central_radii)``.

    ``int((ny / 2 - inner_radius) / width)`` annuli ``width`` px wide from
    ``inner_radius`` px (``ny`` the frame's height); the last one (even when it
    is the only one) starts 1 px further in (it overlaps the previous one;
    processed last, its residuals are those kept in the overlap). Pixels at ``inner <= r < inner + width`` from the
    frame centre; the radius of each is its centre, ``inner + width / 2``.
    """
    ny = shape[-2]
    count = int((ny / 2 - inner_radius) / width)
    if count < 1:
        raise ValueError(f"inner_radius: expected less than half the frame's height minus one annulus "
                         f"({ny / 2 - width:g} px), got {inner_radius:g} px (inner_radius x fwhm)")
    masks, radii = [], []
    for j in range(count):
        inner = inner_radius + j * width - (1 if j == count - 1 else 0)
        mask = annulus_mask(shape, max(inner, 0.0), inner + width)
        if mask.any():
            masks.append(mask)
            radii.append(inner + width / 2)
    return masks, radii


def annulus_segments(masks, shape, n_segments):
    """The non-empty azimuthal segments of each annulus: ``(annulus, segment, pixels)`` triples.

    Segment ``k`` of ``n_segments`` holds the pixels at ``360 k / n <= theta < 360 (k + 1) / n``
    degrees (theta from +x, counter-clockwise); ``pixels`` are flat indices into the frame.
    """
    _, theta = polar_grid(shape)
    sector = np.minimum((theta * (n_segments / 360.0)).astype(np.intp), n_segments - 1).ravel()
    out = []
    for index, mask in enumerate(masks):
        pixels = np.flatnonzero(mask.ravel())
        for k in range(n_segments):
            chosen = pixels[sector[pixels] == k]
            if chosen.size:
                out.append((index, k, chosen))
    return out


def rotation_thresholds(angles, mean_radius, delta, fwhm, min_frames, *, formula="arc"):
    """Per-frame minimum rotation (degrees) of the reference frames at ``mean_radius``.

    ``delta * fwhm`` px of arc at the annulus's mean radius (``formula="arc"``:
    ``delta * fwhm / r`` rad; ``"chord"``: ``2 arctan(delta * fwhm / 2r)``, VIP's),
    lowered for a frame that would otherwise have fewer than ``min_frames``
    references to the rotation of its ``min_frames``-th farthest frame.
    """
    if formula == "chord":
        threshold = np.degrees(2.0 * np.arctan(delta * fwhm / (2.0 * max(mean_radius, 1e-12))))
    else:
        threshold = np.degrees(delta * fwhm / max(mean_radius, 1e-12))
    distance = np.abs(angles[:, None] - angles[None, :])
    farthest = -np.sort(-distance, axis=1)[:, min_frames - 1]
    return np.minimum(threshold, farthest), distance
