"""The HTML report: sections, self-containment, atomic writing, the counts behind the plots, a real browser."""

import html.parser
import re
import shutil
import subprocess

import pytest

from exobench.leaderboard import Leaderboard, database_url, ranking, stored_submission
from exobench.report import SECTIONS, build_report, injection_outcomes, read_truth, write_report

from ..leaderboard.helpers import run_cli


class _Page(html.parser.HTMLParser):
    """Sections (with their phase), tables, images and links of a page."""

    def __init__(self):
        super().__init__()
        self.phases, self.sections, self.images, self.links, self.tags = [], [], [], [], set()
        self._phase = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "section" and "phase" in (attrs.get("class") or "").split():
            self._phase = int(attrs["data-phase"])
            self.phases.append(self._phase)
        elif tag == "section":
            self.sections.append((self._phase, attrs.get("class")))
        if tag == "img":
            self.images.append(attrs.get("src") or "")
        if tag in ("link", "script", "iframe", "object", "embed"):
            self.links.append((tag, attrs))
        for name in ("href", "src"):
            value = attrs.get(name) or ""
            if re.match(r"^(https?:)?//", value):
                self.links.append((tag, attrs))


def _parse(text):
    page = _Page()
    page.feed(text)
    return page


@pytest.fixture(scope="module")
def report(filled, tmp_path_factory):
    challenge, _ = filled
    path = write_report(challenge, tmp_path_factory.mktemp("report") / "report.html")
    return challenge, path


def test_every_phase_has_every_section(report):
    challenge, path = report
    page = _parse(path.read_text(encoding="utf-8"))
    assert page.phases == [1, 2]
    for phase in (1, 2):
        assert [cls for p, cls in page.sections if p == phase] == list(SECTIONS)
    assert "table" in page.tags and "dl" in page.tags


def test_the_page_is_self_contained(report):
    _, path = report
    text = path.read_text(encoding="utf-8")
    page = _parse(text)
    assert page.links == []  # no script, stylesheet link or remote resource
    assert page.images and all(src.startswith("data:image/png;base64,") for src in page.images)
    # per phase: one ROC, two TPR plots, one detection-map figure per dataset (2 + 1)
    assert len(page.images) == 2 * 3 + 2 + 1
    assert "http://" not in text and "https://" not in text


def test_ranking_tables_follow_the_leaderboard(report):
    challenge, path = report
    text = path.read_text(encoding="utf-8")
    for r in ranking(challenge):
        section = text.split(f"id='phase-{r.phase}'")[1].split("<section class='roc'>")[0]
        names = re.findall(r"<td class='name'>([^<]+)</td>", section)
        assert names == [e.name for e in r.entries]


def test_ranking_tables_show_the_leaderboards_intervals(report):
    challenge, path = report
    text = path.read_text(encoding="utf-8")
    for r in ranking(challenge):
        section = text.split(f"id='phase-{r.phase}'")[1].split("<section class='roc'>")[0]
        assert "<th>F1 95% interval</th>" in section and "<th>AUC 95% interval</th>" in section
        cells = re.findall(r"<td class='interval'>([^<]+)</td>", section)
        expected = []
        for e in r.entries:
            expected += [f"[{low:.4f}, {high:.4f}]" for low, high in (e.intervals.f1, e.intervals.auc)]
        assert cells == expected
    assert "percentile bootstrap over the phase's datasets (1000 resamples, seed 0" in text


def test_outcomes_count_as_the_scorer(filled):
    challenge, zips = filled
    with Leaderboard(database_url(challenge), create=False) as board:
        for entry in board.entries():
            path = stored_submission(challenge, entry.sha256)
            outcomes = injection_outcomes(path, challenge / "reference" / f"phase_{entry.phase}")
            stored = board.datasets(entry.id)
            assert [(o.tp, o.fp, o.fn) for o in outcomes] == [(d["tp"], d["fp"], d["fn"]) for d in stored]
            assert all(int(o.detected.sum()) == o.tp for o in outcomes)
            assert all(len(o.false_positives) >= 1 for o in outcomes if o.fp)


def test_truth_rows_are_found_for_every_injection(filled):
    challenge, zips = filled
    from exobench.report.outcomes import match_truth

    for phase in (1, 2):
        reference = challenge / "reference" / f"phase_{phase}"
        truth = read_truth(reference)
        outcomes = injection_outcomes(zips[phase]["oracle"], reference)
        assert sum(len(o.positions) for o in outcomes) == len(truth)
        assert all(row is not None for o in outcomes for row in match_truth(o, truth))
        assert all(o.detected.all() and o.fp == 0 for o in outcomes)


