"""Field rotation of a pupil-tracking (ADI) sequence.

In pupil-tracking mode the telescope pupil, and with it the speckles, stay
fixed on the detector while the sky turns by the parallactic angle. Frame ``i``
is derotated by ``parallactic_angle(h_i) + pupil_offset`` (the derotation-angle
convention of ``docs/conventions.md``), ``h_i`` being the hour angle at the
middle of its exposure.
"""

import numpy as np

__all__ = ["parallactic_angle", "hour_angles", "SIDEREAL_RATE"]

#: Hours of hour angle per hour of time (a sidereal day is 23.9345 h).
SIDEREAL_RATE = 24.0 / 23.9344696


def parallactic_angle(hour_angle_h, *, declination_deg, latitude_deg):
    """The parallactic angle (degrees), continuous across the meridian.

    The angle at the target between the directions to the celestial north pole
    and to the zenith, counted from north through east: negative east of the
    meridian (hour angle < 0), positive west of it,
    ``q = atan2(sin h, tan(phi) cos(dec) - sin(dec) cos h)``.

    Parameters
    ----------
    hour_angle_h : float or array_like
        Hour angles in hours.
    declination_deg, latitude_deg : float
        The target's declination and the site's latitude in degrees.

    Returns
    -------
    numpy.ndarray
        Unwrapped along the sequence, so that a transit south or north of the
        zenith gives a continuous curve rather than a jump of 360 degrees.

    Examples
    --------
    >>> q = parallactic_angle([-1.0, 0.0, 1.0], declination_deg=-51.07, latitude_deg=-24.63)
    >>> np.round(q, 2)
    array([-29.19,   0.  ,  29.19])
    """
    h = np.radians(15.0 * np.atleast_1d(np.asarray(hour_angle_h, dtype=float)))
    dec = np.radians(declination_deg)
    lat = np.radians(latitude_deg)
    q = np.arctan2(np.sin(h), np.tan(lat) * np.cos(dec) - np.sin(dec) * np.cos(h))
    return np.degrees(np.unwrap(q))


def hour_angles(*, frames, start_h, end_h):
    """Hour angles at the middle of ``frames`` exposures spread evenly from
    ``start_h`` to ``end_h`` (the first and last frames' middles).

    >>> hour_angles(frames=3, start_h=-1.0, end_h=1.0)
    array([-1.,  0.,  1.])
    """
    if frames == 1:
        return np.array([0.5 * (start_h + end_h)])
    return np.linspace(start_h, end_h, frames)
