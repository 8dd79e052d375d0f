"""Pictures and pages: the HTML report of a challenge's local leaderboard
(``exobench report DIR -o report.html``), and previews of datasets
(:func:`~exobench.report.previews.plot_datasets`, ``exobench inspect --plot``).

One self-contained page (inline PNG images, inline CSS, no script, no network):
per phase, the ranking table, the ROC curves of all submissions overlaid, TPR by
separation and by contrast (from ``reference/phase_N/truth.csv``), detection maps
with truth and detections marked, and the metric definitions. See docs/leaderboard.md.
"""

from .outcomes import DatasetOutcome, injection_outcomes, read_truth
from .page import DEFAULT_MAX_MAPS, SECTIONS, build_report, write_report

__all__ = ["DEFAULT_MAX_MAPS", "SECTIONS", "DatasetOutcome", "build_report", "injection_outcomes", "read_truth",
           "write_report"]
