"""Predictive-validity statistics, and the server-side SVG scatter plot.

The point statistics come from scipy, so they are checked against hand-worked values and
closed forms; the hand-written counts bootstrap is checked against scipy.stats.bootstrap and
against scipy on explicitly resampled data.
"""

from __future__ import annotations

import json
import math
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import scipy.stats  # type: ignore[import-untyped]  # no stubs

from analytics import stats
from analytics.plots import scatter_svg


def _bivariate(n: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = rho * x + math.sqrt(1.0 - rho * rho) * rng.normal(size=n)
    return x, y


def _datasets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(30)
    x30 = np.round(rng.normal(60, 15, 30))  # integer scores: ties
    y30 = np.round(0.05 * x30 + rng.normal(0, 1, 30), 1)
    return {
        "n5_ties": (np.array([1.0, 2.0, 2.0, 3.0, 5.0]), np.array([2.0, 1.0, 4.0, 4.0, 6.0])),
        "n30": (x30, y30),
        "n200": _bivariate(200, 0.3, seed=200),
        "n10000_weak": _bivariate(10_000, 0.05, seed=1),
        "n10000_moderate": _bivariate(10_000, 0.1, seed=2),  # p ~ 1e-20
        "n10000_strong": _bivariate(10_000, 0.6, seed=3),  # p underflows to 0 in both
    }


DATASETS = _datasets()


def _close(expected: float, rel: float) -> object:
    # abs=0: pytest's default abs of 1e-12 would wave through any tiny p-value.
    return pytest.approx(expected, rel=rel, abs=0.0)


def _t_p_closed_form(t: float, df: int) -> float:
    """Two-sided Student-t p for df 1, 2, 3 from the textbook closed forms: an oracle
    independent of scipy. df 1 and 2 are written to keep the far tail (no 1 - cdf)."""
    t = abs(t)
    if df == 1:  # Cauchy
        return 2.0 / math.pi * math.atan2(1.0, t)
    if df == 2:
        s = math.sqrt(2.0 + t * t)
        return 2.0 / (s * (s + t))
    if df == 3:
        u = t / math.sqrt(3.0)
        return 1.0 - 2.0 / math.pi * (u / (1.0 + u * u) + math.atan(u))
    raise ValueError(df)


def test_pearson_hand_checked() -> None:
    # dx = -2..2, dy = (-2, 0, 1, 0, 1): sum dx dy = 6, sum dx^2 = 10, sum dy^2 = 6.
    r, p = stats.pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])
    assert r == _close(math.sqrt(0.6), 1e-12)
    # t = r sqrt(df / (1 - r^2)) = sqrt(4.5) with df = 3.
    assert p == _close(_t_p_closed_form(math.sqrt(4.5), 3), 1e-9)
    assert 0.124 < p < 0.1241
    # Three points, r = 1/2: t = 1/sqrt(3) with df = 1, so p = 1 - (2/pi)(pi/6) = 2/3.
    assert stats.pearson([1, 2, 3], [1, 3, 2]) == (_close(0.5, 1e-12), _close(2 / 3, 1e-9))


def test_spearman_hand_checked_with_ties() -> None:
    # y ranks (1, 2, 3.5, 5, 3.5): rho = 8 / sqrt(10 * 9.5); t^2 = rho^2 df / (1 - rho^2) = 192/31.
    rho, p = stats.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])
    assert rho == _close(8.0 / math.sqrt(95.0), 1e-12)
    assert p == _close(_t_p_closed_form(math.sqrt(192.0 / 31.0), 3), 1e-9)
    assert stats.spearman([1, 2, 3], [10, 30, 20]) == (_close(0.5, 1e-12), _close(2 / 3, 1e-9))


