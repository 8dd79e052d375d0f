"""The challenge platforms: competition bundles for Codalab (v1.5) and Codabench (v2).

- :mod:`~exobench.platform.competition`: a built challenge folder read as a
  competition (:func:`read_competition`: phases, dates, limits, starting kit);
- :mod:`~exobench.platform.pages`: the pages, the logo and the leaderboard columns;
- :mod:`~exobench.platform.competition_yaml`: each platform's ``competition.yaml``;
- :mod:`~exobench.platform.vendor`: the self-contained scoring program;
- :mod:`~exobench.platform.bundle`: :func:`build_bundle`, the one zip an organiser uploads.
"""

from .bundle import PLATFORMS, build_bundle
from .competition import DOCKER_IMAGE, Competition, CompetitionPhase, read_competition
from .competition_yaml import codabench_yaml, codalab_yaml
from .pages import column_spec, logo_png
from .vendor import vendor_program, vendored_modules

__all__ = ["PLATFORMS", "build_bundle", "Competition", "CompetitionPhase", "read_competition", "DOCKER_IMAGE",
           "codalab_yaml", "codabench_yaml", "column_spec", "logo_png", "vendor_program", "vendored_modules"]
