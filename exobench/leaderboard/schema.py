"""The tables of the leaderboard database (SQLAlchemy Core).

Three tables and a small key/value table:

``submissions``
    one row per submission (scored or refused): phase, name, sha256 of the file,
    time (UTC), status, the refusal's message, the scoring mode, threshold, the
    leaderboard scores (as the scorer writes them), the ranking metrics (None
    where undefined) and the scorer's detailed results as JSON;
``dataset_results``
    one row per dataset of a scored submission (the scorer's per-dataset counts);
``roc_points``
    the phase's ROC curve of a scored submission, thinned as the scorer's detailed
    results do (at most :data:`exobench.scoring.program_output.MAX_ROC_POINTS` points);
``contrast_curves``
    the contrast curves of a scored submission's algorithm, one row per dataset:
    what computed them (a baseline and its parameters, or a code submission),
    the false-positive fraction, lambda/D in pixels and the curve as the JSON of
    :meth:`exobench.contrast.ContrastCurve.to_dict` (read back with
    :func:`exobench.contrast.curve_from_dict`); a table added after the first
    layout, created on opening an older database (no submission there has curves);
``meta``
    ``schema_version``.
"""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["SCHEMA_VERSION", "metadata", "submissions", "dataset_results", "roc_points", "contrast_curves", "meta"]

#: Version of the tables' layout, stored in ``meta``.
SCHEMA_VERSION = "1"

metadata = MetaData()

submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("phase", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("filename", String(500), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # "scored" or "refused"
    Column("error", Text, nullable=True),
    Column("suffix", String(16), nullable=True),
    Column("compat", String(16), nullable=True),
    Column("threshold", Float, nullable=True),
    Column("f1", Float, nullable=True),
    Column("precision", Float, nullable=True),
    Column("recall", Float, nullable=True),
    Column("false_positives", Float, nullable=True),
    Column("tpr", Float, nullable=True),
    Column("fpr", Float, nullable=True),
    Column("auc", Float, nullable=True),
    Column("partial_auc", Float, nullable=True),
    Column("max_fpr", Float, nullable=True),
    Column("tpr_at_max_fpr", Float, nullable=True),
    Column("scores", Text, nullable=True),  # JSON: the scorer's leaderboard keys and values
    Column("details", Text, nullable=True),  # JSON: ScoreReport.details()
    Column("elapsed_s", Float, nullable=True),
    Column("exobench_version", String(64), nullable=False),
)
Index("ix_submissions_phase_status", submissions.c.phase, submissions.c.status)
Index("ix_submissions_sha256", submissions.c.sha256)

dataset_results = Table(
    "dataset_results",
    metadata,
    Column("submission_id", Integer, ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("instrument", String(64), nullable=False),
    Column("dataset_id", String(64), nullable=False),
    Column("map_given", Boolean, nullable=False),
    Column("ny", Integer, nullable=False),
    Column("nx", Integer, nullable=False),
    Column("fwhm", Float, nullable=False),
    Column("n_injections", Integer, nullable=False),
    Column("tp", Integer, nullable=False),
    Column("fp", Integer, nullable=False),
    Column("fn", Integer, nullable=False),
    Column("tn", Integer, nullable=False),
    Column("n_elements", Integer, nullable=False),
    Column("huge_blobs", Integer, nullable=False),
)

roc_points = Table(
    "roc_points",
    metadata,
    Column("submission_id", Integer, ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("threshold", Float, nullable=True),  # None: -inf (everything detected)
    Column("fpr", Float, nullable=True),
    Column("tpr", Float, nullable=True),
)

contrast_curves = Table(
    "contrast_curves",
    metadata,
    Column("submission_id", Integer, ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True),
    Column("instrument", String(64), primary_key=True),
    Column("dataset_id", String(64), primary_key=True),
    Column("source", String(500), nullable=False),  # "baseline NAME" or "code FILE"
    Column("params", Text, nullable=True),  # JSON: the baseline's full parameters
    Column("fpf", Float, nullable=False),
    Column("lambda_d_px", Float, nullable=False),
    Column("curve", Text, nullable=False),  # JSON: ContrastCurve.to_dict()
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("exobench_version", String(64), nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)
