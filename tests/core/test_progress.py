"""The one progress-bar factory: shown only on request and on a terminal."""

import sys

import pytest

from exobench._progress import progress_bar


@pytest.fixture
def terminal(monkeypatch, capsys):
    """Captured output whose stderr says it is a terminal (patched in the test's own phase)."""
    def patch():
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
        return capsys
    return patch


def test_a_bar_on_a_terminal_counts_its_steps(terminal):
    terminal = terminal()
    with progress_bar(4, desc="files", unit="file", leave=True) as bar:
        bar.update(3)
        bar.update(1)
    captured = terminal.readouterr()
    assert captured.out == ""
    assert "files" in captured.err and "4/4" in captured.err and "file" in captured.err


def test_no_bar_when_disabled(terminal):
    terminal = terminal()
    with progress_bar(4, desc="files", unit="file", enabled=False) as bar:
        bar.update(4)
    assert terminal.readouterr().err == ""


def test_no_bar_when_stderr_is_not_a_terminal(capsys):
    assert not sys.stderr.isatty()
    bar = progress_bar(4, desc="files", unit="file")
    bar.update(4)
    bar.set_postfix({"loss": "0.1"})
    bar.close()
    assert capsys.readouterr().err == ""
    assert "tqdm" not in type(bar).__module__


def test_an_unknown_total(terminal):
    terminal = terminal()
    with progress_bar(desc="steps", unit="step", leave=True) as bar:
        bar.update(2)
    assert "2step" in terminal.readouterr().err.replace(" ", "")