@pytest.mark.parametrize("name", list(DATASETS))
def test_spearman_is_pearson_of_ranks_and_ignores_monotone_transforms(name: str) -> None:
    x, y = DATASETS[name]
    rho, p = stats.spearman(x, y)
    assert rho == _close(float(np.corrcoef(stats.rankdata(x), stats.rankdata(y))[0, 1]), 1e-9)
    rho_t, p_t = stats.spearman(np.exp(x / 10.0), y**3 + y)  # strictly increasing both
    assert rho_t == _close(rho, 1e-12) and p_t == _close(p, 1e-9)
    r, _ = stats.pearson(x, y)
    assert stats.pearson(3.0 * x - 7.0, -y)[0] == _close(-r, 1e-9)


@pytest.mark.parametrize("name", list(DATASETS))
def test_p_values_are_the_t_test_with_n_minus_2_df(name: str) -> None:
    """pearson (scipy's beta form) and spearman (t form) agree with t_two_sided_p."""
    x, y = DATASETS[name]
    df = x.size - 2.0
    for r, p in (stats.pearson(x, y), stats.spearman(x, y)):
        t = r * math.sqrt(df / ((1.0 - r) * (1.0 + r)))
        expected = stats.t_two_sided_p(t, df)
        if expected == 0.0:
            assert p == 0.0
        else:
            assert p == _close(expected, 1e-7), (r, p, expected)


def test_tiny_p_values_are_resolved_not_flushed() -> None:
    x, y = DATASETS["n10000_moderate"]
    for r, p in (stats.pearson(x, y), stats.spearman(x, y)):
        assert 0.09 < r < 0.12 and 1e-30 < p < 1e-20
    x, y = DATASETS["n10000_strong"]
    assert stats.pearson(x, y)[1] == 0.0  # below the smallest double
    assert 1e-305 < stats.t_two_sided_p(37.0, 200_000) < 1e-290


def test_point_statistics_are_plain_floats() -> None:
    x, y = DATASETS["n30"]
    for v in (*stats.pearson(x, y), *stats.spearman(x, y), stats.betainc(2, 3, 0.4)):
        assert type(v) is float
    assert type(stats.t_two_sided_p(2.0, 10)) is float


def test_constant_or_short_input_gives_nan_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy would warn (constant) or raise (n < 2)
        for x, y in (([1, 2, 3, 4], [5, 5, 5, 5]), ([1], [2]), ([1, 2], [2, 1]), ([], [])):
            for fn in (stats.pearson, stats.spearman):
                r, p = fn(x, y)
                assert math.isnan(r) and math.isnan(p), (fn, x, y)


def test_rankdata_averages_ties_and_propagates_nan() -> None:
    ranks = stats.rankdata([3, 1, 3, 3, 2])
    np.testing.assert_array_equal(ranks, [4.0, 1.0, 4.0, 4.0, 2.0])
    assert ranks.dtype == np.float64
    np.testing.assert_array_equal(stats.rankdata([[2, 1], [1, 3]]), [3.0, 1.5, 1.5, 4.0])
    assert np.isnan(stats.rankdata([1.0, np.nan, 2.0])).all()
    x = DATASETS["n200"][0]
    np.testing.assert_array_equal(stats.rankdata(x)[np.argsort(x)], np.arange(1.0, 201.0))


def test_t_two_sided_p_closed_forms() -> None:
    for df in (1, 2, 3):
        for t in (0.0, 0.3, 1.0, 1.96, 3.0, 10.0, 37.0, 1e3, 1e10):
            if df == 3 and t > 100.0:  # the df = 3 form cancels out in the far tail
                continue
            expected = _t_p_closed_form(t, df)
            assert stats.t_two_sided_p(t, df) == _close(expected, 1e-9), (df, t)
            assert stats.t_two_sided_p(-t, df) == stats.t_two_sided_p(t, df)
    # Huge df is the normal: 2 P(Z > |t|) = erfc(|t| / sqrt 2), to ~t^4 / (4 df).
    for t in (0.5, 1.96, 3.0, 5.0):
        assert stats.t_two_sided_p(t, 1e9) == _close(math.erfc(t / math.sqrt(2.0)), 1e-6)
    assert stats.t_two_sided_p(0.0, 10) == 1.0
    assert stats.t_two_sided_p(math.inf, 10) == 0.0
    assert math.isnan(stats.t_two_sided_p(math.nan, 10))
    assert math.isnan(stats.t_two_sided_p(1.0, 0))


