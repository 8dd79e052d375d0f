"""Significance maps: a probability map calibrated on its own dataset's null.

:func:`null_significance_map` turns each probability into ``-log10`` of the share
of the dataset's companion-free (null) pixels that reach it, so that one
threshold ``-log10(fpr)`` means the same false-positive rate per pixel in
every dataset, whatever the network's calibration there. The null is the
flipped-angle map, optionally pooled with permuted-angle maps
(:mod:`exobench.cnn.nulls`); the rate may be counted per group of annuli, on
logits standardised per annulus, and without each pixel's own image in the
flipped-angle map.
"""

import numpy as np

from .._validate import check_choice
from .probability import logit

__all__ = ["null_significance_map", "SIGNIFICANCE_TAILS"]

#: Shapes of the null's tail above its largest value (:func:`null_significance_map`).
SIGNIFICANCE_TAILS = ("exponential", "normal")


def null_significance_map(pmap, negative, *, by_annulus=False, min_pixels=0, standardize=False, angles=None,
                          own_image_radius=1.0, tail="exponential"):
    """A probability map calibrated on its dataset's negative map: ``-log10`` of the false-positive rate.

    Each probability ``p`` becomes ``-log10((m + 1) / (N + 1))`` where ``m`` of the
    ``N`` pixels of the flipped-angle negative map reach ``p``: a value ``s``
    is reached by a fraction ``10**-s`` of the companion-free pixels *of the
    same dataset*, so one threshold ``-log10(fpr)`` means the same false-positive
    rate per pixel in every dataset, whatever the model's calibration there.
    Above the negative map's largest value the rate is extrapolated (``tail``),
    by default as ``exp(-logit)`` (a logistic tail): ``log10(N + 1)`` plus the
    logit's excess over that largest value, divided by ``ln 10``, so the
    brightest sources stay ranked. Outside the map's mask the result is 0 (no
    pixel of the mask is below 0).

    Parameters
    ----------
    pmap : ProbabilityMap
    negative : ProbabilityMap or sequence of ProbabilityMap
        The same dataset with ``flip_angles=True`` (same model); or several
        companion-free maps of it (for instance that one and maps derotated
        with permutations of the angles, :func:`~exobench.cnn.nulls.permuted_angles`), pooled into
        one null: more independent negatives resolve smaller rates (a large
        FWHM leaves one map few independent resolution elements). They must
        share ``pmap``'s geometry; ``angles`` (the own image) needs one map.
    by_annulus : bool
        Calibrate each annulus of ``pmap.annuli`` on the negatives of the same
        annulus (the rate is then per pixel *of each separation*: the inner
        annuli, where few speckles make heavy tails, get their own scale).
    min_pixels : int
        With ``by_annulus``, adjacent annuli are pooled (from the star outwards)
        until each group holds at least this many negative pixels (of each
        negative map, when there are several).
    standardize : bool
        First put every annulus of ``pmap.annuli`` on one scale: the logits of
        both maps, minus the mean of the negatives' logits in that annulus,
        over their standard deviation there. Each separation's own noise
        regime then sets its scale, as an S/N does, while the false-positive
        rate is counted on the negatives of the whole map (or of each group):
        an annulus of a few hundred pixels, too few to count rates of 1e-4 on,
        still gets its own scale. Above the largest negative the tail is
        ``exp(-z)`` (``tail="exponential"``) or the normal one (``"normal"``).
    angles : array-like, optional
        The dataset's derotation angles (degrees). When given, each pixel's
        null leaves out the negative pixels within ``own_image_radius`` FWHM
        of that pixel's *own image* in the negative map: a source at polar
        angle ``theta`` sits at ``theta - angles[i]`` in frame ``i`` and the
        negated derotation puts it at ``theta - 2 angles[i]``, an arc at the
        same separation. A bright companion's arc is smeared, not gone, and
        the network may score it as high as the companion itself: counted
        in the companion's own null, it would hide the companion (the
        S/N's exclusion of the candidate's own aperture, for the negative
        map). Pixels whose null would then be empty keep the whole null.
    own_image_radius : float
        Radius (FWHM) around the arc of the own image left out with ``angles``
        (a patch of 2 FWHM sees light up to about 1 FWHM from its centre).
    tail : {"exponential", "normal"}
        How the rate falls above the largest negative ``top`` of a null of
        ``N`` pixels, from ``1 / (N + 1)`` there: ``"exponential"`` in the
        logit (or in the standardised value), a heavy tail that ranks the
        brightest sources without claiming much beyond the null; ``"normal"``
        (needs ``standardize``) as the normal distribution's tail,
        ``rate(z) = Q(z) / (Q(top) (N + 1))`` with ``Q`` the normal survival
        function. The standardised logits of flipped-angle negatives fall off
        faster than ``exp(-z)`` near their largest values but are heavier than
        normal, so the normal tail gives more detections and more false
        positives than the exponential one.

    Returns
    -------
    numpy.ndarray, float64, shape (y, x)

    Examples
    --------
    >>> import types
    >>> mask = np.ones((1, 4), bool)
    >>> neg = types.SimpleNamespace(probability=np.array([[0.1, 0.2, 0.3, 0.4]]), mask=mask)
    >>> pos = types.SimpleNamespace(probability=np.array([[0.05, 0.3, 0.4, 0.5]]), mask=mask)
    >>> null_significance_map(pos, neg).round(3).tolist()
    [[0.0, 0.222, 0.398, 0.875]]
    """
    # long by its documentation only: the code below is under 40 lines
    check_choice(tail, "tail", SIGNIFICANCE_TAILS)
    if tail == "normal" and not standardize:
        raise ValueError("tail: 'normal' needs standardize=True (the standardised logits are its z-scores)")
    nulls = _negative_maps(negative, pmap)
    if angles is not None and len(nulls) > 1:
        raise ValueError(f"angles: the own-image exclusion needs one negative map, got {len(nulls)}; "
                         "pass angles=None to pool several")
    negative = nulls[0]
    out = np.zeros(pmap.probability.shape, dtype=np.float64)
    values, null_values = pmap.probability, [n.probability for n in nulls]
    if standardize:
        values, null_values = _standardised(pmap, nulls)
    negatives = null_values[0]
    # the tail's log-rate as a function of the values compared (probabilities or z-scores)
    tail = _normal if tail == "normal" else (_same if standardize else logit)
    image = None
    if angles is not None:
        from .._validate import check_number

        radius = check_number(own_image_radius, "own_image_radius", strict=True)
        image = _OwnImage(_own_image_offsets(angles), radius * float(np.mean(pmap.fwhm)), pmap.probability.shape)
    for region in _calibration_regions(pmap, negative, by_annulus, min_pixels):
        own, noise = pmap.mask & region, negative.mask & region
        if image is None:
            null = np.concatenate([v[n.mask & region] for n, v in zip(nulls, null_values)])
            out[own] = _significance(values[own], null, tail)
        else:
            out[own] = image.significance(values, own, negatives, noise, tail)
    return out


