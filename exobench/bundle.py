"""The competition bundle of a built challenge, for Codalab (v1.5) or Codabench (v2).

``exobench bundle CHALLENGE_DIR -o BUNDLE.zip --platform codalab|codabench`` (and
:func:`build_bundle`) turns a built challenge folder into the one zip an organiser
uploads to the platform.

The built challenge folder
--------------------------
::

    CHALLENGE_DIR/
        challenge.yaml          optional: title, pages' text, phases (below)
        public/phase_N/         the public data of phase N, EIDC layout:
                                {instrument}_cube_{k}.fits, _pa_, _psf_, _pxscale_ (and _wls_ in 4D)
        reference/phase_N/      the withheld truth of phase N (the scoring program's input/ref):
                                {instrument}_positions_{k}.fits ((x, y), N x 2), {instrument}_fwhm_{k}.fits,
                                optional phase.json (see exobench.scoring.reference)
        starting_kit/           optional: anything for the participants (README, example code)

``challenge.yaml`` (every key optional; unknown keys are refused, so that a typo
does not pass unnoticed)::

    name: "Exoplanet detection challenge"      # the competition's title
    description: "One line shown in the platform's list"
    start: 2026-01-01                          # default start of phase 1 (default 2026-01-01)
    max_submissions: 100                       # per participant and phase (default 100)
    max_submissions_per_day: 5                 # Codabench only (default 5)
    execution_time_limit: 600                  # seconds per scoring run (default 600)
    phases:
      - number: 1                              # the N of public/phase_N and reference/phase_N
        name: ADI                              # default "ADI" (suffix 3d) or "ADI+mSDI" (4d)
        suffix: 3d                             # score names F1_3d... (default: see below)
        start: 2026-01-01                      # default: the previous phase's end, else `start`
        end: 2026-03-31                        # default: start + 90 days
        description: "..."

Without ``challenge.yaml``, or without its ``phases``, the phases are the folders
``reference/phase_N`` (N = 1, 2, ...), in order. A phase's suffix is, by priority:
``suffix`` in ``challenge.yaml``; ``suffix`` of its ``reference/phase_N/phase.json``;
``4d`` when its public folder holds wavelength files (``*_wls_*.fits``, ``*_wl_*``,
``*_wvs_*``); else ``3d``. Both given and different is an error. Phases are
sequential (each starts when the previous ends): Codabench requires it, and on
Codalab v1.5 the next phase's start closes the previous one.

The starting kit is the repository's ``starting_kit/`` folder (:data:`REPOSITORY_KIT`,
when it holds files: README, notebook, template) merged with
``CHALLENGE_DIR/starting_kit/`` (the builder's copy of the public data; its files
win on a name clash); where neither holds a file, a generated ``README.md``
describing the submission format. In every folder packed,
hidden files (``.*``), ``__pycache__`` and ``*.pyc`` are skipped and links refused;
the reference folder must be flat (the scoring program reads no sub-folder).

The bundle
----------
Codalab v1.5 (``--platform codalab``)::

    competition.yaml  logo.png
    overview.html  evaluation.html  terms_and_conditions.html  data.html
    scoring_program.zip  reference_data_N.zip  public_data_N.zip  starting_kit.zip

Codabench v2 (``--platform codabench``)::

    competition.yaml  logo.png  pages/overview.md  pages/evaluation.md  pages/terms.md  pages/data.md
    scoring_program.zip  reference_data_N.zip  public_data_N.zip  starting_kit.zip

- ``scoring_program.zip``: :func:`~exobench.scoring.program.vendor_program` (``score.py``,
  ``metadata`` for Codalab, ``metadata.yaml`` for Codabench, and the exobench modules it
  imports): it runs with numpy, scipy and astropy only. It is the only place a file
  named ``metadata`` appears; one in the public data, the reference or the starting kit
  is refused (Codalab would take a zip holding one for code).
- ``reference_data_N.zip``: the files of ``reference/phase_N`` at the zip's top (the
  workers unzip it as ``input/ref``), with ``phase.json``'s ``suffix`` set to the
  phase's (added when missing); the reference is read with
  :func:`~exobench.scoring.reference.read_reference` before it is packed.
- ``public_data_N.zip``: the files of ``public/phase_N`` at the zip's top.
- ``competition.yaml``: the phases with their data and dates (Codalab: ``start_date`` per phase and the
  competition's ``end_date``, the last phase's end; Codabench: ``start`` and ``end``), and the leaderboards. One
  leaderboard per distinct suffix (``ADI`` and ``ADI+mSDI`` in the EIDC's case, shared
  by phases of the same suffix), whose columns are keyed exactly by
  :func:`~exobench.scoring.program.score_keys` of that suffix, in that order, so that
  every line of ``scores.txt`` / key of ``scores.json`` has its column.
  Codabench's ``docker_image`` is :data:`DOCKER_IMAGE` (``codalab/codalab-legacy:py39``,
  the platforms' stock Python 3.9 image with numpy, scipy and astropy); dates are
  written as ISO dates (YAML dates).
- Pages: overview, evaluation (the exact counting and metric definitions, and each
  phase's counting options), terms, data (file layout and conventions); HTML for
  Codalab, markdown for Codabench, from one source.

Every zip (the bundle and the zips inside it) is deterministic: entries sorted by
name, fixed timestamps (1980-01-01) and permissions, so the same challenge gives
the same bytes. The bundle is written atomically (:mod:`exobench._atomic`).
"""

