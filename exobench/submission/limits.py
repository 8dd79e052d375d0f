"""What a submission may hold, and the error every refusal raises."""

import dataclasses

__all__ = ["SubmissionError", "Limits", "DEFAULT_LIMITS"]

_MIB = 1 << 20


class SubmissionError(ValueError):
    """A submission that cannot be scored; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds on what a submission may hold; every one is checked before the work it bounds.

    The defaults leave room for the largest EIDC phase (10 maps of up to 300 x 300
    pixels, their FWHM files, the threshold and the option files) many times over.
    """

    #: Size of the zip archive itself.
    max_archive_bytes: int = 256 * _MIB
    #: Entries of the archive's directory (files, folders and skipped junk together).
    max_entries: int = 1000
    #: Files of the submission (after skipping platform junk such as ``__MACOSX/``).
    max_files: int = 100
    #: Uncompressed size of one file.
    max_file_bytes: int = 64 * _MIB
    #: Uncompressed size of all files together.
    max_total_bytes: int = 256 * _MIB
    #: Largest uncompressed / compressed size ratio of an entry, checked once the entry
    #: has produced more than ``ratio_floor_bytes`` (small, very compressible maps, such
    #: as an all-zero map, stay acceptable).
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 4 * _MIB
    #: FITS structure: header blocks of 2880 bytes per HDU, and HDUs looked at per file.
    max_header_blocks: int = 100
    max_hdus: int = 8
    #: Map sides, in pixels, when the reference does not give the frame shape.
    min_map_side: int = 8
    max_map_side: int = 4096
    #: Pixels of one map.
    max_map_pixels: int = 2048 * 2048


DEFAULT_LIMITS = Limits()