def test_betainc_closed_forms_and_domain() -> None:
    for x in (1e-8, 1e-3, 0.05, 0.3, 0.5, 0.7, 0.95, 0.999):
        for a in (0.5, 2.5, 10.0, 1e3):
            assert stats.betainc(a, 1.0, x) == _close(x**a, 1e-9), (a, x)
            # I_x(1, b) = 1 - (1 - x)^b, written without cancellation.
            expected = -math.expm1(a * math.log1p(-x))
            assert stats.betainc(1.0, a, x) == _close(expected, 1e-9), (a, x)
        assert stats.betainc(2.0, 2.0, x) == _close(3 * x * x - 2 * x**3, 1e-9)
    for a in (0.5, 10.0, 1e3, 1e5):
        assert stats.betainc(a, a, 0.5) == _close(0.5, 1e-9)  # symmetric around 1/2
    # The t tail is an incomplete beta: 2 P(T > t) = I_{df / (df + t^2)}(df / 2, 1 / 2).
    for df, t in ((5, 2.0), (28, 3.0), (9_998, 4.0)):
        expected = stats.t_two_sided_p(t, df)
        assert stats.betainc(df / 2, 0.5, df / (df + t * t)) == _close(expected, 1e-9)
    assert stats.betainc(2.0, 3.0, 0.0) == 0.0
    assert stats.betainc(2.0, 3.0, 1.0) == 1.0
    for a, b, x in ((0.0, 1.0, 0.5), (1.0, -1.0, 0.5), (1.0, 1.0, 1.5), (1.0, 1.0, -0.1)):
        assert math.isnan(stats.betainc(a, b, x))


def test_perfect_correlation_has_zero_p() -> None:
    assert stats.pearson([1, 2, 3, 4], [2, 4, 6, 8]) == (1.0, 0.0)
    r, p = stats.spearman([1, 2, 3, 4], [40, 30, 20, 10])
    assert (r, p) == (-1.0, 0.0)


