"""A curve read at separations in lambda/D, the median over datasets, and the curve's JSON read back."""

import dataclasses
import json

import numpy as np
import pytest

from exobench.contrast import (ContrastCurve, contrast_at, contrast_curve, curve_from_dict, median_contrast,
                               read_contrast, write_contrast)

from .conftest import noise_dataset


def _curve(seps_fwhm, contrast, fwhm=4.0):
    seps = np.asarray(seps_fwhm, dtype=float) * fwhm
    n = len(seps)
    return ContrastCurve(separation_px=seps, separation_fwhm=seps / fwhm, contrast=np.asarray(contrast, dtype=float),
                         throughput=np.ones(n), throughput_std=np.zeros(n), noise=np.ones(n), noise_mean=np.zeros(n),
                         n_apertures=np.full(n, 12), t_quantile=np.ones(n), fpf=1e-3, contrast_unit="u", fwhm=fwhm)


def test_interpolation_is_linear_in_log_contrast_without_extrapolation():
    curve = _curve([1, 2, 3, 4], [1e-2, 1e-3, 1e-5, np.nan])
    got = contrast_at(curve, [0.5, 1.0, 1.5, 2.5, 3.0, 3.5, 4.0, 5.0])
    expected = [np.nan, 1e-2, 10 ** -2.5, 1e-4, 1e-5, np.nan, np.nan, np.nan]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # lambda/D given in pixels: 2 lambda/D of 6 px is 12 px = 3 FWHM of 4 px
    assert contrast_at(curve, 2.0, lambda_d_px=6.0)[0] == pytest.approx(1e-5, rel=1e-12)


def test_median_is_over_the_curves_that_reach_the_separation():
    a = _curve([1, 2, 3], [1e-2, 1e-3, 1e-4])
    b = _curve([1, 2], [1e-3, 1e-4])  # a smaller frame: no 3 FWHM
    c = _curve([1, 2, 3], [1e-4, np.nan, 1e-6])
    np.testing.assert_allclose(median_contrast([a, b, c], [1.0, 2.0, 3.0]), [1e-3, 5.5e-4, 5.05e-5], rtol=1e-12)
    assert np.isnan(median_contrast([], [2.0])).all()
    with pytest.raises(ValueError, match="separations"):
        contrast_at(a, [-1.0])


def test_the_curve_reads_back_from_its_json(noop, tmp_path):
    curve = contrast_curve(noop(), noise_dataset(size=41), branches=1)
    again = curve_from_dict(json.loads(curve.to_json()))
    for field in dataclasses.fields(ContrastCurve):  # every field, the test's diagnostics included
        value = getattr(curve, field.name)
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(getattr(again, field.name), value)
            assert getattr(again, field.name).dtype.kind == value.dtype.kind, field.name
        else:
            assert getattr(again, field.name) == value or (value != value and getattr(again, field.name) != getattr(
                again, field.name)), field.name
    assert again.n_apertures.dtype.kind == "i" and again.non_gaussian.dtype == bool
    write_contrast(curve, tmp_path / "out")
    np.testing.assert_array_equal(read_contrast(tmp_path / "out" / "contrast.json").contrast, curve.contrast)
    data = curve.to_dict()
    data["contrast"][0] = None
    assert np.isnan(curve_from_dict(data).contrast[0])


def test_reading_errors_name_the_field_or_file(tmp_path):
    with pytest.raises(ValueError, match="curve: no 'contrast' in the stored contrast curve"):
        curve_from_dict({k: v for k, v in _curve([1], [1e-3]).to_dict().items() if k != "contrast"})
    with pytest.raises(ValueError, match="curve: expected a mapping of a contrast curve's fields, got list"):
        curve_from_dict([])
    with pytest.raises(FileNotFoundError, match="path: no contrast curve file"):
        read_contrast(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(ValueError, match="is not a contrast curve's JSON"):
        read_contrast(tmp_path / "bad.json")
