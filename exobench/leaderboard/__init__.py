"""The local leaderboard: submissions scored as ``exobench score`` does, stored in a database.

``exobench submit SUBMISSION.zip DIR/reference/phase_N --name NAME`` scores a
submission with :func:`exobench.scoring.program.score_submission` on that
reference phase and stores the result in the challenge DIR's leaderboard; ``exobench leaderboard DIR``
prints the ranking of each phase. See docs/leaderboard.md.

>>> from exobench.leaderboard import submit, ranking          # doctest: +SKIP
>>> entry = submit("pca.zip", "my-challenge/reference/phase_1", name="pca")   # doctest: +SKIP
>>> [(e.rank, e.name, e.f1) for e in ranking("my-challenge", sort="auc")[0].entries]  # doctest: +SKIP
"""

from .ranking import (SORT_KEYS, PhaseRanking, rank_entries, ranking, ranking_csv, ranking_json, ranking_tables,
                      ranking_text)
from .store import (CONTRAST_COLUMNS, DB_ENV, DEFAULT_DB_NAME, ContrastRecord, DatabaseError, Entry, Leaderboard,
                    database_url, tpr_at_fpr)
from .submit import (DUPLICATE_POLICIES, SUBMISSIONS_DIR, add_contrast, remove_entry, sha256_file,
                     stored_submission, submit)

__all__ = [
    "CONTRAST_COLUMNS",
    "ContrastRecord",
    "add_contrast",
    "DB_ENV",
    "DEFAULT_DB_NAME",
    "SORT_KEYS",
    "SUBMISSIONS_DIR",
    "DatabaseError",
    "Entry",
    "Leaderboard",
    "PhaseRanking",
    "database_url",
    "rank_entries",
    "ranking",
    "ranking_json",
    "ranking_csv",
    "ranking_tables",
    "ranking_text",
    "sha256_file",
    "stored_submission",
    "submit",
    "remove_entry",
    "DUPLICATE_POLICIES",
    "tpr_at_fpr",
]
