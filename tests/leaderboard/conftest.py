"""The fixtures live in tests/leaderboard/helpers.py (shared with tests/report)."""

from .helpers import _no_db_from_environment, challenge_data, empty, filled  # noqa: F401
