"""The built challenge folder: its layout, its two small files and the kinds of phase.

- :mod:`~exobench.challenge.layout`: :class:`ChallengeLayout`, the one place the
  paths of ``public/phase_N``, ``reference/phase_N``, the starting kit and the
  manifest are spelled;
- :mod:`~exobench.challenge.settings`: ``phase.json`` (:class:`PhaseSettings`);
- :mod:`~exobench.challenge.config`: ``challenge.yaml`` (:class:`ChallengeConfig`);
- :mod:`~exobench.challenge.kinds`: the phase kinds (``adi``, ``adi+msdi``, ``charac-adi``,
  ``charac-adi+msdi``), a registry.

``layout``, ``settings`` and ``kinds`` use the standard library only, so that the
platform scoring program can carry them.
"""

from .config import ChallengeConfig, PhaseEntry, parse_challenge_config, read_challenge_config, write_challenge_config
from .kinds import PhaseKind, get_phase_kind, phase_kind_for_suffix, phase_kinds, register_phase_kind
from .layout import (CHALLENGE_FILE, MANIFEST_FILE, PHASE_FILE, TRUTH_FILE, ChallengeLayout, candidates_file_name,
                     charac_file_name, fluxes_file_name, phase_folder_name, phase_number, pxscale_file_name,
                     reference_phase)
from .settings import (COMPAT_MODES, DEFAULT_MAX_FPR, PhaseSettings, read_phase_settings,
                       write_phase_settings)

__all__ = [
    "ChallengeLayout", "CHALLENGE_FILE", "MANIFEST_FILE", "PHASE_FILE", "TRUTH_FILE", "phase_folder_name",
    "phase_number", "reference_phase", "candidates_file_name", "charac_file_name", "fluxes_file_name",
    "pxscale_file_name",
    "PhaseSettings", "read_phase_settings", "write_phase_settings", "COMPAT_MODES",
    "DEFAULT_MAX_FPR",
    "ChallengeConfig", "PhaseEntry", "read_challenge_config", "parse_challenge_config", "write_challenge_config",
    "PhaseKind", "register_phase_kind", "get_phase_kind", "phase_kinds", "phase_kind_for_suffix",
]