def _radius(shape):
    from ..geometry import polar_grid

    return polar_grid(shape)[0]


def _negative_maps(negative, pmap):
    """``negative`` as a non-empty list of maps of ``pmap``'s shape."""
    nulls = [negative] if hasattr(negative, "probability") else list(negative)
    if not nulls:
        raise ValueError("negative: expected a negative map or several, got none")
    for null in nulls:
        if np.shape(null.probability) != np.shape(pmap.probability):
            raise ValueError(f"negative: expected maps of shape {np.shape(pmap.probability)}, "
                             f"got {np.shape(null.probability)}")
    return nulls


def _standardised_logits(pmap, negative):
    """Both maps' logits, each annulus centred and scaled by its negatives' mean and standard deviation."""
    values, (negatives,) = _standardised(pmap, [negative])
    return values, negatives


def _standardised(pmap, nulls):
    """The logits of ``pmap`` and of every negative map, each annulus centred and scaled by the
    mean and standard deviation of all the negatives' logits there."""
    radius = _radius(pmap.probability.shape)
    values = np.zeros(pmap.probability.shape, dtype=np.float64)
    negatives = [np.zeros(pmap.probability.shape, dtype=np.float64) for _ in nulls]
    for inner, outer in pmap.annuli:
        ring = (radius >= inner) & (radius < outer)
        reference = np.concatenate([logit(n.probability[n.mask & ring]) for n in nulls])
        if reference.size == 0:
            raise ValueError("negative: expected predicted pixels in every annulus of the map, got none "
                             f"between {inner:g} and {outer:g} px")
        centre, spread = _centre_spread(reference)
        for source, out in zip([pmap, *nulls], [values, *negatives]):
            pick = source.mask & ring
            out[pick] = (logit(source.probability[pick]) - centre) / spread
    return values, negatives



def _centre_spread(values):
    """Mean and standard deviation (1 for a constant annulus: unscaled).

    >>> _centre_spread(np.array([1.0, 3.0])), _centre_spread(np.array([2.0, 2.0]))
    ((2.0, 1.0), (2.0, 1.0))
    """
    spread = float(np.std(values))
    return float(np.mean(values)), spread if spread > 0 else 1.0


def _same(values):
    return np.asarray(values, dtype=np.float64)


def _normal(values):
    """``-ln Q(z)``, the normal tail's log-rate (``Q`` the survival function), accurate far out.

    >>> _normal(np.array([0.0, 5.0])).round(4).tolist()
    [0.6931, 15.065]
    """
    from scipy.special import log_ndtr

    return -log_ndtr(-np.asarray(values, dtype=np.float64))


def _calibration_regions(pmap, negative, by_annulus, min_pixels):
    if not by_annulus:
        return [np.ones(pmap.probability.shape, dtype=bool)]
    radius = _radius(pmap.probability.shape)
    edges = [inner for inner, _ in pmap.annuli] + [pmap.annuli[-1][1]]
    regions, start = [], 0
    for j in range(1, len(edges)):
        region = (radius >= edges[start]) & (radius < edges[j])
        last = j == len(edges) - 1
        if np.count_nonzero(negative.mask & region) >= max(min_pixels, 1) or last:
            if last and regions and np.count_nonzero(negative.mask & region) < min_pixels:
                regions[-1] = regions[-1] | region
            else:
                regions.append(region)
            start = j
    return regions


