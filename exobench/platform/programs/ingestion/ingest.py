"""exobench ingestion program for the code phases of Codalab (v1.5) and Codabench.

Called as ``python ingest.py INPUT OUTPUT PROGRAM SUBMISSION [--time-limit SECONDS]``
(``INPUT``: the phase's public data; ``OUTPUT``: where the submission is written, the
scoring program's ``res``; ``SUBMISSION``: the participant's unzipped code, with
``detect.py``). Without arguments it uses ``/app/input_data``, ``/app/output``,
``/app/program`` and ``/app/ingested_program`` (Codabench).

It runs the exobench package vendored beside this file (``exobench/``, laid out by
``exobench.platform.vendor.vendor_program``), which needs only numpy, scipy and
astropy; the participant's code runs in child processes that use the image's own,
complete exobench. Without a vendored copy, it uses the installed exobench.
"""

import os
import sys

if __name__ == "__main__":
    # The vendored exobench beside this file wins over an installed one (PYTHONSAFEPATH would leave the
    # script's folder off sys.path); without a vendored copy the installed exobench is found further on.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from exobench.ingestion.program import main

    sys.exit(main())
