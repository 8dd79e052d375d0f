"""Counting detections on a thresholded detection map (true/false positives and negatives).

The rules are those of the 2019 Exoplanet Imaging Data Challenge (EIDC), with its
defects fixed; ``compat="eidc2019"`` reproduces the 2019 counting itself.

For one dataset (one 2D detection map, its injections and the reference FWHM):

1. **Blobs.** The pixels *strictly* above ``threshold`` form 4-connected blobs
   (:func:`label_blobs`); blobs of fewer than ``npix`` pixels are dropped. NaN
   pixels are never above the threshold (no detection), ``+inf`` pixels always are
   (the threshold must be finite), ``-inf`` pixels never are. The comparison is
   exact: the map is compared in float64, so a float32 map and a float64 threshold
   compare as the real numbers they hold.
2. **Resolution element.** The disk of radius 1 FWHM: the pixels whose centre lies
   at a distance *strictly less* than ``fwhm`` from the disk's centre (the 2019
   rule, ``r**2 < fwhm**2``). Its area :math:`A_e` (:func:`resolution_element_area`)
   is the number of pixels of that disk centred on a pixel.
3. **Huge blobs.** A blob of area ``a > max_blob_fact * A_e`` (strict) can never be
   a detection: it counts as ``a / A_e`` false positives (true division). As in
   2019, these fractional counts are added to the other false positives of the
   dataset (1 per unmatched blob, in blob order) and the total is rounded once,
   half to even (``round``, as the 2019 ``np.round``), to an integer; not
   blob by blob, and not truncated (the 2019 test vectors tell these apart).
   :math:`A_e` is odd (the disk's pixels other than its centre come in fours), so
   that total is never a half-integer and the rounding direction never matters
   (except with the clipped element of the compat mode).
4. **Matching.** The overlap ratio of a blob and an injection is the number of
   blob pixels inside the injection's disk (radius ``fwhm``, centred on the
   injection's (x, y), the disk clipped to the frame) divided by the smaller of the
   two areas (0 when the clipped disk is empty). A blob and an injection may match
   when the ratio exceeds ``overlap_threshold`` (strict). The default counting
   matches **one-to-one, greedily by decreasing ratio** (ties: lower blob label,
   then lower injection index): each injection is found at most once, so a second
   blob on the same injection is a false positive. Unmatched (ordinary) blobs are
   false positives; unmatched injections false negatives.
5. **Datasets without injections** are scored: every blob is a false positive
   (huge ones ``a / A_e``).
6. **True negatives** (so that FPR = FP / (FP + TN) is defined): the evaluation
   region is the annulus of the pixels at a distance ``>= inner_radius`` from the
   frame centre (pixel ``n // 2`` of each axis), out to the frame edge (corners
   included: blobs are counted everywhere in the frame). It holds
   ``n_elements = floor(pixels / A_e)`` independent resolution elements
   (:func:`evaluation_elements`); each companion and each false positive occupies
   one of them, so ``tn = max(n_elements - n_injections - fp, 0)``. The inner radius
   defaults to 1 FWHM (the star's own resolution element is left out).

The matching radius is always ``fwhm``: pass the *reference* FWHM (the
organisers'), never a participant's.

``compat="eidc2019"`` counts as the 2019 scorer did (VIP's ``compute_binary_map``
called by the EIDC scoring program), to compare with published numbers:

- **many-to-one** matching: each blob that is not huge is a true positive if its
  ratio with *any* injection exceeds ``overlap_threshold`` (the first such
  injection, in the given order, is recorded as its match), so two blobs on one
  injection are two true positives and ``tp`` may exceed ``n_injections``;
  ``fn`` is then the number of injections that no blob matched;
- the resolution element area :math:`A_e` is that of the disk centred on the frame
  centre and clipped to the frame (identical to the default unless the frame is
  smaller than the disk);
- the 2019 program took the participant's FWHM file when one was submitted: pass
  that FWHM as ``fwhm`` to reproduce it;
- the 2019 program never scored a dataset with no injection (it added the previous
  dataset's counts again, or crashed); such a dataset is counted here as by the
  default counting, with an :class:`~exobench.ExobenchWarning`.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
from scipy import ndimage

from .. import ExobenchWarning
from .._validate import as_float_array, check_choice, check_integer, check_ndim, check_number, check_range
from ..challenge.settings import COMPAT_MODES
from ..geometry.coords import frame_center
from .checks import as_finite, as_positions, check_count, check_fwhm, check_shape

__all__ = [
    "DEFAULTS",
    "COMPAT_MODES",
    "CountingRules",
    "COUNTING_OPTIONS",
    "DatasetCounts",
    "count_detections",
    "count_with_rules",
    "label_blobs",
    "evaluation_elements",
    "resolution_element_area",
    "disk_in_frame",
]

#: Default counting parameters, those of the EIDC (``npix``, ``overlap_threshold``, ``max_blob_fact``).
DEFAULTS = dict(npix=2, overlap_threshold=0.7, max_blob_fact=2.0)

#: 4-connectivity (a pixel touches its left, right, lower and upper neighbours).
_FOUR_CONNECTED = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)


# --------------------------------------------------------------------------- validation


# --------------------------------------------------------------------------- the rules


@dataclasses.dataclass(frozen=True)
class CountingRules:
    """The counting options of one phase, validated once.

    The FWHM is not a rule: it belongs to each dataset (the radius of its
    resolution element and of its matching disks).

    Attributes
    ----------
    npix : int
        Blobs of fewer pixels are dropped (>= 1; default 2).
    overlap_threshold : float
        A blob and an injection may match when their overlap ratio exceeds it; in
        (0, 1], default 0.7.
    max_blob_fact : float
        Blobs of more than ``max_blob_fact`` resolution elements count as area /
        element false positives (> 0; default 2).
    inner_radius : float or None
        Inner radius in pixels of the annulus over which true negatives are counted
        (>= 0); None for 1 FWHM of each dataset (see :meth:`inner_radius_for`).
    compat : {None, "eidc2019"}
        None for the corrected counting, ``"eidc2019"`` for the 2019 counting.

    Raises
    ------
    ValueError, TypeError
        On a malformed value; the message names the parameter.

    Examples
    --------
    >>> rules = CountingRules(npix=3)
    >>> rules.npix, rules.overlap_threshold, rules.inner_radius_for(4.0)
    (3, 0.7, 4.0)
    """

    npix: int = DEFAULTS["npix"]
    overlap_threshold: float = DEFAULTS["overlap_threshold"]
    max_blob_fact: float = DEFAULTS["max_blob_fact"]
    inner_radius: float | None = None
    compat: str | None = None

    def __post_init__(self):
        npix = check_count(self.npix, "npix", 1)
        overlap_threshold = check_range(self.overlap_threshold, "overlap_threshold", 0, 1, closed="high")
        max_blob_fact = check_number(self.max_blob_fact, "max_blob_fact", strict=True)
        inner = check_number(self.inner_radius, "inner_radius", allow_none=True)
        check_choice(self.compat, "compat", COMPAT_MODES)
        for name, value in (("npix", npix), ("overlap_threshold", overlap_threshold),
                            ("max_blob_fact", max_blob_fact), ("inner_radius", inner)):
            object.__setattr__(self, name, value)

    def inner_radius_for(self, fwhm):
        """The inner radius of the evaluation annulus of a dataset of this FWHM (pixels)."""
        return fwhm if self.inner_radius is None else self.inner_radius

    def blob_limit(self, element_area):
        """The largest area of a blob that is not huge is ``<=`` this (``max_blob_fact * A_e``)."""
        return self.max_blob_fact * element_area


#: The counting options a phase may set (``phase.json``'s ``counting``): the rules' fields but the mode.
COUNTING_OPTIONS = tuple(f.name for f in dataclasses.fields(CountingRules) if f.name != "compat")


@dataclasses.dataclass(frozen=True)
class DatasetCounts:
    """Counts of one dataset at one threshold.

    Attributes
    ----------
    tp, fp, fn, tn : int
        True positives, false positives (huge blobs counted as area / element),
        false negatives and true negatives (see :mod:`exobench.scoring.counting`).
    n_injections : int
        Number of injected companions (the denominator of the recall).
    n_elements : int
        Independent resolution elements of the evaluation annulus.
    matches : tuple of (int, int)
        ``(blob_label, injection_index)`` of each true positive; labels are those of
        ``label_blobs(detmap > threshold)``, indices rows of ``positions``.
    unmatched_blobs : tuple of int
        Labels of the ordinary blobs counted as one false positive each.
    huge_blobs : tuple of int
        Labels of the blobs larger than ``max_blob_fact`` resolution elements.
    element_area : int
        Area of the resolution element in pixels.
    compat : str or None
        The counting mode that produced these counts.
    """

    tp: int
    fp: int
    fn: int
    tn: int
    n_injections: int
    n_elements: int
    matches: tuple = ()
    unmatched_blobs: tuple = ()
    huge_blobs: tuple = ()
    element_area: int = 0
    compat: str | None = None

    def __post_init__(self):
        for name in ("tp", "fp", "fn", "tn", "n_injections", "n_elements", "element_area"):
            object.__setattr__(self, name, check_integer(getattr(self, name), name, minimum=0))
        check_choice(self.compat, "compat", COMPAT_MODES)

    @property
    def n_blobs(self):
        """Number of blobs kept (at least ``npix`` pixels)."""
        return len(self.matches) + len(self.unmatched_blobs) + len(self.huge_blobs)


# --------------------------------------------------------------------------- geometry


def label_blobs(mask):
    """Label the 4-connected blobs of a 2D boolean mask.

    Parameters
    ----------
    mask : array_like, 2D
        Boolean mask (or numbers, nonzero meaning True; NaN is refused).

    Returns
    -------
    labels : ndarray of int, same shape
        0 outside blobs, ``1..n`` inside, numbered in raster order of each blob's
        first pixel (``scipy.ndimage.label``).
    n : int
        Number of blobs.

    Examples
    --------
    >>> labels, n = label_blobs([[1, 0, 1],
    ...                          [0, 0, 1],
    ...                          [1, 1, 0]])
    >>> n  # the diagonal contact does not connect
    3
    >>> labels.tolist()
    [[1, 0, 2], [0, 0, 2], [3, 3, 0]]
    """
    array = np.asarray(mask)
    check_ndim(array, "mask", 2)
    if array.dtype != bool:
        if array.dtype.kind not in "biuf":
            raise TypeError(f"mask: expected a boolean array, got dtype {array.dtype}")
        if array.dtype.kind == "f" and np.any(np.isnan(array)):
            raise ValueError("mask: expected a boolean array, got NaN value(s)")
        array = array != 0
    labels, n = ndimage.label(array, structure=_FOUR_CONNECTED)
    return labels, int(n)


def _disk_offsets_area(radius):
    """Pixels of the disk ``dx**2 + dy**2 < radius**2`` centred on a pixel (unclipped)."""
    k = int(np.ceil(radius))
    offsets = np.arange(-k, k + 1, dtype=float)
    return int(np.count_nonzero(offsets[:, None] ** 2 + offsets[None, :] ** 2 < radius**2))


def resolution_element_area(fwhm):
    """Area in pixels of the resolution element, the disk of radius 1 FWHM.

    The pixels counted are those whose centre lies *strictly* within ``fwhm`` of a
    pixel centre (the 2019 rule ``dx**2 + dy**2 < fwhm**2``), the disk unclipped.

    Parameters
    ----------
    fwhm : float
        FWHM in pixels, > 0.

    Returns
    -------
    int

    Examples
    --------
    >>> resolution_element_area(1.0), resolution_element_area(4.0)
    (1, 45)
    """
    return _disk_offsets_area(check_fwhm(fwhm))


def evaluation_elements(shape, fwhm, *, inner_radius=None):
    """Number of independent resolution elements of the evaluation annulus.

    The annulus holds the pixels whose centre lies at a distance ``>= inner_radius``
    from the frame centre (pixel ``n // 2`` of each axis), out to the frame edge,
    corners included. It holds ``floor(pixels / A_e)`` elements, ``A_e`` being
    :func:`resolution_element_area` (the disk of radius 1 FWHM): the same element
    that a huge blob is divided by, so that a blob covering the whole annulus counts
    about as many false positives as there are elements.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the detection map.
    fwhm : float
        Reference FWHM in pixels, > 0.
    inner_radius : float, optional
        Inner radius of the annulus in pixels (>= 0); default 1 FWHM.

    Returns
    -------
    int

    Examples
    --------
    >>> evaluation_elements((64, 64), 4.0)  # (4096 - 45) // 45
    90
    >>> evaluation_elements((64, 64), 4.0, inner_radius=0)
    91
    """
    shape = check_shape(shape)
    fwhm = check_fwhm(fwhm)
    inner_radius = fwhm if inner_radius is None else check_number(inner_radius, "inner_radius")
    ny, nx = shape
    xc, yc = frame_center(shape)
    r2 = (np.arange(ny, dtype=float)[:, None] - yc) ** 2 + (np.arange(nx, dtype=float)[None, :] - xc) ** 2
    n_pixels = int(np.count_nonzero(r2 >= inner_radius**2))
    return n_pixels // _disk_offsets_area(fwhm)


def disk_in_frame(shape, x, y, radius):
    """The disk of ``radius`` about (x, y), clipped to the frame.

    The pixels whose centre lies strictly within ``radius`` of (x, y), computed as
    the 2019 scorer did: ``(y - cy)**2 + (x - cx)**2 < r**2`` in float64.

    Returns
    -------
    slices : tuple of slice
        The disk's bounding box in the frame ``(rows, columns)``.
    mask : ndarray of bool
        The disk's pixels within that box (empty when the disk misses the frame).
    """
    ny, nx = shape
    y0, y1 = max(int(np.floor(y - radius)), 0), min(int(np.ceil(y + radius)) + 1, ny)
    x0, x1 = max(int(np.floor(x - radius)), 0), min(int(np.ceil(x + radius)) + 1, nx)
    if y0 >= y1 or x0 >= x1:
        return (slice(0, 0), slice(0, 0)), np.zeros((0, 0), dtype=bool)
    yy = np.arange(y0, y1, dtype=float)[:, None]
    xx = np.arange(x0, x1, dtype=float)[None, :]
    return (slice(y0, y1), slice(x0, x1)), (yy - y) ** 2 + (xx - x) ** 2 < radius**2


# --------------------------------------------------------------------------- counting


def count_detections(
    detmap,
    threshold,
    positions,
    fwhm,
    *,
    npix=DEFAULTS["npix"],
    overlap_threshold=DEFAULTS["overlap_threshold"],
    max_blob_fact=DEFAULTS["max_blob_fact"],
    inner_radius=None,
    compat=None,
):
    """Count true/false positives and negatives of one dataset at one threshold.

    The rules, and how ``compat="eidc2019"`` differs, are described in
    :mod:`exobench.scoring.counting`.

    Parameters
    ----------
    detmap : array_like, 2D
        Detection map ``detmap[y, x]``. NaN pixels are no detection; ``+inf`` is above
        any (finite) threshold.
    threshold : float
        Detection threshold: pixels strictly above it are detections. Finite; a
        size-1 array (a FITS scalar) is accepted.
    positions : array_like, shape (n, 2)
        Injected companions as (x, y) pixel positions in the map (column 0 is x);
        ``n`` may be 0 (an empty array or None).
    fwhm : float
        The *reference* FWHM in pixels (> 0): radius of the resolution element and
        of the matching disks. In ``compat="eidc2019"`` mode pass the FWHM the 2019
        program used (the participant's when submitted) to reproduce it.
    npix, overlap_threshold, max_blob_fact, inner_radius, compat
        The counting rules (see :class:`CountingRules`).

    Returns
    -------
    DatasetCounts

    Raises
    ------
    ValueError, TypeError
        On malformed input; the message names the parameter.

    Examples
    --------
    Two blobs on one injection: one true positive and one false positive (the 2019
    counting made it two true positives).

    >>> import numpy as np
    >>> detmap = np.zeros((32, 32))
    >>> detmap[16, 15:17] = 5.0          # blob 1 at x = 15..16, y = 16
    >>> detmap[16, 19:21] = 5.0          # blob 2 at x = 19..20, y = 16
    >>> c = count_detections(detmap, 1.0, [(18.0, 16.0)], fwhm=4.0)
    >>> c.tp, c.fp, c.fn, c.n_injections
    (1, 1, 0, 1)
    >>> c2019 = count_detections(detmap, 1.0, [(18.0, 16.0)], fwhm=4.0, compat="eidc2019")
    >>> c2019.tp, c2019.fp
    (2, 0)
    """
    detmap = as_float_array(detmap, "detmap")
    check_ndim(detmap, "detmap", 2, what="(the detection map of one dataset)")
    if detmap.size == 0:
        raise ValueError(f"detmap: expected a non-empty 2D array, got shape {detmap.shape}")
    threshold = as_finite(threshold, "threshold")
    fwhm = check_fwhm(fwhm)
    rules = CountingRules(npix=npix, overlap_threshold=overlap_threshold, max_blob_fact=max_blob_fact,
                          inner_radius=inner_radius, compat=compat)
    return count_with_rules(detmap, threshold, positions, fwhm, rules, stacklevel=3)


def count_with_rules(detmap, threshold, positions, fwhm, rules, *, stacklevel=2):
    """:func:`count_detections` with the rules as one :class:`CountingRules`.

    ``detmap`` must be a non-empty 2D float array, ``threshold`` a finite float and
    ``fwhm`` a float > 0 (as :func:`count_detections` checks them); ``positions``
    is checked here.
    """
    shape = detmap.shape
    positions = as_positions(positions, shape)
    n_inj = len(positions)
    if rules.compat == "eidc2019" and n_inj == 0:
        warnings.warn(
            "compat='eidc2019': the 2019 scoring program did not score a dataset without injection "
            "(it added the previous dataset's counts again); it is counted here with the corrected rules",
            ExobenchWarning,
            stacklevel=stacklevel,
        )
    # Blobs: exact comparison in float64 (NaN > t is False, +inf > t is True).
    labels, n_labels = label_blobs(detmap.astype(np.float64, copy=False) > threshold)
    areas = np.bincount(labels.ravel(), minlength=n_labels + 1)
    kept = np.flatnonzero(areas >= rules.npix)
    kept = kept[kept > 0]
    kept_areas = areas[kept]

    if rules.compat == "eidc2019":
        _, disk = disk_in_frame(shape, *frame_center(shape), fwhm)
        element_area = int(np.count_nonzero(disk))
    else:
        element_area = _disk_offsets_area(fwhm)
    huge = kept_areas > rules.blob_limit(element_area)
    ratio = _overlap_ratios(labels, n_labels, kept, kept_areas, positions, fwhm)
    candidate = (ratio > rules.overlap_threshold) & ~huge[:, None]
    if rules.compat == "eidc2019":
        matched_injection = _match_many_to_one(candidate)
    else:
        matched_injection = _match_one_to_one(candidate, ratio)
    fp = _false_positives(kept_areas, huge, matched_injection, element_area)

    is_tp = matched_injection >= 0
    n_elements = evaluation_elements(shape, fwhm, inner_radius=rules.inner_radius_for(fwhm))
    return DatasetCounts(
        tp=int(np.count_nonzero(is_tp)),
        fp=fp,
        fn=n_inj - len(np.unique(matched_injection[is_tp])),
        tn=max(n_elements - n_inj - fp, 0),
        n_injections=n_inj,
        n_elements=n_elements,
        matches=tuple((int(b), int(j)) for b, j in zip(kept[is_tp], matched_injection[is_tp])),
        unmatched_blobs=tuple(int(b) for b in kept[~is_tp & ~huge]),
        huge_blobs=tuple(int(b) for b in kept[huge]),
        element_area=element_area,
        compat=rules.compat,
    )


def _overlap_ratios(labels, n_labels, kept, kept_areas, positions, fwhm):
    """Overlap ratios (kept blob, injection): one pass per injection over its disk's box."""
    shape = labels.shape
    ratio = np.zeros((len(kept), len(positions)))
    if not (len(kept) and len(positions)):
        return ratio
    index_of = np.zeros(n_labels + 1, dtype=np.intp)
    index_of[kept] = np.arange(len(kept))
    is_kept = np.zeros(n_labels + 1, dtype=bool)
    is_kept[kept] = True
    for j, (x, y) in enumerate(positions):
        sl, disk = disk_in_frame(shape, x, y, fwhm)
        disk_area = np.count_nonzero(disk)
        if disk_area == 0:
            continue
        inside = labels[sl][disk]
        inside = inside[is_kept[inside]]
        if inside.size == 0:
            continue
        inter = np.bincount(index_of[inside], minlength=len(kept))
        ratio[:, j] = inter / np.minimum(kept_areas, disk_area)
    return ratio


def _match_many_to_one(candidate):
    """The 2019 matching: each blob takes the first injection it overlaps enough (-1: none)."""
    matched_injection = np.full(candidate.shape[0], -1)
    has = candidate.any(axis=1)
    if has.any():
        matched_injection[has] = np.argmax(candidate[has], axis=1)
    return matched_injection


def _match_one_to_one(candidate, ratio):
    """Greedy one-to-one matching by decreasing ratio (ties: lower blob, then lower injection; -1: none)."""
    matched_injection = np.full(candidate.shape[0], -1)
    rows, cols = np.nonzero(candidate)
    order = np.lexsort((cols, rows, -ratio[rows, cols]))
    injection_taken = np.zeros(candidate.shape[1], dtype=bool)
    for i, j in zip(rows[order], cols[order]):
        if matched_injection[i] < 0 and not injection_taken[j]:
            matched_injection[i] = j
            injection_taken[j] = True
    return matched_injection


def _false_positives(kept_areas, huge, matched_injection, element_area):
    """False positives, summed in blob order as in 2019 (huge blobs: area / element), rounded once."""
    fps = 0
    for area, is_huge, j in zip(kept_areas.tolist(), huge.tolist(), matched_injection.tolist()):
        if is_huge:
            fps += area / element_area
        elif j < 0:
            fps += 1
    return int(round(fps))