def _significance(values, negatives, tail=logit):
    negatives = np.sort(negatives)
    if negatives.size == 0:
        raise ValueError("negative: expected a map with predicted pixels (in every calibration region)")
    n = np.full(np.shape(values), negatives.size)
    reached = negatives.size - np.searchsorted(negatives, values, side="left")
    return _rate_score(values, reached, n, np.full(np.shape(values), negatives[-1]), tail)


def _own_image_offsets(angles):
    """Sorted polar-angle offsets (radians, in [0, 2 pi)) of a source's own image in the
    negative map: ``-2 angles[i]`` (see :func:`null_significance_map`).

    >>> np.degrees(_own_image_offsets([10.0, -30.0])).round(6).tolist()
    [60.0, 340.0]
    """
    angles = np.asarray(angles, dtype=np.float64)
    if angles.ndim != 1 or angles.size == 0 or not np.all(np.isfinite(angles)):
        raise ValueError(f"angles: expected a non-empty 1D array of finite derotation angles (deg), "
                         f"got shape {angles.shape}")
    return np.sort(np.mod(-2.0 * np.radians(angles), 2.0 * np.pi))


def _angular_gap(alpha, offsets):
    """``min_i |alpha - offsets[i]|`` on the circle (radians), for every ``alpha``.

    >>> _angular_gap(np.array([0.1, 6.2]), np.array([0.0, 1.0])).round(4).tolist()
    [0.1, 0.0832]
    """
    alpha = np.mod(alpha, 2.0 * np.pi)
    index = np.searchsorted(offsets, alpha)
    below = offsets[(index - 1) % offsets.size]
    above = offsets[index % offsets.size]
    return np.minimum(np.mod(alpha - below, 2.0 * np.pi), np.mod(above - alpha, 2.0 * np.pi))


class _OwnImage:
    """Per-pixel nulls without the pixel's own image (``null_significance_map(..., angles=...)``).

    Only negatives within ``radius`` of a pixel's separation can be near its arc,
    so pixels are taken in blocks of similar separation and tested against that
    band of negatives alone; the rest of the null counts whole (sorted once).
    """

    #: Pixels per block of pairwise tests.
    BLOCK = 256

    def __init__(self, offsets, radius, shape):
        from ..geometry import polar_grid

        self.offsets, self.radius = offsets, float(radius)
        self.r, theta = polar_grid(shape)
        self.theta = np.radians(theta)

    def significance(self, values, own, negatives, noise, tail):
        """The rates of ``values[own]`` against ``negatives[noise]``, each without its own image."""
        if not np.any(noise):
            raise ValueError("negative: expected a map with predicted pixels (in every calibration region)")
        by_radius = np.argsort(self.r[noise], kind="stable")
        null, null_r, null_theta = (a[noise][by_radius] for a in (negatives, self.r, self.theta))
        ranked = np.sort(null)
        # the largest negative before / after each position of the radius order
        before = np.concatenate([[-np.inf], np.maximum.accumulate(null)])
        after = np.concatenate([np.maximum.accumulate(null[::-1])[::-1], [-np.inf]])
        order = np.argsort(self.r[own], kind="stable")
        v, r, theta = (a[own][order] for a in (values, self.r, self.theta))
        score = np.empty(v.size)
        for start in range(0, v.size, self.BLOCK):
            part = slice(start, start + self.BLOCK)
            lo = np.searchsorted(null_r, r[part][0] - self.radius, side="left")
            hi = np.searchsorted(null_r, r[part][-1] + self.radius, side="right")
            band, band_r = null[lo:hi], null_r[lo:hi]
            gap = _angular_gap(null_theta[lo:hi][None, :] - theta[part, None], self.offsets)
            distance2 = band_r[None, :] ** 2 + r[part, None] ** 2 - 2.0 * band_r[None, :] * r[part, None] * np.cos(gap)
            near = distance2 <= self.radius ** 2
            near[near.sum(axis=1) == null.size] = False  # nothing would be left: the whole null
            n = null.size - near.sum(axis=1)
            reached = null.size - np.searchsorted(ranked, v[part], side="left")
            reached -= (near & (band[None, :] >= v[part, None])).sum(axis=1)
            outside = max(before[lo], after[hi])
            top = np.maximum(np.where(near, -np.inf, band[None, :]).max(axis=1, initial=-np.inf), outside)
            score[part] = _rate_score(v[part], reached, n, top, tail)
        out = np.empty(v.size)
        out[order] = score
        return out


def _rate_score(values, reached, n, top, tail):
    """``-log10((m + 1) / (N + 1))``, and the tail (a log-rate, natural log) above the largest negative ``top``."""
    score = 0.0 - np.log10((reached + 1.0) / (n + 1.0))
    beyond = values > top
    score[beyond] = np.log10(n[beyond] + 1.0) + (tail(values[beyond]) - tail(top[beyond])) / np.log(10.0)
    return score
