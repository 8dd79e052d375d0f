"""What each injection and each blob became at a submission's threshold (for the report's plots)."""

import csv
import dataclasses
import math
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..challenge.layout import TRUTH_FILE
from ..scoring.counting import count_detections, label_blobs
from ..scoring.reference import read_reference
from ..submission import open_submission, read_submission

__all__ = ["DatasetOutcome", "injection_outcomes", "match_truth", "read_truth", "truth_columns"]


@dataclasses.dataclass(frozen=True, eq=False)
class DatasetOutcome:
    """One dataset of a submission, counted at the submitted threshold.

    Attributes
    ----------
    instrument, dataset_id : str
    detmap : ndarray
        The submitted map (``[y, x]``).
    threshold : float
    fwhm : float
        The reference FWHM.
    positions : ndarray, shape (n, 2)
        The injections (x, y).
    detected : ndarray of bool, shape (n,)
        True where the injection is matched (a true positive).
    false_positives : ndarray, shape (m, 2)
        Centroids (x, y) of the blobs counted as false positives (unmatched or huge).
    huge : ndarray of bool, shape (m,)
        True for the huge blobs among ``false_positives``.
    tp, fp, fn : int
        The counts, as the scorer's.
    """

    instrument: str
    dataset_id: str
    detmap: np.ndarray
    threshold: float
    fwhm: float
    positions: np.ndarray
    detected: np.ndarray
    false_positives: np.ndarray
    huge: np.ndarray
    tp: int
    fp: int
    fn: int

    @property
    def key(self):
        return (self.instrument, self.dataset_id)


def injection_outcomes(submission, reference_dir, *, compat=None):
    """Count each dataset of a submission again, keeping which injection and blob is what.

    The counting is :func:`~exobench.scoring.counting.count_detections` with the
    reference FWHM and the phase's counting options: the scorer's counting in its
    default mode (with ``compat="eidc2019"`` the 2019 counting, still with the reference
    FWHM).

    Parameters
    ----------
    submission : str or path-like
        The submission zip (or folder).
    reference_dir : str or path-like
        The reference phase folder.
    compat : {None, "eidc2019"}, optional

    Returns
    -------
    list of DatasetOutcome
        In the reference's dataset order.
    """
    reference = read_reference(reference_dir)
    counting = dict(reference.counting)
    if "npix" in counting:
        counting["npix"] = int(counting["npix"])
    mode = "eidc2019" if compat else None
    with tempfile.TemporaryDirectory(prefix="exobench-report-") as tmp:
        folder = open_submission(submission, tmp)
        sub = read_submission(folder, reference, compat=mode)
    out = []
    for d in reference.datasets:
        detmap = np.asarray(sub.detmaps[d.key], dtype=np.float64)
        c = count_detections(detmap, sub.threshold, d.positions, d.fwhm, compat=mode, **counting)
        detected = np.zeros(d.n_injections, dtype=bool)
        for _blob, injection in c.matches:
            detected[injection] = True
        labels, _ = label_blobs(np.nan_to_num(detmap, nan=-np.inf) > sub.threshold)
        fp_labels = list(c.unmatched_blobs) + list(c.huge_blobs)
        if fp_labels:
            centres = ndimage.center_of_mass(np.ones_like(detmap), labels, fp_labels)
            false_positives = np.array([(x, y) for y, x in centres], dtype=float)
        else:
            false_positives = np.zeros((0, 2))
        huge = np.array([False] * len(c.unmatched_blobs) + [True] * len(c.huge_blobs), dtype=bool)
        out.append(DatasetOutcome(d.instrument, d.dataset_id, detmap, float(sub.threshold), float(d.fwhm),
                                  np.asarray(d.positions, dtype=float).reshape(-1, 2), detected, false_positives,
                                  huge, c.tp, c.fp, c.fn))
    return out


#: Columns of truth.csv the report uses.
truth_columns = ("instrument", "dataset_id", "x", "y", "separation_fwhm", "contrast")


def read_truth(reference_dir):
    """The rows of ``truth.csv`` of a reference phase, as dicts (an empty list when absent).

    Numbers are floats (NaN when empty); ``instrument`` and ``dataset_id`` strings.

    Raises
    ------
    ValueError
        When the file lacks a column of :data:`truth_columns` (the message names the file).
    """
    path = Path(reference_dir) / TRUTH_FILE
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in truth_columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"truth: {str(path)!r} lacks the column(s) {', '.join(missing)}")
        rows = []
        for row in reader:
            item = {"instrument": row["instrument"], "dataset_id": str(row["dataset_id"])}
            for name in ("x", "y", "separation_fwhm", "contrast"):
                try:
                    item[name] = float(row[name])
                except (TypeError, ValueError):
                    item[name] = math.nan
            rows.append(item)
    return rows


def match_truth(outcome, truth, *, tolerance=0.01):
    """The truth row of each injection of a dataset (None where truth.csv has none), by position."""
    rows = [r for r in truth if r["instrument"] == outcome.instrument and r["dataset_id"] == outcome.dataset_id]
    found = []
    for x, y in outcome.positions:
        best = min(rows, key=lambda r: (r["x"] - x) ** 2 + (r["y"] - y) ** 2, default=None)
        ok = best is not None and abs(best["x"] - x) <= tolerance and abs(best["y"] - y) <= tolerance
        found.append(best if ok else None)
    return found
