"""exobench scoring program for Codalab (v1.5) and Codabench.

Called as ``python score.py INPUT OUTPUT`` (``INPUT/ref``: the reference phase,
``INPUT/res``: the unzipped submission); writes ``OUTPUT/scores.txt``,
``scores.json``, ``detailed_results.json`` and ``detailed_results.html``.
Without arguments it uses ``/app/input`` and ``/app/output`` (Codabench).

It runs the exobench package vendored beside this file (``exobench/``, laid out
by ``exobench.platform.vendor.vendor_program``), which needs only numpy, scipy
and astropy; without a vendored copy, it uses the installed exobench.
"""

import os
import sys


def _use_vendored_copy():
    here = os.path.dirname(os.path.abspath(__file__))
    if os.path.isfile(os.path.join(here, "exobench", "__init__.py")):
        if here in sys.path:
            sys.path.remove(here)
        sys.path.insert(0, here)


if __name__ == "__main__":
    _use_vendored_copy()
    from exobench.scoring.program import main

    sys.exit(main())
