"""Tests of exobench.scoring.metrics: micro-averaged rates, undefined cases, EIDC scores."""

import math
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exobench import ExobenchWarning
from exobench.scoring import metrics as metrics_module
from exobench.scoring.counting import DatasetCounts
from exobench.scoring.metrics import (
    Metrics,
    UndefinedMetricWarning,
    compute_metrics,
    eidc_scores,
    per_dataset_metrics,
)


def counts(tp, fp, n, tn=100, fn=None):
    return DatasetCounts(tp=tp, fp=fp, fn=n - tp if fn is None else fn, tn=tn, n_injections=n, n_elements=tn + fp + n)


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_single_dataset(no_warnings):
    m = compute_metrics(counts(2, 2, 4, tn=50))
    assert isinstance(m, Metrics)
    assert (m.tp, m.fp, m.fn, m.tn, m.n_injections, m.n_datasets) == (2, 2, 2, 50, 4, 1)
    assert m.tpr == m.recall == 0.5
    assert m.fpr == 2 / 52
    assert m.precision == 0.5 and m.fdr == 0.5
    assert m.f1 == pytest.approx(0.5)
    assert m.as_dict()["f1"] == m.f1


def test_micro_average_sums_then_divides(no_warnings):
    a, b = counts(3, 0, 3), counts(0, 5, 1)
    m = compute_metrics([a, b])
    assert (m.tp, m.fp, m.fn, m.n_injections, m.n_datasets) == (3, 5, 1, 4, 2)
    assert m.tpr == 3 / 4 and m.precision == 3 / 8 and m.fdr == 5 / 8
    assert m.fpr == 5 / 205
    assert m.f1 == pytest.approx(2 * (3 / 8) * (3 / 4) / (3 / 8 + 3 / 4))
    # not the mean of the per-dataset values (macro-average)
    per = per_dataset_metrics([a, b])
    assert [p.tpr for p in per] == [1.0, 0.0]
    assert [p.precision for p in per] == [1.0, 0.0]
    assert m.tpr != (per[0].tpr + per[1].tpr) / 2
    assert compute_metrics(iter([a, b])) == m  # any iterable


def test_dataset_without_injection_counts_in_the_phase(no_warnings):
    m = compute_metrics([counts(1, 0, 1), counts(0, 3, 0)])
    assert (m.tp, m.fp, m.n_injections) == (1, 3, 1)
    assert m.precision == 0.25 and m.tpr == 1.0


def test_undefined_recall_without_injection():
    with pytest.warns(UndefinedMetricWarning, match=r"set to NaN: tpr: no injection"):
        m = compute_metrics(counts(0, 3, 0))
    assert math.isnan(m.tpr)
    assert m.precision == 0.0 and m.fdr == 1.0 and m.f1 == 0.0  # something detected, nothing to find


def test_undefined_precision_without_detection():
    with pytest.warns(UndefinedMetricWarning, match=r"precision and fdr: no detection \(TP \+ FP = 0\)"):
        m = compute_metrics(counts(0, 0, 3))
    assert math.isnan(m.precision) and math.isnan(m.fdr)
    assert m.tpr == 0.0 and m.f1 == 0.0  # missed everything: F1 = 0, not NaN


def test_undefined_everything():
    c = DatasetCounts(tp=0, fp=0, fn=0, tn=0, n_injections=0, n_elements=0)
    with pytest.warns(UndefinedMetricWarning, match=r"tpr: no injection; fpr: FP \+ TN = 0; .*f1: nothing injected"):
        m = compute_metrics(c)
    assert all(math.isnan(v) for v in (m.tpr, m.fpr, m.precision, m.fdr, m.f1))


def test_per_dataset_warns_once_naming_the_dataset():
    with pytest.warns(UndefinedMetricWarning, match=r"dataset 1 tpr: no injection") as record:
        per = per_dataset_metrics([counts(1, 0, 1), counts(0, 2, 0)])
    assert len(record) == 1
    assert len(per) == 2 and per[0].f1 == 1.0 and math.isnan(per[1].tpr)


def test_warning_class():
    assert issubclass(UndefinedMetricWarning, ExobenchWarning)
    assert issubclass(UndefinedMetricWarning, UserWarning)


