"""The competition's pages (overview, evaluation, terms, data), its logo and its leaderboard columns.

A page is a list of blocks: ``("h2", text)``, ``("p", text)``, ``("ul", [text, ...])``,
``("pre", text)``, ``("table", [header, row, ...])``, with `code` spans in text;
one source rendered to HTML (Codalab) or markdown (Codabench).
"""

import html
import re
import struct
import zlib

from ..challenge import phase_kind_for_suffix

__all__ = ["PAGES", "logo_png", "page_html", "page_markdown", "column_spec", "starting_kit_readme"]

#: Per score name: (label, sort, numeric format / precision, what it is).
_COLUMNS = {
    "F1": ("F1", "desc", 4, "2 TP / (TP + FP + N)"),
    "Precision": ("Precision", "desc", 4, "TP / (TP + FP)"),
    "Recall": ("Recall", "desc", 4, "TP / N"),
    "FalsePositives": ("False positives", "asc", 0, "FP, summed over the datasets"),
    "TPR": ("TPR", "desc", 4, "TP / N (= recall)"),
    "FPR": ("FPR", "asc", 6, "FP / (FP + TN)"),
    "AUC": ("AUC", "desc", 4, "area under the ROC envelope"),
    # characterisation phases (exobench.scoring.charac_program): errors, lower is better
    "astrometry_px": ("Astrometry (px)", "asc", 4, "mean Euclidean position error"),
    "astrometry_l1_px": ("Astrometry L1 (px)", "asc", 4, "mean |dx| + |dy| (EIDC 2022)"),
    "astrometry_mas": ("Astrometry (mas)", "asc", 2, "mean Euclidean position error in milliarcseconds"),
    "photometry_rel": ("Flux rel. error", "asc", 4, "mean |f - f_true| / f_true"),
    "photometry_mag": ("Flux error (mag)", "asc", 4, "mean |2.5 log10(f / f_true)|"),
    "spectrophotometry": ("Spectrophotometry", "asc", 6, "mean over companions of sum over channels |f - f_true| "
                                                          "(EIDC 2022)"),
    "coverage_1sigma": ("Coverage 1 sigma", "desc", 4, "fraction of coordinates within 1 sigma (0.683 if calibrated)"),
    "coverage_2sigma": ("Coverage 2 sigma", "desc", 4, "fraction of coordinates within 2 sigma (0.954 if calibrated)"),
    "nll": ("NLL", "asc", 4, "mean Gaussian negative log-likelihood per coordinate"),
}


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


def _inline_html(text):
    parts = text.split("`")
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else _emphasis(html.escape(p))
                   for i, p in enumerate(parts))


def _emphasis(text):
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\*(\S.*?)\*", r"<em>\1</em>", text)


def page_html(title, blocks):
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


def page_markdown(title, blocks):
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
    from ..data.fits_io import find_datasets

    return find_datasets(phase.public)


_AXES = {3: "(t, y, x)", 4: "(lambda, t, y, x)"}


def _kind_dims(suffix):
    kind = phase_kind_for_suffix(suffix)
    return kind.cube_ndim if kind else 3


def _overview_page(challenge):
    blocks = [("p", challenge.description),
              ("p", "Participants run their own detection algorithm on the public high-contrast imaging sequences "
                    "of a phase and submit one detection map per dataset, with a single detection threshold. The "
                    "organisers injected fake companions (0 to 5 per dataset); the scoring program counts the "
                    "companions found and the false detections, and ranks the submissions."),
              ("h2", "Phases")]
    rows = [["phase", "name", "data", "datasets", "dates", "leaderboard columns"]]
    for phase in challenge.phases:
        kind = f"{_kind_dims(phase.suffix)}D cubes `{_AXES[_kind_dims(phase.suffix)]}`"
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
    from ..scoring.counting import DEFAULTS
    from ..scoring.reference import read_reference

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
                       "lines (trapezoids), and never below the chance diagonal TPR = FPR. A map that finds every "
                       "companion without a false positive at some threshold has AUC 1; a map that carries no "
                       "information (constant, NaN, pure noise) has AUC 0.5. Ties: pixels of equal value are "
                       "detected together (a detection is strictly above the threshold).",
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
                         ["`{instrument}_wls_{k}.fits`", "4D only: the wavelengths in microns"],
                         ["`{instrument}_starflux_{k}.fits`", "optional: the star's flux in a 1-FWHM-diameter "
                                                             "aperture, in cube units (when the PSF file is not)"]]),
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
    if any(_is_characterisation(p.suffix) for p in challenge.phases):
        blocks += [("h2", "Characterisation phases"),
                   ("ul", ["`{instrument}_candidates_{k}.fits` (public): an `(N, 2)` array, the approximate (x, y) "
                           "of every companion of the dataset (within half a FWHM of the truth).",
                           "`{instrument}_charac_{k}.fits` (submitted, one per dataset, nothing else): an "
                           "`(N, 2 + channels)` array `x, y, flux...`, one row per candidate in the candidates "
                           "file's order; fluxes in units of the PSF file (the companion is `flux * psf` centred "
                           "at (x, y) in every frame), one per channel.",
                           "An optional second HDU of the same shape: 1-sigma uncertainties (finite, > 0), in "
                           "every file or in none. Refused: wrong shapes, NaN or infinite values, missing or "
                           "extra files."])]
    return blocks