def test_report_without_kept_zips_says_so(filled, tmp_path):
    challenge, _ = filled
    copy = shutil.copytree(challenge, tmp_path / "copy", ignore=shutil.ignore_patterns("submissions"))
    text = build_report(copy, max_maps=0)
    assert "No kept zip in submissions/" in text and "No detection map" in text
    assert [cls for _, cls in _parse(text).sections][:len(SECTIONS)] == list(SECTIONS)


def test_writing_is_atomic_and_errors_leave_the_old_file(report, tmp_path):
    challenge, _ = report
    target = tmp_path / "page.html"
    target.write_text("old")
    with pytest.raises(FileExistsError, match=r"output: .*page.html' exists; pass overwrite=True \(--overwrite\)"):
        write_report(challenge, target)
    with pytest.raises(ValueError, match="max_maps: expected an integer >= 0"):
        write_report(challenge, target, max_maps=-1, overwrite=True)
    with pytest.raises(ValueError, match="sort: expected one of"):
        write_report(challenge, target, sort="precision", overwrite=True)
    assert target.read_text() == "old"
    with pytest.raises(FileNotFoundError, match="output: folder .*missing' does not exist"):
        write_report(challenge, tmp_path / "missing" / "page.html")
    with pytest.raises(IsADirectoryError, match="output: .* is a folder; give a file path"):
        write_report(challenge, tmp_path)
    write_report(challenge, target, max_maps=1, overwrite=True)
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]  # no temporary file left


def test_report_command(filled, monkeypatch, capsys, tmp_path):
    challenge, _ = filled
    out = tmp_path / "r.html"
    assert run_cli(["report", challenge, "-o", out, "--sort", "auc", "--maps", "2"], monkeypatch) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert "Sorted by AUC" in out.read_text()
    assert run_cli(["report", challenge, "-o", out], monkeypatch) == 1  # refused before any work
    assert "--overwrite" in capsys.readouterr().err
    assert run_cli(["report", tmp_path / "nowhere", "-o", out, "--overwrite"], monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.startswith("exobench: error: challenge: folder") and err.count("\n") == 1


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


_CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images', imgs.length + ':' + ok);
});
</script>"""


@pytest.mark.skipif(_chromium() is None, reason="no chromium binary on PATH (Debian: apt-get install chromium; "
                                                 ".ci/run installs it)")
def test_the_report_renders_in_chromium(report, tmp_path):
    challenge, path = report
    browser = _chromium()
    # A copy with a probe that records, once loaded, how many images the browser decoded.
    probe = tmp_path / "probe.html"
    probe.write_text(path.read_text(encoding="utf-8").replace("</body>", _CHECK_SCRIPT + "</body>"),
                     encoding="utf-8")
    flags = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
             "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Uncaught" not in dom.stderr and "ERROR:CONSOLE" not in dom.stderr, dom.stderr[-2000:]
    n_images = len(_parse(path.read_text(encoding="utf-8")).images)
    assert f'data-images="{n_images}:{n_images}"' in dom.stdout  # every image decoded
    page = _parse(dom.stdout)
    assert page.phases == [1, 2]
    for phase in (1, 2):
        assert [cls for p, cls in page.sections if p == phase] == list(SECTIONS)
    assert dom.stdout.count("<table") == 2
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    shot = tmp_path / "report.png"
    result = subprocess.run(flags + ["--window-size=1280,2400", f"--screenshot={shot}", path.as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and shot.is_file() and shot.stat().st_size > 10_000
    assert "Uncaught" not in result.stderr and "ERROR:CONSOLE" not in result.stderr


def test_every_detection_map_has_its_colour_bar(monkeypatch):
    import numpy as np

    from exobench.report import figures
    from exobench.report.outcomes import DatasetOutcome

    shown = []
    monkeypatch.setattr(figures, "png_data_uri", lambda fig, **kwargs: shown.append(fig) or "data:")
    outcome = DatasetOutcome("inst", "1", np.arange(400.0).reshape(20, 20), 300.0, 2.0, np.array([[5.0, 5.0]]),
                             np.array([False]), np.zeros((0, 2)), np.zeros(0, dtype=bool), 0, 0, 1)
    figures.detection_maps_figure([("a", outcome), ("b", outcome)], title="inst 1")
    colour_bars = [ax for ax in shown[0].axes if ax.get_label() == "<colorbar>"]
    assert len(colour_bars) == 2
    assert colour_bars[0].get_ylim() == pytest.approx((np.percentile(np.arange(400.0), 1),
                                                      np.percentile(np.arange(400.0), 99.8)))
