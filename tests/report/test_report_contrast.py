"""The report's contrast curves: one figure per dataset with every entry's curve, contrast columns in the ranking."""

import base64
import re

from exobench.contrast import phase_contrast
from exobench.data.fits_io import find_datasets
from exobench.leaderboard import Leaderboard, database_url, submit
from exobench.report import build_report


def _section(page, phase, cls):
    block = page[page.index(f"id='phase-{phase}'"):]
    block = block[block.index(f"<section class='{cls}'>"):]
    return block[:block.index("</section>")]


def test_contrast_curves_are_drawn_per_dataset_for_the_entries_that_have_them(empty):
    challenge, zips = empty
    reference, public = challenge / "reference" / "phase_1", challenge / "public" / "phase_1"
    with_curves = submit(zips[1]["median"], reference, name="median", contrast="median")
    submit(zips[1]["pca"], reference, name="pca")
    # a second entry with curves, stored directly (the same curves as a baseline's run of pca)
    entry = submit(zips[1]["median-low"], reference, name="median-low")
    with Leaderboard(database_url(challenge)) as board:
        board.add_contrast(entry.id, phase_contrast(public, baseline="pca", branches=1), source="baseline pca")
        assert len(board.contrast(with_curves.id)) == len(find_datasets(public))
    page = build_report(challenge)
    block = _section(page, 1, "contrast-curves")
    names = [f"{i}_{k}" for i, k in find_datasets(public)]
    assert re.findall(r"data-dataset='([^']+)'", block) == names
    images = re.findall(r"src='data:image/png;base64,([^']+)'", block)
    assert len(images) == len(names) and all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert "contrast relative to the PSF file&#x27;s flux" in block or "contrast relative to the" in block
    # the ranking table: the columns, blank for the entry without curves
    table = _section(page, 1, "ranking")
    assert "<th>contrast at 2 &lambda;/D</th>" in table and "<th>contrast at 8 &lambda;/D</th>" in table
    row = table[table.index("<td class='name'>pca</td>"):]
    row = row[:row.index("</tr>")]
    assert row.count("<td class='contrast'></td>") == 3
    # phase 2 has no curve: it says so, and its table has no contrast column
    assert "No contrast curve: no entry of this phase has any" in _section(page, 2, "contrast-curves")
    assert "&lambda;/D" not in _section(page, 2, "ranking")
