"""The shared validators: one error type (ValueError), messages naming the parameter."""

import math

import numpy as np
import pytest

from exobench._validate import check_choice, check_integer, check_number, check_range


@pytest.mark.parametrize("value, options, expected", [
    (2, {}, 2.0),
    (0, {}, 0.0),
    (np.float32(0.5), {"strict": True}, 0.5),
    (-3, {"minimum": None}, -3.0),
    (None, {"allow_none": True}, None),
])
def test_check_number_accepts(value, options, expected):
    got = check_number(value, "x", **options)
    assert got == expected and (got is None or type(got) is float)


@pytest.mark.parametrize("value, options, message", [
    (-1, {}, "asize: expected a number >= 0, got -1"),
    (0, {"strict": True}, "asize: expected a number > 0, got 0"),
    (0.5, {"minimum": 1.5}, "asize: expected a number >= 1.5, got 0.5"),
    ("2", {}, "asize: expected a number >= 0, got '2'"),
    (True, {}, "asize: expected a number >= 0, got True"),
    (None, {}, "asize: expected a number >= 0, got None"),
    (math.nan, {"minimum": None}, "asize: expected a number, got nan"),
    (math.inf, {}, "asize: expected a number >= 0, got inf"),
    (-1, {"allow_none": True}, "asize: expected a number >= 0 or None, got -1"),
])
def test_check_number_refuses(value, options, message):
    with pytest.raises(ValueError) as info:
        check_number(value, "asize", **options)
    assert str(info.value) == message


@pytest.mark.parametrize("value, options, expected", [
    (3, {"minimum": 1}, 3),
    (np.int64(4), {"minimum": 0, "maximum": 4}, 4),
    (-7, {}, -7),
    (None, {"allow_none": True}, None),
])
def test_check_integer_accepts(value, options, expected):
    got = check_integer(value, "n", **options)
    assert got == expected and (got is None or type(got) is int)


@pytest.mark.parametrize("value, options, message", [
    (0, {"minimum": 1}, "n: expected an integer >= 1, got 0"),
    (2.0, {"minimum": 1}, "n: expected an integer >= 1, got 2.0"),
    (True, {"minimum": 0}, "n: expected an integer >= 0, got True"),
    ("3", {}, "n: expected an integer, got '3'"),
    (9, {"maximum": 8}, "n: expected an integer <= 8, got 9"),
    (17, {"minimum": 1, "maximum": 16, "what": "the number of frames"},
     "n: expected an integer from 1 to 16 (the number of frames), got 17"),
    (0, {"minimum": 1, "allow_none": True, "what": "pixels per block"},
     "n: expected an integer >= 1 (pixels per block) or None, got 0"),
])
def test_check_integer_refuses(value, options, message):
    with pytest.raises(ValueError) as info:
        check_integer(value, "n", **options)
    assert str(info.value) == message


@pytest.mark.parametrize("value, closed", [(0, "both"), (1, "both"), (0, "low"), (1, "high"), (0.5, "neither")])
def test_check_range_accepts_its_bounds(value, closed):
    assert check_range(value, "f", 0, 1, closed=closed) == value


@pytest.mark.parametrize("value, options, message", [
    (1.5, {}, "f: expected a number in [0, 1], got 1.5"),
    (1, {"closed": "low"}, "f: expected a number in [0, 1), got 1"),
    (0, {"closed": "high"}, "f: expected a number in (0, 1], got 0"),
    (0, {"closed": "neither", "allow_none": True}, "f: expected a number in (0, 1) or None, got 0"),
    ("0.5", {}, "f: expected a number in [0, 1], got '0.5'"),
    (False, {}, "f: expected a number in [0, 1], got False"),
    (math.nan, {}, "f: expected a number in [0, 1], got nan"),
])
def test_check_range_refuses(value, options, message):
    with pytest.raises(ValueError) as info:
        check_range(value, "f", 0, 1, **options)
    assert str(info.value) == message


def test_check_range_lets_none_through_when_allowed():
    assert check_range(None, "f", 0.5, 2.5, allow_none=True) is None
    with pytest.raises(ValueError, match=r"^f: expected a number in \[0.5, 2.5\], got None$"):
        check_range(None, "f", 0.5, 2.5)


def test_check_choice():
    assert check_choice("mean", "collapse", ("median", "mean")) == "mean"
    with pytest.raises(ValueError) as info:
        check_choice("sum", "collapse", ("median", "mean"))
    assert str(info.value) == "collapse: expected one of 'median', 'mean', got 'sum'"


@pytest.mark.parametrize("value", ["3-d", "", 3, "3d\u00e9"])
def test_check_suffix_names_the_parameter(value):
    from exobench._validate import check_suffix

    with pytest.raises(ValueError, match=r"suffix: expected a short alphanumeric suffix such as '3d' or '4d', got"):
        check_suffix(value, "suffix")
    assert check_suffix("4d", "suffix") == "4d"