import datetime
import html
import io
import json
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

__all__ = ["PLATFORMS", "DOCKER_IMAGE", "Phase", "Challenge", "read_challenge", "build_bundle", "deterministic_zip",
           "logo_png", "column_spec"]

PLATFORMS = ("codalab", "codabench")
#: The Codabench worker image: Python 3.9 with numpy, scipy and astropy (what the vendored program needs).
DOCKER_IMAGE = "codalab/codalab-legacy:py39"
DEFAULT_START = datetime.date(2026, 1, 1)
DEFAULT_PHASE_DAYS = 90
DEFAULT_NAMES = {"3d": "ADI", "4d": "ADI+mSDI"}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_CHALLENGE_KEYS = {"name", "description", "start", "max_submissions", "max_submissions_per_day",
                   "execution_time_limit", "phases"}
_PHASE_KEYS = {"number", "name", "suffix", "start", "end", "description"}
_PHASE_FOLDER = re.compile(r"^phase_([1-9][0-9]*)$")
_WAVELENGTH_FILE = re.compile(r"^.+_(wls|wl|wvs)_[^_]+\.fits$")

#: Per score name: (label, sort, numeric format / precision, what it is).
_COLUMNS = {
    "F1": ("F1", "desc", 4, "2 TP / (TP + FP + N)"),
    "Precision": ("Precision", "desc", 4, "TP / (TP + FP)"),
    "Recall": ("Recall", "desc", 4, "TP / N"),
    "FalsePositives": ("False positives", "asc", 0, "FP, summed over the datasets"),
    "TPR": ("TPR", "desc", 4, "TP / N (= recall)"),
    "FPR": ("FPR", "asc", 6, "FP / (FP + TN)"),
    "AUC": ("AUC", "desc", 4, "area under the ROC envelope"),
}


class Phase:
    """One phase of a challenge: its number, name, suffix, dates and folders."""

    def __init__(self, number, name, suffix, start, end, description, public, reference):
        self.number, self.name, self.suffix = number, name, suffix
        self.start, self.end, self.description = start, end, description
        self.public, self.reference = public, reference

    @property
    def keys(self):
        from .scoring.program import score_keys

        return score_keys(self.suffix)

    def __repr__(self):
        return f"Phase({self.number}, {self.name!r}, suffix={self.suffix!r}, {self.start}..{self.end})"


class Challenge:
    """A built challenge folder, read and checked (:func:`read_challenge`)."""

    def __init__(self, folder, name, description, phases, max_submissions, max_submissions_per_day,
                 execution_time_limit, starting_kit):
        self.folder, self.name, self.description, self.phases = folder, name, description, phases
        self.max_submissions, self.max_submissions_per_day = max_submissions, max_submissions_per_day
        self.execution_time_limit, self.starting_kit = execution_time_limit, starting_kit


# -- reading the challenge folder -----------------------------------------------------------------------------