PAGES = (  # (key, title, builder, codalab file, codabench file)
    ("overview", "Overview", _overview_page, "overview.html", "pages/overview.md"),
    ("evaluation", "Evaluation", _evaluation_page, "evaluation.html", "pages/evaluation.md"),
    ("terms", "Terms and conditions", _terms_page, "terms_and_conditions.html", "pages/terms.md"),
    ("data", "Data", _data_page, "data.html", "pages/data.md"),
)


def starting_kit_readme(challenge):
    """The starting kit's ``README.md``, written for this challenge: its phases and datasets, the
    kit's files (the notebook and scripts use the kit's ``public_data/``), how to install exobench,
    make a submission, check it and submit it."""
    lines = [f"# {challenge.name}: starting kit", "", challenge.description, "", "## The phases", "",
             "| phase | name | data | datasets | dates |", "| --- | --- | --- | --- | --- |"]
    for phase in challenge.phases:
        dims = _kind_dims(phase.suffix)
        names = ", ".join(f"{i} {k}" for i, k in _phase_datasets(phase)) or "none"
        lines.append(f"| {phase.number} | {phase.name} | {dims}D cubes `{_AXES[dims]}` | {names} | "
                     f"{phase.start} to {phase.end} |")
    first = challenge.phases[0].number
    lines += ["", "## What is here", "",
              "| file | what it is |", "| --- | --- |",
              "| `README.md` | this page |",
              "| `public_data/phase_N/` | each phase's public data (`public_data_N.zip` on the platform) |",
              "| `starting_kit.ipynb` | a notebook that loads the data, runs a baseline, writes one submission "
              "zip per phase into `submissions/` and validates it |",
              "| `my_algorithm.py` | the template you edit: one function from a dataset to a detection map, and the "
              "command that writes and checks the submission zip |",
              "| `make_sample_submission.py` | writes a sample submission per phase with an exobench baseline (a "
              "first guess of the positions and fluxes on a characterisation phase) |", "",
              "The notebook and `make_sample_submission.py` use `./public_data` beside them (or the challenge "
              "named by `$EXOBENCH_CHALLENGE_DIR`, e.g. one you built with `exobench build --default -o challenge`, "
              "whose truth lets you score locally). The truth of this challenge is held out: they validate the "
              "submissions, and the platform scores them.", "",
              "## The data", "",
              "One dataset per `{instrument}_*_{k}.fits` set of a phase folder: `cube` (the sequence), `pa` (the "
              "derotation angles, degrees), `psf` (the off-axis PSF), `pxscale` (arcsec per pixel) and, for 4D "
              "cubes, `wls` (the wavelengths, microns). The platform's Data page gives the conventions (pixel "
              "centres, angles).", "",
              "## Install exobench", "",
              "    pip install exobench        # Python >= 3.10",
              "    pip install .               # or from a checkout of exobench's repository", "",
              "then run the notebook in this folder (`pip install jupyterlab`, `jupyter lab starting_kit.ipynb`) or "
              "headless (`pip install nbclient ipykernel`).", "",
              "## Make a submission", "",
              "One zip per phase: a 2D detection map per dataset, with the frame's shape "
              "(`{instrument}_detmap_{k}.fits`), and one threshold for the phase (`detection_threshold.fits`; "
              "pixels strictly above it are detections). A reference submission, then your own:", "",
              f"    exobench baseline pca public_data/phase_{first} -o pca_phase_{first}.zip",
              f"    python my_algorithm.py public_data/phase_{first} -o my_phase_{first}.zip", "",
              "or from Python:", "",
              "    from exobench.submission import write_submission",
              f"    write_submission({{(\"instrument\", \"1\"): detection_map, ...}}, threshold, "
              f"\"my_phase_{first}.zip\")", "",
              "Check it as the platform's scoring program will, without the truth (one line per problem):", "",
              f"    exobench validate my_phase_{first}.zip public_data/phase_{first}", "",
              "Then submit the zip to the phase on the platform.", ""]
    lines += _code_phases_readme(challenge)
    lines += _characterisation_readme(challenge)
    return "\n".join(lines)


