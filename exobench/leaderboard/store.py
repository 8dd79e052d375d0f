"""The leaderboard database: where it is, how it is opened, what goes in and out.

The database is an SQLite file by default (``DIR/leaderboard.sqlite``), opened in
WAL mode with a busy timeout, so that many scoring processes can write at once;
organisers with a server give any SQLAlchemy URL instead (``db=`` or the
environment variable :data:`DB_ENV`). Every write is one explicit transaction
(on SQLite ``BEGIN IMMEDIATE``: the writers queue on the lock instead of failing
when they upgrade a read lock), and a submission's rows (its scores, datasets and
ROC points) are written together or not at all.
"""

import dataclasses
import datetime
import json
import math
import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from .. import __version__
from ..challenge.layout import LEADERBOARD_FILE, ChallengeLayout
from . import schema

__all__ = [
    "DB_ENV",
    "DEFAULT_DB_NAME",
    "DEFAULT_BUSY_TIMEOUT_S",
    "DatabaseError",
    "Entry",
    "Leaderboard",
    "database_url",
]

#: Environment variable holding the SQLAlchemy URL of the leaderboard (overridden by ``db=``).
DB_ENV = "EXOBENCH_LEADERBOARD_DB"
#: File name of the default SQLite database, in the challenge folder.
DEFAULT_DB_NAME = LEADERBOARD_FILE
#: How long an SQLite writer waits for the lock before giving up (seconds).
DEFAULT_BUSY_TIMEOUT_S = 60.0


class DatabaseError(OSError):
    """The leaderboard database cannot be opened, read or written (the message names it)."""