def read_challenge(folder):
    """Read and check a built challenge folder (layout in the module doc).

    Returns
    -------
    Challenge

    Raises
    ------
    FileNotFoundError
        The folder, a phase's public or reference folder is missing.
    ValueError
        ``challenge.yaml`` is malformed, or the phases are inconsistent.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"challenge: folder {str(folder)!r} does not exist")
    config = _read_config(folder / "challenge.yaml")
    start = _date(config.get("start", DEFAULT_START), "challenge.yaml: start")
    entries = config.get("phases")
    if entries is None:
        entries = [{"number": n} for n in _phase_numbers(folder)]
    if not isinstance(entries, list) or not entries:
        raise ValueError("challenge.yaml: phases: expected a non-empty list of phases")
    phases, previous_end = [], None
    for i, entry in enumerate(entries):
        phase = _read_phase(folder, entry, i, previous_end or start)
        if phases and phase.number <= phases[-1].number:
            raise ValueError(f"challenge.yaml: phases: numbers must increase, got {phases[-1].number} then "
                             f"{phase.number}")
        if previous_end is not None and phase.start < previous_end:
            raise ValueError(f"challenge.yaml: phase {phase.number} starts ({phase.start}) before phase "
                             f"{phases[-1].number} ends ({previous_end}); phases are sequential")
        phases.append(phase)
        previous_end = phase.end
    return Challenge(folder=folder, name=_text(config.get("name", "Exoplanet detection challenge"), "name"),
                     description=_text(config.get("description", "Detect faint companions in high-contrast "
                                                  "imaging sequences."), "description"),
                     phases=phases, max_submissions=_count(config, "max_submissions", 100),
                     max_submissions_per_day=_count(config, "max_submissions_per_day", 5),
                     execution_time_limit=_count(config, "execution_time_limit", 600),
                     starting_kit=_starting_kit(folder))


def _read_config(path):
    if not path.exists():
        return {}
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"challenge.yaml: not valid YAML ({_one_line(exc)})") from None
    config = {} if config is None else config
    if not isinstance(config, dict):
        raise ValueError(f"challenge.yaml: expected a mapping, got {type(config).__name__}")
    unknown = set(config) - _CHALLENGE_KEYS
    if unknown:
        raise ValueError(f"challenge.yaml: unknown key(s) {', '.join(sorted(map(str, unknown)))}; expected some "
                         f"of {', '.join(sorted(_CHALLENGE_KEYS))}")
    return config


def _phase_numbers(folder):
    reference = folder / "reference"
    numbers = sorted(int(m.group(1)) for m in (_PHASE_FOLDER.match(p.name) for p in
                                                (reference.iterdir() if reference.is_dir() else ()))
                     if m and (reference / m.group(0)).is_dir())
    if not numbers:
        raise FileNotFoundError(f"challenge: no reference/phase_N folder in {str(folder)!r} (and no phases in "
                                f"challenge.yaml)")
    return numbers


def _read_phase(folder, entry, index, default_start):
    if not isinstance(entry, dict):
        raise ValueError(f"challenge.yaml: phases[{index}]: expected a mapping, got {entry!r}")
    unknown = set(entry) - _PHASE_KEYS
    if unknown:
        raise ValueError(f"challenge.yaml: phases[{index}]: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                         f"expected some of {', '.join(sorted(_PHASE_KEYS))}")
    number = entry.get("number", index + 1)
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValueError(f"challenge.yaml: phases[{index}]: number: expected an integer >= 1, got {number!r}")
    public, reference = folder / "public" / f"phase_{number}", folder / "reference" / f"phase_{number}"
    for what, path in (("public", public), ("reference", reference)):
        if not path.is_dir():
            raise FileNotFoundError(f"challenge: phase {number}: folder {what}/phase_{number} missing in "
                                    f"{str(folder)!r}")
    suffix = _phase_suffix(entry.get("suffix"), reference, public, number)
    name = _text(entry.get("name", DEFAULT_NAMES.get(suffix, f"Phase {number}")), f"phases[{index}].name")
    start = _date(entry.get("start", default_start), f"challenge.yaml: phases[{index}].start")
    end = _date(entry.get("end", start + datetime.timedelta(days=DEFAULT_PHASE_DAYS)),
                f"challenge.yaml: phases[{index}].end")
    if end <= start:
        raise ValueError(f"challenge.yaml: phases[{index}]: end ({end}) must be after start ({start})")
    description = _text(entry.get("description", _default_description(suffix)), f"phases[{index}].description")
    return Phase(number, name, suffix, start, end, description, public, reference)


def _phase_suffix(given, reference, public, number):
    from .scoring.reference import PHASE_FILE, _check_suffix, _read_phase

    stored = _read_phase(reference / PHASE_FILE).get("suffix")
    if given is not None:
        given = _check_suffix(str(given) if isinstance(given, int) else given,
                              f"challenge.yaml: phase {number}: suffix")
        if stored is not None and stored != given:
            raise ValueError(f"challenge: phase {number}: challenge.yaml says suffix {given!r}, "
                             f"reference/phase_{number}/{PHASE_FILE} says {stored!r}")
        return given
    if stored is not None:
        return stored
    return "4d" if any(_WAVELENGTH_FILE.match(p.name) for p in public.iterdir()) else "3d"


def _default_description(suffix):
    if suffix == "4d":
        return "ADI+mSDI: 4D cubes (lambda, t, y, x) of integral-field spectrographs."
    return "ADI: 3D cubes (t, y, x) of imagers."


def _date(value, name):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{name}: expected a date YYYY-MM-DD, got {value!r}")


def _text(value, name):
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"challenge.yaml: {name}: expected a non-empty string, got {value!r}")
    return value.strip()


def _count(config, key, default):
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"challenge.yaml: {key}: expected an integer >= 1, got {value!r}")
    return value


#: The repository's starting kit (README, notebook, template), packed into every bundle when present.
REPOSITORY_KIT = Path(__file__).resolve().parents[1] / "starting_kit"


def _starting_kit(folder):
    """The folders whose files make the starting kit, later ones winning on a name clash."""
    folders = [REPOSITORY_KIT] if REPOSITORY_KIT.is_dir() and _folder_files(REPOSITORY_KIT) else []
    if (folder / "starting_kit").is_dir():
        folders.append(folder / "starting_kit")
    return tuple(folders) or None


# -- zips -----------------------------------------------------------------------------------------------------


def _folder_files(folder):
    """``{posix relative path: Path}`` of the files under ``folder`` (hidden files and caches skipped)."""
    files = {}
    for path in sorted(Path(folder).rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts) or path.suffix == ".pyc":
            continue
        if path.is_symlink():
            raise ValueError(f"challenge: {str(path)!r} is a link; copy the file instead")
        if path.is_file():
            files[relative.as_posix()] = path
    return files


def _refuse_metadata(files, where):
    for name in files:
        if name.rsplit("/", 1)[-1].lower() == "metadata":
            raise ValueError(f"challenge: {where}: a file named 'metadata' ({name}) would make the platform take "
                             f"the zip for code; rename it")


def deterministic_zip(target, entries):
    """Write a zip of ``{name: bytes or Path}`` to ``target`` (a path or a binary file object), deterministically.

    Entries are sorted by name, dated 1980-01-01, with permissions 0644 (Unix);
    zips and PNGs are stored, everything else deflated (zlib's default level).

    >>> buffer = io.BytesIO()
    >>> deterministic_zip(buffer, {"b.txt": b"2", "a.txt": b"1"})
    >>> zipfile.ZipFile(buffer).namelist()
    ['a.txt', 'b.txt']
    """
    with zipfile.ZipFile(target, "w") as zf:
        for name in sorted(entries):
            source = entries[name]
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            stored = name.endswith((".zip", ".png"))
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            if isinstance(source, (bytes, bytearray)):
                zf.writestr(info, bytes(source))
            else:
                size = Path(source).stat().st_size
                with open(source, "rb") as src, zf.open(info, "w", force_zip64=size > 2**31 - 1) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)


def _zip_file(path, entries):
    with open(path, "wb") as fh:
        deterministic_zip(fh, entries)
    return path


# -- the logo -------------------------------------------------------------------------------------------------


def logo_png(size=128):
    """A small PNG logo (bytes): a star's halo with a faint companion ringed by its resolution element.

    Written by hand (zlib), so it needs no plotting library and is byte-for-byte reproducible.
    """
    import numpy as np

    y, x = np.mgrid[0:size, 0:size].astype(float)
    c = size // 2
    r = np.hypot(x - c, y - c)
    halo = 1.0 / (1.0 + (r / (0.06 * size)) ** 2)
    spokes = 0.6 + 0.4 * np.cos(6 * np.arctan2(y - c, x - c))
    speckles = 0.25 * np.exp(-((r - 0.22 * size) / (0.03 * size)) ** 2) * spokes
    cx, cy = c + 0.27 * size, c - 0.18 * size
    rc = np.hypot(x - cx, y - cy)
    companion = 0.9 * np.exp(-0.5 * (rc / (0.02 * size)) ** 2)
    ring = np.exp(-0.5 * ((rc - 0.075 * size) / (0.008 * size)) ** 2)
    level = np.clip(halo + speckles + companion, 0, 1)
    rgb = np.stack([0.08 + 0.92 * level ** 0.8, 0.10 + 0.85 * level, 0.25 + 0.75 * level ** 1.2], axis=-1)
    rgb = rgb * (1 - ring[..., None]) + np.array([0.95, 0.45, 0.1]) * ring[..., None]
    pixels = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


# -- the pages ------------------------------------------------------------------------------------------------
# A page is a list of blocks: ("h2", text), ("p", text), ("ul", [text, ...]), ("pre", text),
# ("table", [header, row, ...]); `code` spans in text. Rendered to HTML (Codalab) or markdown (Codabench).


def _inline_html(text):
    parts = text.split("`")
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else _emphasis(html.escape(p))
                   for i, p in enumerate(parts))


def _emphasis(text):
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\*(\S.*?)\*", r"<em>\1</em>", text)


def render_html(title, blocks):
    """A page's blocks as an HTML fragment (Codalab shows pages inside its own layout)."""
    out = [f"<h1>{html.escape(title)}</h1>"]
    for kind, content in blocks:
        if kind == "ul":
            out.append("<ul>\n" + "\n".join(f"<li>{_inline_html(item)}</li>" for item in content) + "\n</ul>")
        elif kind == "pre":
            out.append(f"<pre>{html.escape(content)}</pre>")
        elif kind == "table":
            head, *rows = content
            out.append("<table>\n<tr>" + "".join(f"<th>{_inline_html(h)}</th>" for h in head) + "</tr>\n"
                       + "\n".join("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>"
                                   for row in rows) + "\n</table>")
        else:
            out.append(f"<{kind}>{_inline_html(content)}</{kind}>")
    return "\n".join(out) + "\n"


def render_markdown(title, blocks):
    """A page's blocks as markdown (Codabench)."""
    out = [f"# {title}"]
    for kind, content in blocks:
        if kind == "ul":
            out.append("\n".join(f"- {item}" for item in content))
        elif kind == "pre":
            out.append("\n".join("    " + line for line in content.splitlines()))
        elif kind == "table":
            head, *rows = content
            lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            out.append("\n".join(lines))
        elif kind == "h2":
            out.append(f"## {content}")
        elif kind == "h3":
            out.append(f"### {content}")
        else:
            out.append(content)
    return "\n\n".join(out) + "\n"


def column_spec(key):
    """``(label, sort, decimals, definition)`` of a leaderboard key such as ``F1_3d``."""
    name, _, suffix = key.rpartition("_")
    label, sort, decimals, definition = _COLUMNS[name]
    return label, sort, decimals, definition


def _phase_datasets(phase):
    from .data.fits_io import find_datasets

    return find_datasets(phase.public)


def _overview_page(challenge):
    blocks = [("p", challenge.description),
              ("p", "Participants run their own detection algorithm on the public high-contrast imaging sequences "
                    "of a phase and submit one detection map per dataset, with a single detection threshold. The "
                    "organisers injected fake companions (0 to 5 per dataset); the scoring program counts the "
                    "companions found and the false detections, and ranks the submissions."),
              ("h2", "Phases")]
    rows = [["phase", "name", "data", "datasets", "dates", "leaderboard columns"]]
    for phase in challenge.phases:
        kind = "4D cubes `(lambda, t, y, x)`" if phase.suffix == "4d" else "3D cubes `(t, y, x)`"
        rows.append([str(phase.number), phase.name, kind, str(len(_phase_datasets(phase))),
                     f"{phase.start} to {phase.end}", ", ".join(f"`{k}`" for k in phase.keys)])
    blocks += [("table", rows),
               ("h2", "How to take part"),
               ("ul", ["Download the phase's public data (`public_data_N.zip`) and the starting kit.",
                       "Process each dataset into a 2D detection map of the final (derotated) frame's shape.",
                       "Zip the maps with one `detection_threshold.fits` (flat zip, FITS files only) and submit it "
                       "to the phase; the scores appear on the leaderboard, and the detailed results (per-dataset "
                       "counts, ROC curve) with the submission.",
                       f"At most {challenge.max_submissions} submissions per phase; the scoring of one submission "
                       f"is stopped after {challenge.execution_time_limit} s."]),
               ("p", "The scoring program is exobench's (open source); the Evaluation page defines every score "
                     "exactly, the Data page the files and conventions.")]
    return blocks


def _evaluation_page(challenge):
    from .scoring.counting import DEFAULTS
    from .scoring.reference import read_reference

    blocks = [("p", "Each submission is scored per phase: the counts of all datasets of the phase are summed "
                    "(micro-average), then the scores are computed once."),
              ("h2", "Counting detections in one dataset"),
              ("ul", ["**Blobs.** The pixels of the detection map *strictly* above the detection threshold form "
                      "4-connected blobs; blobs of fewer than `npix` pixels are dropped. NaN pixels are never "
                      "detections, `+inf` always, `-inf` never.",
                      "**Resolution element.** The disk of radius 1 FWHM (the organisers' reference FWHM of the "
                      "dataset, never the participant's): the pixels whose centre is at a distance strictly less "
                      "than FWHM from the disk's centre. Its area `A_e` is the pixel count of that disk centred "
                      "on a pixel.",
                      "**Huge blobs.** A blob of area `a > max_blob_fact * A_e` is never a detection: it counts "
                      "as `a / A_e` false positives. A dataset's false positives (1 per unmatched blob plus these "
                      "fractions) are rounded once, half to even.",
                      "**Matching, one to one.** The overlap ratio of a blob and an injection is the number of "
                      "blob pixels inside the injection's disk (radius FWHM, centred on its (x, y)) divided by the "
                      "smaller of the two areas. A pair may match when the ratio exceeds `overlap_threshold` "
                      "(strictly). Blobs and injections are matched greedily by decreasing ratio, each injection "
                      "at most once: a second blob on the same companion is a false positive. Matched blobs are "
                      "true positives (TP), other blobs false positives (FP), unmatched injections false "
                      "negatives (FN).",
                      "**Datasets without injection** are scored: every blob there is a false positive.",
                      "**True negatives.** The evaluation region is the set of pixels at a distance `>= "
                      "inner_radius` (default 1 FWHM) from the frame centre (pixel `n // 2` of each axis), out to "
                      "the frame edge. It holds `n_elements = floor(pixels / A_e)` resolution elements, and "
                      "`TN = max(n_elements - n_injections - FP, 0)`.",
                      "A missing map is scored as an empty map (its injections are false negatives)."]),
              ("h2", "Scores (the leaderboard columns)"),
              ("p", "With TP, FP, FN, TN summed over the datasets of the phase and N the number of injected "
                    "companions:")]
    rows = [["column", "definition", "better"]]
    keys = challenge.phases[0].keys
    for key in keys:
        label, sort, _, definition = column_spec(key)
        name = key.rpartition("_")[0]
        rows.append([f"`{name}_<suffix>`", definition, "higher" if sort == "desc" else "lower"])
    blocks += [("table", rows),
               ("ul", ["F1 is the harmonic mean of precision and recall where both are defined, and 0 when TP = 0 "
                       "while something was injected or detected.",
                       "**Undefined scores.** A score whose denominator is 0 (precision without any detection, "
                       "recall or AUC without any injection, FPR without any resolution element) is undefined: "
                       "it is reported as 0 on the leaderboard (as in the 2019 EIDC), and listed under "
                       "`undefined` in `detailed_results.json`.",
                       "**AUC.** The threshold is swept over every distinct value of the maps (one threshold for "
                       "all maps, the counting above at each). AUC is the area under the *envelope* of the ROC "
                       "curve: the points (FPR, TPR) of every threshold plus (0, 0) and (1, 1), sorted by FPR, "
                       "each TPR replaced by the best TPR of the points of no larger FPR, joined by straight "
                       "lines (trapezoids). A map that finds every companion without a false positive at some "
                       "threshold has AUC 1.",
                       "The score suffix is the phase's: `_3d` (ADI), `_4d` (ADI+mSDI)."]),
               ("h2", "Counting options of each phase")]
    rows = [["phase", "npix", "overlap_threshold", "max_blob_fact", "inner_radius", "scoring mode"]]
    for phase in challenge.phases:
        reference = read_reference(phase.reference, phase_suffix=phase.suffix)
        options = {**DEFAULTS, **reference.counting}
        mode = "EIDC 2019 compatibility" if reference.compat else "corrected (default)"
        rows.append([f"{phase.number} ({phase.name})", f"{int(options['npix'])}", f"{options['overlap_threshold']:g}",
                     f"{options['max_blob_fact']:g}", f"{options['inner_radius']:g} px" if "inner_radius" in options
                     else "1 FWHM", mode])
    blocks += [("table", rows),
               ("p", "Participant files `{instrument}_fwhm_{k}.fits`, `npix.fits`, `overlap_threshold.fits` and "
                     "`max_blob_fact.fits` are checked but not used: every submission is counted with the same "
                     "rules."),
               ("h2", "Outputs"),
               ("p", "`scores.txt` (one `key: value` line per column), `scores.json` (the same), "
                     "`detailed_results.json` and `detailed_results.html` (per-dataset counts, ROC curve, warnings). "
                     "A refused submission gets a one-line reason naming the file.")]
    return blocks


def _terms_page(challenge):
    return [("ul", [
        "The public data may be used for this challenge and for research publications that cite it; the "
        "withheld truth (positions and fluxes of the injected companions) stays with the organisers until the "
        "end of the challenge.",
        "One account per participant or team. Do not share submissions or results between teams during a phase.",
        "Detection maps must come from an algorithm applied in the same way to every dataset of a phase: no "
        "manual marking of candidates, no use of information outside the public data of the phase.",
        f"At most {challenge.max_submissions} submissions per phase; the last or the selected submission is the "
        "one ranked.",
        "The organisers may publish the leaderboard, the scores and a description of the methods (ask the "
        "participants for it), and may disqualify submissions that break these rules.",
        "The scoring program is open source (exobench); the scores it computes are final."])]


def _data_page(challenge):
    blocks = [("p", "Each phase's public data is one zip (`public_data_N.zip`) of FITS files in the EIDC "
                    "layout; `k` numbers the datasets of an instrument from 1."),
              ("table", [["file", "content"],
                         ["`{instrument}_cube_{k}.fits`", "the sequence: `(t, y, x)` (ADI) or `(lambda, t, y, x)` "
                                                          "(ADI+mSDI)"],
                         ["`{instrument}_pa_{k}.fits`", "the derotation angles in degrees, one per frame"],
                         ["`{instrument}_psf_{k}.fits`", "the off-axis PSF: `(y, x)`, or `(lambda, y, x)` in 4D"],
                         ["`{instrument}_pxscale_{k}.fits`", "the pixel scale in arcsec per pixel"],
                         ["`{instrument}_wls_{k}.fits`", "4D only: the wavelengths in microns"]]),
              ("p", "Readers should also accept the aliases `plsc` (pixel scale), `wl`/`wvs` (wavelengths), angle "
                    "arrays of shape `(t, 1)` and scalar files with `NAXIS = 0`."),
              ("h2", "Conventions"),
              ("ul", ["Positions are **(x, y)**, x first, 0-based, integer coordinates at pixel centres; arrays are "
                      "indexed `image[y, x]`, displayed with the origin at the lower left.",
                      "The star is on pixel `n // 2` of each axis of an n-pixel frame, for odd and even n alike "
                      "(49 for 99 pixels, 50 for 100 or 101).",
                      "The `pa` file holds **derotation angles**: rotating frame i counter-clockwise by "
                      "`angles[i]` aligns it with the final frame, so a source at polar angle theta "
                      "(counter-clockwise from +x) in the final frame sits at `theta - angles[i]` in frame i.",
                      "The companions were injected with the inverse of the instrument's rotation: derotating "
                      "with the given angles brings them into focus, while any real astrophysical source smears "
                      "out.",
                      "The detection map of a dataset is a 2D image of the final (derotated, collapsed) frame: "
                      "same shape as a frame, same centre, north-up orientation given by the angles."]),
              ("h2", "Datasets")]
    for phase in challenge.phases:
        found = _phase_datasets(phase)
        names = ", ".join(f"`{i}` {k}" for i, k in found) or "none"
        blocks.append(("p", f"Phase {phase.number} ({phase.name}): {len(found)} datasets: {names}."))
    blocks += [("h2", "Submission format"),
               ("ul", ["One zip per submission, FITS files at its top (or in one top folder), no other folder.",
                       "`{instrument}_detmap_{k}.fits`: the 2D detection map of each dataset, with the frame's "
                       "shape; NaN is no detection.",
                       "`detection_threshold.fits`: one finite number for all maps of the phase; pixels strictly "
                       "above it are detections.",
                       "Refused: a file named `metadata`, links, nested folders, names differing only in case, "
                       "more than 100 files, files over 64 MiB (256 MiB in all), compressed FITS, tables, maps of "
                       "the wrong shape."])]
    return blocks


_PAGES = (  # (key, title, builder, codalab file, codabench file)
    ("overview", "Overview", _overview_page, "overview.html", "pages/overview.md"),
    ("evaluation", "Evaluation", _evaluation_page, "evaluation.html", "pages/evaluation.md"),
    ("terms", "Terms and conditions", _terms_page, "terms_and_conditions.html", "pages/terms.md"),
    ("data", "Data", _data_page, "data.html", "pages/data.md"),
)


def _starting_kit_readme(challenge):
    lines = [f"# {challenge.name}: starting kit", "",
             "A submission is one flat zip of FITS files per phase:", "",
             "- `{instrument}_detmap_{k}.fits`: a 2D detection map per dataset of the phase, with the frame's shape;",
             "- `detection_threshold.fits`: one number; pixels strictly above it are detections.", "",
             "For example, with astropy:", "",
             "    from astropy.io import fits",
             "    fits.PrimaryHDU(detmap).writeto('sphere_irdis_detmap_1.fits')",
             "    fits.PrimaryHDU(numpy.array([5.0])).writeto('detection_threshold.fits')",
             "    # zip -j submission.zip *_detmap_*.fits detection_threshold.fits", "",
             "Score it locally exactly as the platform does: `exobench score submission.zip REFERENCE_DIR`.", ""]
    return "\n".join(lines)


# -- competition.yaml -----------------------------------------------------------------------------------------


def _q(text):
    """A YAML scalar: a JSON string is a valid YAML double-quoted string."""
    return json.dumps(str(text), ensure_ascii=False)


def _leaderboards(challenge):
    """``[(key, label, suffix)]``: one leaderboard per distinct suffix, in phase order."""
    boards, seen = [], set()
    for phase in challenge.phases:
        if phase.suffix not in seen:
            seen.add(phase.suffix)
            names = [p.name for p in challenge.phases if p.suffix == phase.suffix]
            label = " / ".join(dict.fromkeys(names))
            boards.append((f"results_{phase.suffix}", label, phase.suffix))
    return boards


def codalab_yaml(challenge, files):
    """``competition.yaml`` of a Codalab v1.5 bundle."""
    from .scoring.program import score_keys

    lines = ["# Codalab v1.5 competition bundle, written by `exobench bundle`.",
             f"title: {_q(challenge.name)}", f"description: {_q(challenge.description)}", "image: logo.png",
             "has_registration: true", "force_submission_to_leaderboard: true", "enable_detailed_results: true",
             f"end_date: {challenge.phases[-1].end.isoformat()}", "html:"]
    lines += [f"  {key}: {codalab}" for key, _, _, codalab, _ in _PAGES]
    lines.append("phases:")
    for phase in challenge.phases:
        lines += [f"  {phase.number}:", f"    phasenumber: {phase.number}", f"    label: {_q(phase.name)}",
                  f"    description: {_q(phase.description)}", f"    start_date: {phase.start.isoformat()}",
                  f"    max_submissions: {challenge.max_submissions}",
                  f"    execution_time_limit: {challenge.execution_time_limit}",
                  "    scoring_program: scoring_program.zip",
                  f"    reference_data: {files['reference'][phase.number]}",
                  f"    public_data: {files['public'][phase.number]}",
                  f"    starting_kit: {files['starting_kit']}",
                  "    is_scoring_only: true", "    auto_migration: false"]
    lines += ["leaderboard:", "  leaderboards:"]
    boards = _leaderboards(challenge)
    for rank, (key, label, _) in enumerate(boards, 1):
        lines += [f"    {key}: &{key}", f"      label: {_q(label)}", f"      rank: {rank}"]
    lines.append("  columns:")
    for key, label, suffix in boards:
        for rank, column in enumerate(score_keys(suffix), 1):
            name, sort, decimals, _ = column_spec(column)
            lines += [f"    {column}:", f"      leaderboard: *{key}", f"      label: {_q(f'{name} ({label})')}",
                      f"      rank: {rank}", f"      numeric_format: {decimals}", f"      sort: {sort}"]
    return "\n".join(lines) + "\n"


def codabench_yaml(challenge, files):
    """``competition.yaml`` of a Codabench v2 bundle."""
    from .scoring.program import score_keys

    lines = ["# Codabench (v2) competition bundle, written by `exobench bundle`.", "version: 2",
             f"title: {_q(challenge.name)}", f"description: {_q(challenge.description)}", "image: logo.png",
             "registration_auto_approve: false", f"docker_image: {DOCKER_IMAGE}", "enable_detailed_results: true",
             "terms: pages/terms.md", "pages:"]
    lines += [f"  - title: {_q(title)}\n    file: {bench}" for key, title, _, _, bench in _PAGES if key != "terms"]
    lines.append("tasks:")
    for i, phase in enumerate(challenge.phases):
        lines += [f"  - index: {i}", f"    name: {_q(f'Phase {phase.number}: {phase.name}')}",
                  f"    description: {_q(phase.description)}", "    is_public: false",
                  "    scoring_program: scoring_program.zip",
                  f"    reference_data: {files['reference'][phase.number]}"]
    lines.append("phases:")
    for i, phase in enumerate(challenge.phases):
        lines += [f"  - index: {i}", f"    name: {_q(phase.name)}", f"    description: {_q(phase.description)}",
                  f"    start: {phase.start.isoformat()}", f"    end: {phase.end.isoformat()}",
                  f"    max_submissions_per_day: {challenge.max_submissions_per_day}",
                  f"    max_submissions: {challenge.max_submissions}",
                  f"    execution_time_limit: {challenge.execution_time_limit}",
                  f"    starting_kit: {files['starting_kit']}",
                  f"    public_data: {files['public'][phase.number]}",
                  f"    tasks:", f"      - {i}"]
    lines.append("leaderboards:")
    for index, (key, label, suffix) in enumerate(_leaderboards(challenge)):
        lines += [f"  - index: {index}", f"    title: {_q(label)}", f"    key: {key}",
                  "    submission_rule: Add_And_Delete", "    columns:"]
        for i, column in enumerate(score_keys(suffix)):
            name, sort, decimals, _ = column_spec(column)
            lines += [f"      - title: {_q(name)}", f"        key: {column}", f"        index: {i}",
                      f"        sorting: {sort}", f"        precision: {decimals}"]
    return "\n".join(lines) + "\n"


# -- the bundle -----------------------------------------------------------------------------------------------


def _reference_entries(phase, work):
    """The files of the reference zip: reference/phase_N with phase.json's suffix set; checked by reading it."""
    from .scoring.reference import PHASE_FILE, read_reference

    files = _folder_files(phase.reference)
    _refuse_metadata(files, f"reference/phase_{phase.number}")
    nested = [name for name in files if "/" in name]
    if nested:
        raise ValueError(f"challenge: reference/phase_{phase.number}: sub-folders are not read by the scoring "
                         f"program ({nested[0]})")
    entries = dict(files)
    stored = {}
    if PHASE_FILE in files:
        stored = json.loads(files[PHASE_FILE].read_text(encoding="utf-8"))
    if stored.get("suffix") != phase.suffix:
        entries[PHASE_FILE] = (json.dumps({**stored, "suffix": phase.suffix}, indent=2, sort_keys=True)
                               + "\n").encode()
    staged = work / f"ref_{phase.number}"
    staged.mkdir()
    for name, source in entries.items():
        target = staged / name
        if isinstance(source, bytes):
            target.write_bytes(source)
        else:
            shutil.copyfile(source, target)
    read_reference(staged)  # fails here, not on the platform
    return entries


def build_bundle(challenge_dir, output, *, platform="codalab"):
    """Build the competition bundle of a built challenge folder (layout and content in the module doc).

    Parameters
    ----------
    challenge_dir : str or path-like
    output : str or path-like
        The bundle zip to write (atomically; its folder must exist).
    platform : {"codalab", "codabench"}

    Returns
    -------
    dict
        ``{"path": Path, "platform": str, "phases": [...], "entries": [...]}``.
    """
    from . import _atomic
    from .scoring.program import vendor_program

    if platform not in PLATFORMS:
        raise ValueError(f"platform: expected one of {', '.join(PLATFORMS)}, got {platform!r}")
    challenge = read_challenge(challenge_dir)
    output = Path(output)
    if not output.parent.is_dir():
        raise FileNotFoundError(f"output: folder {str(output.parent)!r} does not exist")
    files = {"reference": {p.number: f"reference_data_{p.number}.zip" for p in challenge.phases},
             "public": {p.number: f"public_data_{p.number}.zip" for p in challenge.phases},
             "starting_kit": "starting_kit.zip"}
    with tempfile.TemporaryDirectory(prefix="exobench-bundle-") as tmp:
        work = Path(tmp)
        entries = {"logo.png": logo_png()}
        program = work / "program"
        vendor_program(program)
        entries["scoring_program.zip"] = _zip_file(work / "scoring_program.zip", _folder_files(program))
        for phase in challenge.phases:
            reference = _reference_entries(phase, work)
            entries[files["reference"][phase.number]] = _zip_file(work / files["reference"][phase.number], reference)
            public = _folder_files(phase.public)
            _refuse_metadata(public, f"public/phase_{phase.number}")
            if not public:
                raise ValueError(f"challenge: public/phase_{phase.number} holds no file")
            entries[files["public"][phase.number]] = _zip_file(work / files["public"][phase.number], public)
        kit = {}
        for folder in challenge.starting_kit or ():
            kit.update(_folder_files(folder))
        _refuse_metadata(kit, "starting_kit")
        if not kit:
            kit = {"README.md": _starting_kit_readme(challenge).encode()}
        entries[files["starting_kit"]] = _zip_file(work / files["starting_kit"], kit)
        for key, title, builder, codalab, codabench in _PAGES:
            blocks = builder(challenge)
            if platform == "codalab":
                entries[codalab] = render_html(title, blocks).encode()
            else:
                entries[codabench] = render_markdown(title, blocks).encode()
        writer = codalab_yaml if platform == "codalab" else codabench_yaml
        entries["competition.yaml"] = writer(challenge, files).encode()
        with _atomic.atomic_write(output, "wb") as fh:
            deterministic_zip(fh, entries)
    return {"path": output, "platform": platform, "phases": challenge.phases, "entries": sorted(entries)}


def _one_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
