"""The NumPy Gaussian process behind bayesianoptimization: exact gradients, sensible fits, stable log-EI."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from katib_py.suggestion import gp


def _data(n: int, dims: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, dims))
    y = np.sin(6.0 * X[:, 0]) + 0.3 * X[:, 1] ** 2  # later inputs do not matter
    return X, (y - y.mean()) / y.std()


def test_likelihood_gradient_matches_finite_differences() -> None:
    X, y = _data(25, 3)
    y = y + 1.5  # off-centre, so the fitted constant mean is part of what is differentiated
    diffs = (X[:, None, :] - X[None, :, :]) ** 2
    theta = np.array([0.3, -0.5, 1.0, 0.2, -4.0])

    def value(t: np.ndarray) -> float:
        return gp._neg_log_posterior(t, diffs, y)[0]

    analytic = gp._neg_log_posterior(theta, diffs, y)[1]
    numeric = approx_fprime(theta, value, 1e-6)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-4)


def test_posterior_gradient_matches_finite_differences() -> None:
    X, y = _data(30, 4)
    model = gp.GaussianProcess.fit(X, y)
    x = np.random.default_rng(1).random((5, 4))
    mean, var, dmean, dvar = model.posterior_with_grad(x)
    plain_mean, plain_var = model.posterior(x)
    np.testing.assert_allclose(mean, plain_mean, atol=1e-10)
    np.testing.assert_allclose(var, plain_var, atol=1e-10)
    h = 1e-6
    for d in range(4):
        step = np.zeros(4)
        step[d] = h
        up_mean, up_var = model.posterior(x + step)
        np.testing.assert_allclose(dmean[:, d], (up_mean - mean) / h, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(dvar[:, d], (up_var - var) / h, rtol=1e-3, atol=1e-4)


def test_far_from_the_data_the_mean_reverts_to_the_fitted_constant_not_to_zero() -> None:
    # Why: with a zero prior mean, unexplored corners of a loss with a high plateau (Ackley) look
    # as good as the average trial, and EI spends a third of the budget there.
    rng = np.random.default_rng(3)
    X = rng.random((30, 2)) * 0.3
    y = 2.0 + 0.5 * np.sin(25.0 * X[:, 0])
    model = gp.GaussianProcess.fit(X, y)
    assert abs(model.prior_mean - 2.0) < 0.5
    far_mean, far_var = model.posterior(np.array([[1.0, 1.0]]))
    assert far_mean[0] == pytest.approx(model.prior_mean, abs=0.05)
    assert far_var[0] == pytest.approx(model.params.amplitude, rel=0.05)


def test_fit_ranks_the_relevant_input_shortest_and_keeps_every_input_in_play() -> None:
    X, y = _data(60, 3)
    scales = gp.GaussianProcess.fit(X, y).params.lengthscales
    assert scales[0] < scales[1] < scales[2]
    # The prior on inverse squared length scales stops an unused input from being switched off
    # entirely (maximum likelihood alone sends its length scale towards infinity).
    assert scales[2] < 30.0


def test_fit_interpolates_a_smooth_function() -> None:
    X, y = _data(40, 2)
    model = gp.GaussianProcess.fit(X, y)
    grid = np.random.default_rng(5).random((200, 2))
    truth = np.sin(6.0 * grid[:, 0]) + 0.3 * grid[:, 1] ** 2
    raw_y = np.sin(6.0 * X[:, 0]) + 0.3 * X[:, 1] ** 2
    predicted = model.posterior(grid)[0] * raw_y.std() + raw_y.mean()
    assert np.sqrt(np.mean((predicted - truth) ** 2)) < 0.05


def test_warm_start_from_fitted_parameters_gives_the_same_fit() -> None:
    X, y = _data(40, 3)
    cold = gp.GaussianProcess.fit(X, y)
    warm = gp.GaussianProcess.fit(X, y, warm=cold.params)
    np.testing.assert_allclose(warm.params.lengthscales, cold.params.lengthscales, rtol=0.05)


def test_believed_points_remove_uncertainty_there() -> None:
    X, y = _data(20, 2)
    model = gp.GaussianProcess.fit(X, y)
    point = np.array([[0.5, 0.5]])
    before = model.posterior(point)[1][0]
    after = model.with_points(point, np.array([-2.0])).posterior(point)[1][0]
    assert after < 0.01 * before


@pytest.mark.parametrize("acquisition", [gp.log_expected_improvement, gp.log_probability_of_improvement])
def test_log_acquisitions_stay_finite_and_exact_far_from_the_incumbent(acquisition: object) -> None:
    f = acquisition  # type: ignore[assignment]
    mean = np.array([-1.0, 0.3, 5.0, 40.0])
    var = np.full(4, 0.04)  # z down to -200: plain EI underflows to 0 there
    value, d_mean, d_var = f(mean, var, -0.5)  # type: ignore[operator]
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(d_mean)) and np.all(np.isfinite(d_var))
    assert np.all(np.diff(value) < 0)  # further from the incumbent is always worse, never a flat 0
    h = 1e-7
    np.testing.assert_allclose(d_mean[:2], (f(mean + h, var, -0.5)[0] - value)[:2] / h, rtol=1e-4)  # type: ignore[operator]
    np.testing.assert_allclose(d_var[:2], (f(mean, var + h, -0.5)[0] - value)[:2] / h, rtol=1e-4)  # type: ignore[operator]


def test_log_expected_improvement_equals_the_closed_form_where_it_is_representable() -> None:
    from scipy.stats import norm

    mean = np.array([0.0, 0.5, -0.2])
    var = np.array([1.0, 0.25, 0.04])
    best = 0.1
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    closed = (best - mean) * norm.cdf(z) + sigma * norm.pdf(z)
    np.testing.assert_allclose(np.exp(gp.log_expected_improvement(mean, var, best)[0]), closed, rtol=1e-6)


def test_heavy_tailed_losses_get_the_warped_model() -> None:
    from katib_py.suggestion.algorithms.bayesianoptimization import fit_gp

    rng = np.random.default_rng(3)
    X = rng.random((40, 2))
    losses = 10.0 ** (4.0 * X[:, 0]) + X[:, 1]  # four orders of magnitude, like Rosenbrock's
    model, fitted = fit_gp(X, losses, {})
    assert set(fitted) == {"plain", "warped"}
    assert model.params is fitted["warped"]
    # the warp keeps the order of the losses: the best trial stays the best
    assert int(np.argmin(model.y)) == int(np.argmin(losses))


def test_yeo_johnson_log_jacobian_matches_the_derivative_of_the_transform() -> None:
    from scipy.stats import yeojohnson, yeojohnson_normmax

    from katib_py.suggestion.algorithms.bayesianoptimization import _yeo_johnson

    z = np.random.default_rng(4).lognormal(0.0, 1.0, 30)
    z = (z - z.mean()) / z.std()
    warped = _yeo_johnson(z)
    assert warped is not None
    w, log_jacobian = warped
    lmbda = max(float(yeojohnson_normmax(z)), 0.0)
    raw = yeojohnson(z, lmbda)
    spread = float(np.std(raw))
    np.testing.assert_allclose(w, (raw - raw.mean()) / spread)
    h = 1e-6
    slopes = (yeojohnson(z + h, lmbda) - raw) / h / spread
    assert log_jacobian == pytest.approx(float(np.log(slopes).sum()), rel=1e-4)