def database_url(challenge, db=None):
    """The SQLAlchemy URL of a challenge's leaderboard.

    Parameters
    ----------
    challenge : str or path-like
        The challenge folder.
    db : str, optional
        An SQLAlchemy URL (``postgresql://user@host/exobench``) or the path of an
        SQLite file. Default: ``$EXOBENCH_LEADERBOARD_DB`` when set, else
        ``sqlite:///CHALLENGE/leaderboard.sqlite``.

    Returns
    -------
    sqlalchemy.engine.URL

    Examples
    --------
    >>> database_url("my-challenge").render_as_string()
    'sqlite:///my-challenge/leaderboard.sqlite'
    """
    source = "db"
    if db is None and os.environ.get(DB_ENV):
        db, source = os.environ[DB_ENV], DB_ENV
    if db is None:
        return make_url(f"sqlite:///{ChallengeLayout(challenge).leaderboard_db}")
    if not isinstance(db, str) or not db.strip():
        raise ValueError(f"{source}: expected an SQLAlchemy URL or an SQLite file path, got {db!r}")
    if "://" not in db:
        return make_url(f"sqlite:///{Path(db)}")
    try:
        return make_url(db)
    except ArgumentError:
        raise ValueError(f"{source}: cannot read the SQLAlchemy URL {db!r}") from None


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _json_or_none(text):
    return None if text is None else json.loads(text)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One submission of the leaderboard.

    Attributes
    ----------
    id : int
        Row id (order of arrival).
    phase : int
    name : str
    sha256 : str
        Checksum of the submitted file.
    filename : str
        The submitted file's name.
    submitted_at : datetime.datetime
        When it was stored (UTC).
    status : {"scored", "refused"}
    error : str or None
        The refusal (one line), for refused submissions.
    suffix, compat : str or None
        The phase's score-name suffix and the scoring mode used.
    threshold : float or None
    f1, precision, recall, false_positives, tpr, fpr, auc, partial_auc : float or None
        The phase's metrics, None where undefined (see :mod:`exobench.scoring.program`).
    max_fpr : float or None
        FPR bound of the partial AUC and of ``tpr_at_max_fpr``.
    tpr_at_max_fpr : float or None
        Best TPR of the ROC curve at FPR <= ``max_fpr``.
    scores : dict
        The scorer's leaderboard keys (``F1_3d``, ...) and values (undefined as 0; in a characterisation
        phase, ``astrometry_px_charac3d``, ..., undefined as None).
    elapsed_s : float or None
    exobench_version : str
    rank : int or None
        Position in a ranking (:func:`exobench.leaderboard.ranking`), else None.
    intervals : ScoreIntervals or None
        Bootstrap intervals of the scores, set by a ranking
        (:mod:`exobench.leaderboard.intervals`), else None.
    """

    id: int
    phase: int
    name: str
    sha256: str
    filename: str
    submitted_at: datetime.datetime
    status: str
    error: str = None
    suffix: str = None
    compat: str = None
    threshold: float = None
    f1: float = None
    precision: float = None
    recall: float = None
    false_positives: float = None
    tpr: float = None
    fpr: float = None
    auc: float = None
    partial_auc: float = None
    max_fpr: float = None
    tpr_at_max_fpr: float = None
    scores: dict = dataclasses.field(default_factory=dict)
    elapsed_s: float = None
    exobench_version: str = ""
    rank: int = None
    intervals: object = None

    def to_dict(self):
        """The entry as JSON-serialisable data (the time as ISO 8601)."""
        out = dataclasses.asdict(self)
        out["submitted_at"] = self.submitted_at.isoformat()
        return out


_ENTRY_FIELDS = tuple(f.name for f in dataclasses.fields(Entry) if f.name not in ("rank", "intervals"))


def _entry(row):
    values = {name: row._mapping[name] for name in _ENTRY_FIELDS}
    values["scores"] = _json_or_none(values["scores"]) or {}
    when = values["submitted_at"]
    if when.tzinfo is None:  # SQLite keeps no time zone: the values are UTC
        values["submitted_at"] = when.replace(tzinfo=datetime.timezone.utc)
    return Entry(**values)


def _finite(value):
    return None if value is None or not math.isfinite(value) else float(value)


class Leaderboard:
    """A leaderboard database.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL
        Where the database is (see :func:`database_url`).
    create : bool, optional
        Create the database and its tables when absent (default True). With
        False, a missing SQLite file is a :class:`FileNotFoundError` and missing
        tables read as an empty leaderboard.
    busy_timeout : float, optional
        SQLite: seconds a writer waits for the lock (default 60).

    Notes
    -----
    Use it as a context manager, or call :meth:`close`, to release its connections.
    Open one per process: an open leaderboard is not shared across ``fork``.
    """

    def __init__(self, url, *, create=True, busy_timeout=DEFAULT_BUSY_TIMEOUT_S):
        self.url = make_url(url) if isinstance(url, str) else url
        self._label = self.url.render_as_string(hide_password=True)
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, (int, float)) or not busy_timeout > 0:
            raise ValueError(f"busy_timeout: expected a number of seconds > 0, got {busy_timeout!r}")
        self._sqlite = self.url.get_backend_name() == "sqlite"
        if self._sqlite:
            self._check_sqlite_path(create)
        try:
            self.engine = sa.create_engine(self.url, future=True)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise ValueError(f"db: cannot open {self._label}: {_first_line(exc)}") from None
        if self._sqlite:
            _configure_sqlite(self.engine, busy_timeout)
        self._schema_ready = False
        if create:
            self._ensure_schema()

    def _check_sqlite_path(self, create):
        database = self.url.database
        if not database or database == ":memory:":
            return
        path = Path(database)
        if not path.parent.is_dir():
            raise FileNotFoundError(f"db: folder {str(path.parent)!r} of {str(path)!r} does not exist")
        if not create and not path.is_file():
            raise FileNotFoundError(f"db: no leaderboard database at {str(path)!r} (nothing submitted yet?)")

    # -- context manager ------------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Release the database connections."""
        self.engine.dispose()

    def __repr__(self):
        return f"Leaderboard({self._label!r})"

    # -- transactions ---------------------------------------------------------------------

    def _write(self, work):
        """Run ``work(connection)`` in one write transaction; errors as DatabaseError."""
        try:
            with self.engine.connect().execution_options(exobench_write=True) as conn:
                with conn.begin():
                    return work(conn)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"db {self._label}: {_first_line(exc)}") from exc

    def _read(self, work):
        try:
            with self.engine.connect() as conn:
                with conn.begin():
                    return work(conn)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"db {self._label}: {_first_line(exc)}") from exc

    def _ensure_schema(self):
        def create(conn):
            schema.metadata.create_all(conn, checkfirst=True)
            found = conn.execute(sa.select(schema.meta.c.value).where(schema.meta.c.key == "schema_version"))
            version = found.scalar_one_or_none()
            if version is None:
                conn.execute(schema.meta.insert().values(key="schema_version", value=schema.SCHEMA_VERSION))
            elif version != schema.SCHEMA_VERSION:
                raise ValueError(f"db {self._label}: schema version {version!r}, this exobench writes "
                                 f"{schema.SCHEMA_VERSION!r}")

        try:
            self._write(create)
        except DatabaseError:
            # Another process may have created the tables between our check and our CREATE
            # (servers without transactional DDL); one more try sees them.
            self._write(create)
        self._schema_ready = True

    def _has_tables(self, conn):
        return sa.inspect(conn).has_table(schema.submissions.name)

    # -- writing --------------------------------------------------------------------------

    def add_scored(self, *, phase, name, sha256, filename, report):
        """Store a scored submission (its row, its datasets and its ROC points) in one transaction.

        Parameters
        ----------
        phase : int
        name, sha256, filename : str
        report : exobench.scoring.program.ScoreReport or exobench.scoring.charac_program.CharacReport

        Returns
        -------
        Entry
        """
        details = report.details()
        metrics = report.metrics
        keys = list(report.scores)
        # a characterisation phase (exobench.scoring.charac_program) has no detection metrics; its undefined
        # scores (no uncertainties, no pixel scale) are kept as null, not as the platforms' 0
        characterisation = getattr(report, "task", "detection") == "characterisation"
        scores = ({key: (None if key in report.undefined else value) for key, value in report.scores.items()}
                  if characterisation else report.scores)
        row = dict(
            phase=phase, name=name, sha256=sha256, filename=filename, submitted_at=_now(), status="scored",
            error=None, suffix=report.suffix, compat=report.compat,
            threshold=_finite(getattr(report, "threshold", None)),
            f1=metrics.get("f1"), precision=metrics.get("precision"), recall=metrics.get("tpr"),
            false_positives=_finite(report.scores.get(keys[3])) if len(keys) > 3 and not characterisation else None,
            tpr=metrics.get("tpr"), fpr=metrics.get("fpr"), auc=metrics.get("auc"),
            partial_auc=metrics.get("partial_auc"), max_fpr=metrics.get("max_fpr"),
            tpr_at_max_fpr=tpr_at_fpr(getattr(report, "roc", None), metrics.get("max_fpr")),
            scores=json.dumps(scores), details=json.dumps(details, allow_nan=False),
            elapsed_s=float(report.elapsed_s), exobench_version=__version__,
        )
        datasets = [
            dict(position=i, instrument=d.instrument, dataset_id=d.dataset_id, map_given=bool(d.map_given),
                 ny=int(d.shape[0]), nx=int(d.shape[1]), fwhm=float(d.fwhm), n_injections=d.n_injections,
                 tp=d.tp, fp=d.fp, fn=d.fn, tn=d.tn, n_elements=d.n_elements, huge_blobs=d.huge_blobs)
            for i, d in enumerate(getattr(report, "datasets", ()))
        ]
        roc = details.get("roc") or {"thresholds": [], "fpr": [], "tpr": []}
        points = [dict(position=i, threshold=t, fpr=f, tpr=p)
                  for i, (t, f, p) in enumerate(zip(roc["thresholds"], roc["fpr"], roc["tpr"]))]

        def insert(conn):
            new_id = conn.execute(schema.submissions.insert().values(**row)).inserted_primary_key[0]
            if datasets:
                conn.execute(schema.dataset_results.insert(), [{**d, "submission_id": new_id} for d in datasets])
            if points:
                conn.execute(schema.roc_points.insert(), [{**p, "submission_id": new_id} for p in points])
            return new_id

        new_id = self._write(insert)
        return self.entry(new_id)

    def add_refused(self, *, phase, name, sha256, filename, error):
        """Store a refused submission (status ``"refused"`` and the one-line reason).

        Returns
        -------
        Entry
        """
        row = dict(phase=phase, name=name, sha256=sha256, filename=filename, submitted_at=_now(),
                   status="refused", error=_first_line(error), exobench_version=__version__)
        new_id = self._write(lambda conn: conn.execute(schema.submissions.insert().values(**row))
                             .inserted_primary_key[0])
        return self.entry(new_id)

    # -- reading --------------------------------------------------------------------------

    def entry(self, entry_id):
        """The :class:`Entry` of a row id (KeyError when absent)."""
        def work(conn):
            if not self._has_tables(conn):
                return None
            return conn.execute(sa.select(schema.submissions).where(schema.submissions.c.id == entry_id)).first()

        row = self._read(work)
        if row is None:
            raise KeyError(f"entry_id: no submission {entry_id!r} in {self._label}")
        return _entry(row)

    def remove(self, entry_id):
        """Remove entry ``entry_id`` with its per-dataset counts and ROC points (one transaction).

        Returns
        -------
        Entry
            What was removed.

        Raises
        ------
        KeyError
            No such entry.
        """
        entry = self.entry(entry_id)

        def work(conn):
            for table in (schema.roc_points, schema.dataset_results):
                conn.execute(sa.delete(table).where(table.c.submission_id == entry.id))
            conn.execute(sa.delete(schema.submissions).where(schema.submissions.c.id == entry.id))

        self._write(work)
        return entry

    def entries(self, *, phase=None, status=None):
        """All entries, in order of arrival, optionally of one phase and one status.

        Returns
        -------
        list of Entry
        """
        query = sa.select(schema.submissions).order_by(schema.submissions.c.id)
        if phase is not None:
            query = query.where(schema.submissions.c.phase == int(phase))
        if status is not None:
            query = query.where(schema.submissions.c.status == status)

        def work(conn):
            return conn.execute(query).all() if self._has_tables(conn) else []

        return [_entry(row) for row in self._read(work)]

    def phases(self):
        """The phase numbers that have entries, sorted."""
        def work(conn):
            if not self._has_tables(conn):
                return []
            return conn.execute(sa.select(schema.submissions.c.phase).distinct()).scalars().all()

        return sorted(self._read(work))

    def datasets(self, entry_id):
        """Per-dataset counts of a scored entry, as dicts in the scorer's dataset order."""
        t = schema.dataset_results
        query = sa.select(t).where(t.c.submission_id == entry_id).order_by(t.c.position)
        rows = self._read(lambda conn: conn.execute(query).all())
        return [{k: v for k, v in row._mapping.items() if k not in ("submission_id", "position")} for row in rows]

    def roc(self, entry_id):
        """The stored ROC points of a scored entry: ``{"thresholds", "fpr", "tpr"}`` lists (None: undefined)."""
        t = schema.roc_points
        query = sa.select(t.c.threshold, t.c.fpr, t.c.tpr).where(t.c.submission_id == entry_id).order_by(t.c.position)
        rows = self._read(lambda conn: conn.execute(query).all())
        return {"thresholds": [r[0] for r in rows], "fpr": [r[1] for r in rows], "tpr": [r[2] for r in rows]}

    def details(self, entry_id):
        """The scorer's detailed results of a scored entry (``ScoreReport.details()``), or None."""
        query = sa.select(schema.submissions.c.details).where(schema.submissions.c.id == entry_id)
        return _json_or_none(self._read(lambda conn: conn.execute(query).scalar_one_or_none()))


def tpr_at_fpr(roc, max_fpr):
    """The best TPR of a ROC curve over its thresholds with FPR <= ``max_fpr``.

    The value of the curve's envelope (the one whose area is the AUC) at
    ``max_fpr``, without interpolation: a TPR that some threshold reaches within
    that false-positive budget. 0 when no threshold is within it; None when the
    curve is undefined (no injection, FP + TN = 0) or absent.
    """
    if roc is None or max_fpr is None:
        return None
    import numpy as np

    fpr = np.asarray(roc.fpr, dtype=float)
    tpr = np.asarray(roc.tpr, dtype=float)
    if fpr.size == 0 or np.any(np.isnan(fpr)) or np.any(np.isnan(tpr)):
        return None
    inside = fpr <= max_fpr
    return float(tpr[inside].max()) if np.any(inside) else 0.0


def _configure_sqlite(engine, busy_timeout):
    timeout_ms = int(round(busy_timeout * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event, not the sqlite3 module, open the transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        write = connection.get_execution_options().get("exobench_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