rates = st.integers(0, 30)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(rates, rates, rates, rates), min_size=1, max_size=6))
def test_metrics_properties(rows):
    items = [counts(min(tp, n), fp, n, tn=tn) for tp, fp, n, tn in rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        m = compute_metrics(items)
    tp, fp = sum(c.tp for c in items), sum(c.fp for c in items)
    n, tn = sum(c.n_injections for c in items), sum(c.tn for c in items)
    assert (m.tp, m.fp, m.tn, m.n_injections) == (tp, fp, tn, n)
    assert m.tp + m.fn == m.n_injections
    if tp + fp:
        assert m.precision + m.fdr == pytest.approx(1.0)
    else:
        assert math.isnan(m.precision) and math.isnan(m.fdr)
    if n:
        assert m.tpr == tp / n
    if tp + fp + n:
        assert 0.0 <= m.f1 <= 1.0
        if tp:  # the harmonic mean of precision and recall
            assert m.f1 == pytest.approx(2 * m.precision * m.tpr / (m.precision + m.tpr))
        else:
            assert m.f1 == 0.0
    if fp + tn:
        assert m.fpr == fp / (fp + tn)


def test_eidc_scores_default(no_warnings):
    scores = eidc_scores([counts(2, 2, 3)])
    assert list(scores) == ["F1_3d", "Precision_3d", "Recall_3d", "FalsePositives_3d"]
    assert scores["Precision_3d"] == 0.5 and scores["Recall_3d"] == 2 / 3
    assert scores["F1_3d"] == pytest.approx(4 / 7) and scores["FalsePositives_3d"] == 2.0
    assert all(type(v) is float for v in scores.values())
    keys_4d = ["F1_4d", "Precision_4d", "Recall_4d", "FalsePositives_4d"]
    assert list(eidc_scores([counts(2, 2, 3)], suffix="4d")) == keys_4d
    assert list(eidc_scores([counts(2, 2, 3)], suffix="")) == ["F1", "Precision", "Recall", "FalsePositives"]


def test_eidc_scores_default_undefined_is_nan():
    with pytest.warns(UndefinedMetricWarning, match="precision and fdr"):
        scores = eidc_scores([counts(0, 0, 3)])
    assert math.isnan(scores["Precision_3d"]) and scores["Recall_3d"] == 0.0 and scores["F1_3d"] == 0.0


def test_eidc_scores_compat_writes_zeros_like_2019(no_warnings):
    # no detection: 2019 wrote precision = F1 = 0
    assert eidc_scores([counts(0, 0, 3)], compat="eidc2019") == {
        "F1_3d": 0.0,
        "Precision_3d": 0.0,
        "Recall_3d": 0.0,
        "FalsePositives_3d": 0.0,
    }
    # no injection and no detection: recall = 0 too
    empty = DatasetCounts(tp=0, fp=0, fn=0, tn=0, n_injections=0, n_elements=0)
    assert eidc_scores([empty], compat="eidc2019")["Recall_3d"] == 0.0
    # many-to-one counts: recall above 1 as 2019 could write
    two_on_one = DatasetCounts(tp=2, fp=0, fn=0, tn=10, n_injections=1, n_elements=11, compat="eidc2019")
    s = eidc_scores([two_on_one], compat="eidc2019")
    assert s["Recall_3d"] == 2.0 and s["Precision_3d"] == 1.0
    assert s["F1_3d"] == pytest.approx(2 * 2.0 / 3.0)


def test_eidc_scores_compat_where_2019_crashed():
    with pytest.warns(UndefinedMetricWarning, match="the 2019 scoring program crashed here"):
        s = eidc_scores([counts(0, 4, 3)], compat="eidc2019")
    assert s == {"F1_3d": 0.0, "Precision_3d": 0.0, "Recall_3d": 0.0, "FalsePositives_3d": 4.0}


def test_errors():
    with pytest.raises(TypeError, match=r"counts: expected a DatasetCounts or an iterable of them, got int"):
        compute_metrics(3)
    with pytest.raises(TypeError, match=r"counts: expected a DatasetCounts or an iterable of them, got str"):
        compute_metrics("abc")
    with pytest.raises(TypeError, match=r"counts: item 1 is a dict, expected a DatasetCounts"):
        compute_metrics([counts(1, 0, 1), {"tp": 1}])
    with pytest.raises(ValueError, match=r"counts: expected at least one DatasetCounts, got none"):
        compute_metrics([])
    with pytest.raises(ValueError, match=r"counts: expected at least one DatasetCounts, got none"):
        per_dataset_metrics([])
    with pytest.raises(ValueError,
                       match=r"suffix: expected a short alphanumeric suffix such as '3d' or '4d', got '3-d'"):
        eidc_scores([counts(1, 0, 1)], suffix="3-d")
    with pytest.raises(ValueError, match=r"suffix: expected a short alphanumeric suffix .* got 3"):
        eidc_scores([counts(1, 0, 1)], suffix=3)
    with pytest.raises(ValueError, match=r"compat: expected one of None, 'eidc2019', got 'eidc'"):
        eidc_scores([counts(1, 0, 1)], compat="eidc")


def test_public_names():
    assert set(metrics_module.__all__) >= {"UndefinedMetricWarning", "Metrics", "compute_metrics", "eidc_scores"}