def _pearson_along(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    xm = x - x.mean(axis=axis, keepdims=True)
    ym = y - y.mean(axis=axis, keepdims=True)
    return np.asarray(
        (xm * ym).sum(axis=axis) / np.sqrt((xm * xm).sum(axis=axis) * (ym * ym).sum(axis=axis))
    )


def _spearman_along(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    rx = scipy.stats.rankdata(x, axis=axis)
    ry = scipy.stats.rankdata(y, axis=axis)
    return _pearson_along(rx, ry, axis=axis)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(
    ("method", "statistic"), [("pearson", _pearson_along), ("spearman", _spearman_along)]
)
def test_bootstrap_ci_agrees_with_scipy(method: str, statistic: object, ties: bool) -> None:
    x, y = _bivariate(300, 0.4, seed=7)
    if ties:  # 0-100 scores and a 1-5 rating: heavy ties in both
        x, y = np.round(50 + 15 * x), np.clip(np.round(3 + y), 1, 5)
    ref = scipy.stats.bootstrap(
        (x, y),
        statistic,
        paired=True,
        vectorized=True,
        method="percentile",
        n_resamples=4000,
        confidence_level=0.95,
        rng=np.random.default_rng(11),
    ).confidence_interval
    lo, hi = stats.bootstrap_ci(x, y, method=method, resamples=4000, seed=3)  # type: ignore[arg-type]
    assert lo == pytest.approx(ref.low, abs=0.02)
    assert hi == pytest.approx(ref.high, abs=0.02)
    point = stats.pearson(x, y)[0] if method == "pearson" else stats.spearman(x, y)[0]
    assert lo < point < hi


@pytest.mark.parametrize("ties", [False, True])
def test_counts_based_resample_equals_explicit_resample(ties: bool) -> None:
    """The sort-free statistics of a resample equal scipy on the resampled data itself."""
    x, y = _bivariate(150, 0.4, seed=5)
    if ties:
        x, y = np.round(x * 2) / 2, np.round(y)
    idx = np.random.default_rng(9).integers(0, x.size, (4, x.size))
    counts = np.array([np.bincount(row, minlength=x.size) for row in idx])
    r_p, r_s = stats.resample_correlations(x, y, counts)
    for k, row in enumerate(idx):
        assert r_p[k] == pytest.approx(scipy.stats.pearsonr(x[row], y[row]).statistic, rel=1e-9)
        assert r_s[k] == pytest.approx(scipy.stats.spearmanr(x[row], y[row]).statistic, rel=1e-9)


def test_float_counts_path_for_huge_n(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond int64-safe n the counts go float64; same answers (checked here on small n)."""
    monkeypatch.setattr(stats, "_INT_COUNTS_MAX_N", 10)
    x, y = _bivariate(60, 0.3, seed=8)
    x = np.round(x, 1)
    idx = np.random.default_rng(2).integers(0, x.size, (3, x.size))
    counts = np.array([np.bincount(row, minlength=x.size) for row in idx])
    r_p, r_s = stats.resample_correlations(x, y, counts)
    for k, row in enumerate(idx):
        assert r_p[k] == pytest.approx(scipy.stats.pearsonr(x[row], y[row]).statistic, rel=1e-9)
        assert r_s[k] == pytest.approx(scipy.stats.spearmanr(x[row], y[row]).statistic, rel=1e-9)
    ci = stats.bootstrap_ci(x, y, method="spearman", resamples=200)
    monkeypatch.undo()
    assert ci == stats.bootstrap_ci(x, y, method="spearman", resamples=200)


def test_resample_correlations_rejects_bad_counts() -> None:
    x, y = np.arange(5.0), np.array([2.0, 1.0, 4.0, 3.0, 5.0])
    with pytest.raises(ValueError, match="summing to n"):
        stats.resample_correlations(x, y, [[1, 1, 1, 1, 0]])
    with pytest.raises(ValueError, match="must both vary"):
        stats.resample_correlations(x, np.ones(5), [[1, 1, 1, 1, 1]])


def test_flat_resample_is_nan_not_an_error() -> None:
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 3.0, 2.0])
    r_p, r_s = stats.resample_correlations(x, y, [[3, 0, 0], [1, 1, 1], [2, 1, 0]])
    assert math.isnan(r_p[0]) and math.isnan(r_s[0])
    assert r_p[1] == pytest.approx(0.5) and r_s[1] == pytest.approx(0.5)
    assert r_p[2] == pytest.approx(1.0) and r_s[2] == pytest.approx(1.0)


def test_correlate_uses_the_same_draws_as_bootstrap_ci() -> None:
    x, y = DATASETS["n200"]
    c = stats.correlate(x, y, resamples=500, seed=4)
    assert c.pearson_ci == stats.bootstrap_ci(x, y, method="pearson", resamples=500, seed=4)
    assert c.spearman_ci == stats.bootstrap_ci(x, y, method="spearman", resamples=500, seed=4)
    again = stats.correlate(x, y, resamples=500, seed=4)
    assert again == c  # deterministic for a seed


def test_planted_correlation_is_recovered() -> None:
    rho = 0.35
    x, y = _bivariate(2000, rho, seed=2024)
    c = stats.correlate(x, y)
    assert c.n == 2000 and not c.small_n and c.note == ""
    assert c.pearson_ci is not None and c.spearman_ci is not None
    assert c.pearson_ci[0] < rho < c.pearson_ci[1]
    rho_s = 6.0 / math.pi * math.asin(rho / 2.0)  # Spearman of a bivariate normal
    assert c.spearman_ci[0] < rho_s < c.spearman_ci[1]
    assert c.pearson_p is not None and c.pearson_p < 1e-20


def test_small_n_is_flagged_but_still_computed() -> None:
    x = np.arange(12.0)
    y = np.array([1, 2, 3, 5, 4, 6, 7, 9, 8, 10, 12, 11], dtype=float)
    c = stats.correlate(x, y)
    assert c.small_n and c.n == 12
    assert "n = 12" in c.note and "too few" in c.note and "30" in c.note
    assert c.pearson is not None and c.spearman_p is not None
    assert not stats.correlate(x, y, min_n=10).small_n


@pytest.mark.parametrize(
    ("x", "y", "why"),
    [
        (np.arange(10.0), np.full(10, 5.0), "no variation in y"),
        (np.full(40, 1.0), np.arange(40.0), "no variation in x"),
        (np.full(40, 1.0), np.full(40, 2.0), "no variation in x or y"),
        ([1.0, 2.0], [3.0, 5.0], "n = 2"),
        ([], [], "n = 0"),
    ],
)
def test_degenerate_input_gives_none_not_an_error(x: object, y: object, why: str) -> None:
    c = stats.correlate(x, y)  # type: ignore[arg-type]
    assert why in c.note
    fields = (c.pearson, c.pearson_p, c.pearson_ci, c.spearman, c.spearman_p, c.spearman_ci)
    assert all(v is None for v in fields)
    json.dumps(c.as_dict())
    assert all(math.isnan(v) for v in stats.pearson(x, y))  # type: ignore[arg-type]
    assert all(math.isnan(v) for v in stats.spearman(x, y))  # type: ignore[arg-type]
    lo, hi = stats.bootstrap_ci(x, y, method="pearson", resamples=50)  # type: ignore[arg-type]
    assert math.isnan(lo) and math.isnan(hi)


def test_too_few_pairs_note_when_min_n_is_tiny() -> None:
    c = stats.correlate([1.0, 2.0], [2.0, 1.0], min_n=2)
    assert not c.small_n and "at least 3" in c.note and c.pearson is None


def test_nan_pairs_are_dropped() -> None:
    x, y = DATASETS["n30"]
    xn = np.append(x, [np.nan, 1.0, np.nan])
    yn = np.append(y, [2.0, np.nan, np.nan])
    with_nan = stats.correlate(xn, yn, resamples=300)
    clean = stats.correlate(x, y, resamples=300)
    assert with_nan == clean and with_nan.n == 30
    assert stats.pearson(xn, yn) == stats.pearson(x, y)


def test_as_dict_is_json_ready_and_rounded() -> None:
    x, y = DATASETS["n10000_moderate"]
    d = stats.correlate(x, y, resamples=200).as_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["pearson"] == round(d["pearson"], 4)
    assert 0.0 < d["pearson_p"] < 1e-15  # significant digits kept, not rounded to 0
    assert d["pearson_p"] == float(f"{d['pearson_p']:.3g}")
    assert isinstance(d["pearson_ci"], list) and len(d["pearson_ci"]) == 2
    assert set(d) == {
        "n",
        "pearson",
        "pearson_p",
        "pearson_ci",
        "spearman",
        "spearman_p",
        "spearman_ci",
        "small_n",
        "note",
    }


def test_mismatched_lengths_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        stats.correlate([1.0, 2.0, 3.0], [1.0, 2.0])


# -- plots -------------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    return root


def _cohort(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.clip(rng.normal(60, 15, n), 0, 100)
    y = 0.04 * x + rng.normal(0, 1, n)
    return x, y


def test_scatter_svg_small_cohort() -> None:
    x, y = _cohort(12)
    svg = scatter_svg(
        x,
        y,
        title="Score vs <rating> & more",
        x_label="Interview score",
        y_label="Rating",
        note="n = 12: too few to say anything",
    )
    root = _parse(svg)
    assert root.findtext(f"{SVG}title") == "Score vs <rating> & more"
    assert len(root.findall(f".//{SVG}circle")) == 12
    assert len(root.findall(f".//{SVG}line[@stroke='#dc2626']")) == 1  # the fit line
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "n = 12: too few to say anything" in texts
    assert "SYNTHETIC DATA" not in svg
    assert svg == scatter_svg(
        x,
        y,
        title="Score vs <rating> & more",
        x_label="Interview score",
        y_label="Rating",
        note="n = 12: too few to say anything",
    )


def test_synthetic_label_only_when_synthetic() -> None:
    x, y = _cohort(50)
    labelled = scatter_svg(x, y, title="t", x_label="a", y_label="b", synthetic=True)
    root = _parse(labelled)
    assert "SYNTHETIC DATA" in [t.text for t in root.iter(f"{SVG}text")]
    assert "SYNTHETIC DATA" in (root.findtext(f"{SVG}title") or "")
    assert "SYNTHETIC DATA" not in scatter_svg(x, y, title="t", x_label="a", y_label="b")
    empty = scatter_svg([], [], title="t", x_label="a", y_label="b", synthetic=True)
    assert "SYNTHETIC DATA" in empty


def test_scatter_svg_density_mode_stays_light() -> None:
    x, y = _cohort(10_000, seed=1)
    svg = scatter_svg(x, y, title="Cohort", x_label="score", y_label="rating", synthetic=True)
    root = _parse(svg)
    assert sum(1 for _ in root.iter()) < 2000
    assert len(svg.encode()) < 100_000
    assert not root.findall(f".//{SVG}circle")
    assert "darker = more people" in svg
    assert "SYNTHETIC DATA" in svg


def test_scatter_svg_point_mode_limit_stays_under_100kb() -> None:
    x, y = _cohort(1500, seed=2)
    svg = scatter_svg(x, y, title="Cohort", x_label="score", y_label="rating")
    assert len(_parse(svg).findall(f".//{SVG}circle")) == 1500
    assert len(svg.encode()) < 100_000


def test_scatter_svg_empty_and_degenerate() -> None:
    root = _parse(scatter_svg([], [], title="Nothing", x_label="a", y_label="b"))
    assert "no data yet" in [t.text for t in root.iter(f"{SVG}text")]
    nan_only = scatter_svg([np.nan], [1.0], title="Nothing", x_label="a", y_label="b")
    assert "no data yet" in nan_only
    flat = _parse(scatter_svg([50.0] * 5, [1, 2, 3, 4, 5], title="f", x_label="a", y_label="b"))
    assert not flat.findall(f".//{SVG}line[@stroke='#dc2626']")  # no fit when x is constant
    x, y = _cohort(20)
    no_fit = _parse(scatter_svg(x, y, title="f", x_label="a", y_label="b", fit=False))
    assert not no_fit.findall(f".//{SVG}line[@stroke='#dc2626']")


def test_perfect_rank_correlation_has_p_zero_like_scipy() -> None:
    rho, p = stats.spearman([1.0, 2.0, 3.0], [10.0, 20.0, 35.0])
    assert rho == pytest.approx(1.0) and p == 0.0
    assert scipy.stats.spearmanr([1.0, 2.0, 3.0], [10.0, 20.0, 35.0]).pvalue == 0.0


def test_bootstrap_intervals_cover_a_planted_correlation_about_95_percent_of_the_time() -> None:
    """Independent samples from a population with rho = 0.3: the 95% interval should
    contain it in about 95 of 100 samples (a check of the interval, not of one estimate)."""
    rng = np.random.default_rng(2024)
    rho, n, trials = 0.3, 150, 200
    cov = [[1.0, rho], [rho, 1.0]]
    covered = 0
    for i in range(trials):
        x, y = rng.multivariate_normal([0.0, 0.0], cov, size=n).T
        lo, hi = stats.bootstrap_ci(x, y, method="pearson", resamples=1000, seed=i)
        covered += lo <= rho <= hi
    # Binomial(200, 0.95): 2.5%..97.5% is 184..196; percentile intervals at n=150 run a
    # little narrow, so accept 0.88..0.99.
    assert 0.88 * trials <= covered <= 0.99 * trials, covered