def _characterisation_readme(challenge):
    """The starting kit's paragraph on characterisation phases (none when there is none)."""
    phases = [p for p in challenge.phases if _is_characterisation(p.suffix)]
    if not phases:
        return []
    first = phases[0].number
    return ["## Characterisation phases", "",
            f"Phase(s) {', '.join(str(p.number) for p in phases)} announce every companion: "
            "`{instrument}_candidates_{k}.fits` holds an (N, 2) array of their approximate (x, y) (within half a "
            "FWHM of the truth). Submit, per dataset, `{instrument}_charac_{k}.fits`: a primary array of shape "
            "(N, 3) for 3D cubes (`x, y, flux`) or (N, 2 + channels) for 4D cubes (`x, y` and one flux per "
            "channel), one row per candidate in the order of the candidates file; x, y in pixels of the final "
            "(derotated) frame, pixel centres at integer coordinates; fluxes in units of the public PSF file (the "
            "companion is `flux * psf` centred at (x, y) in every frame). An optional second HDU (an image "
            "extension) of the same shape gives the 1-sigma uncertainties (finite, > 0), in every file or in none. "
            "Every dataset needs its file and nothing else may be in the zip. From Python:", "",
            "    from exobench.submission import write_characterisation",
            "    write_characterisation({(\"instrument\", \"1\"): estimates, ...}, "
            f"\"charac_phase_{first}.zip\", sigmas={{...}})", "",
            f"    exobench validate charac_phase_{first}.zip public_data/phase_{first}", "",
            "A first guess, what `make_sample_submission.py` and the notebook submit on these phases: the "
            "candidates' positions and, per channel, the flux in an aperture 1 FWHM across at the candidate on a "
            "median-ADI final frame, divided by the PSF file's flux in the same aperture. It is biased low (the "
            "candidates are up to half a FWHM off, and ADI subtracts part of the companion): a start to improve "
            "on. From Python:", "",
            "    from exobench.charac import first_guess_phase",
            f"    estimates = first_guess_phase(\"public_data/phase_{first}\")  # what write_characterisation takes",
            "",
            "Scores: the mean position error (Euclidean and |dx| + |dy|, px; mas), the flux error (relative, in "
            "magnitudes, and the sum over channels of |f - f_true|), and with uncertainties their coverage at 1 "
            "and 2 sigma (per coordinate) and the Gaussian negative log-likelihood.", ""]


def _is_characterisation(suffix):
    kind = phase_kind_for_suffix(suffix)
    return kind is not None and kind.is_characterisation


def _code_phases_readme(challenge):
    """The starting kit's paragraph on code phases (none when every phase takes results)."""
    code = [p for p in challenge.phases if getattr(p, "takes_code", False)]
    if not code:
        return []
    first = code[0]
    limits = ", ".join(f"phase {p.number}: {p.time_limit:g} s" for p in code)
    return ["## Code phases", "",
            f"Phase(s) {', '.join(str(p.number) for p in code)} take code, not maps: a zip holding `detect.py` "
            "(helper modules and files beside it) that defines `detect(dataset)`, returning the detection map "
            "of an `exobench.data.Dataset` (a 2D array of the frame's shape), and a module-level `THRESHOLD` "
            "(a number). The platform runs `detect` on each dataset in a fresh process, with a time limit per "
            f"dataset ({limits}); a dataset that fails or runs out of time gets no map (scored as empty). "
            "`code_submission/detect.py` is an example. On Codalab, add to the zip a file named `metadata` "
            "holding `description: code submission`. Run it locally as the platform will:", "",
            f"    exobench ingest code_submission public_data/phase_{first.number} -o code_phase_{first.number}.zip",
            ""]
