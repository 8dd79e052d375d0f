import pytest

from .helpers import built_challenge, fresh_challenge


@pytest.fixture(scope="session", autouse=True)
def _no_db_from_environment():
    """Tests choose their database: $EXOBENCH_LEADERBOARD_DB is ignored."""
    from exobench.leaderboard import DB_ENV

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(DB_ENV, raising=False)
        yield


@pytest.fixture(scope="session")
def challenge_data(tmp_path_factory):
    """(challenge folder, {phase: {name: zip}}), read-only, built once per session."""
    return built_challenge(tmp_path_factory)


@pytest.fixture(scope="module")
def filled(challenge_data, tmp_path_factory):
    """A copy of the challenge with every submission of both phases in its leaderboard."""
    from exobench.leaderboard import submit

    source, zips = challenge_data
    challenge = fresh_challenge(source, tmp_path_factory.mktemp("filled") / "challenge")
    for phase, named in zips.items():
        for name, path in named.items():
            submit(path, challenge, phase=phase, name=name)
    return challenge, zips


@pytest.fixture
def empty(challenge_data, tmp_path):
    """A copy of the challenge with no leaderboard yet."""
    source, zips = challenge_data
    return fresh_challenge(source, tmp_path / "challenge"), zips
