"""The names of a submission's files: the one place they are spelled.

::

    {instrument}_detmap_{k}.fits    2D detection map, one per dataset of the phase
    detection_threshold.fits        one number: values strictly above it are detections
    {instrument}_fwhm_{k}.fits      optional, the participant's FWHM (used only with compat="eidc2019")
    npix.fits                       optional counting options (honoured only with compat="eidc2019")
    overlap_threshold.fits
    max_blob_fact.fits
"""

import re

__all__ = ["THRESHOLD_FILE", "OPTION_FILES", "INSTRUMENT_PATTERN", "DATASET_ID_PATTERN", "DETMAP_NAME", "FWHM_NAME",
           "detmap_file_name", "fwhm_file_name"]

THRESHOLD_FILE = "detection_threshold.fits"
#: Optional counting options a participant may give, file name -> option name.
OPTION_FILES = {
    "npix.fits": "npix",
    "overlap_threshold.fits": "overlap_threshold",
    "max_blob_fact.fits": "max_blob_fact",
}
#: Regular expressions of an instrument name and a dataset id (named groups ``instrument`` and ``k``).
INSTRUMENT_PATTERN = r"(?P<instrument>[A-Za-z0-9][A-Za-z0-9.\-_]*)"
DATASET_ID_PATTERN = r"(?P<k>[A-Za-z0-9][A-Za-z0-9.\-]*)"
DETMAP_NAME = re.compile(rf"^{INSTRUMENT_PATTERN}_detmap_{DATASET_ID_PATTERN}\.fits$")
FWHM_NAME = re.compile(rf"^{INSTRUMENT_PATTERN}_fwhm_{DATASET_ID_PATTERN}\.fits$")


def detmap_file_name(instrument, dataset_id):
    """The file name of a dataset's detection map.

    >>> detmap_file_name("naco", "1")
    'naco_detmap_1.fits'
    """
    return f"{instrument}_detmap_{dataset_id}.fits"


def fwhm_file_name(instrument, dataset_id):
    """The file name of a dataset's FWHM (the participant's, or the reference's).

    >>> fwhm_file_name("naco", "1")
    'naco_fwhm_1.fits'
    """
    return f"{instrument}_fwhm_{dataset_id}.fits"
