"""fathom.ml.privacy: the Gaussian mechanism on clipped updates and its accountant."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fathom.ml import privacy as P
from fathom.ml.training import clip_update, update_norm


def Phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def balle_wang_delta(sigma_over_sensitivity, epsilon):
    """Balle & Wang (2018), Theorem 8, written out independently."""
    s = sigma_over_sensitivity
    return Phi(1 / (2 * s) - epsilon * s) - math.exp(epsilon) * Phi(-1 / (2 * s) - epsilon * s)


# ---------------------------------------------------------------------------------------
# The mechanism
# ---------------------------------------------------------------------------------------


def test_noise_has_the_stated_standard_deviation():
    zeros = {"W0": np.zeros((400, 250), np.float32), "b0": np.zeros(250, np.float32)}
    clip_norm, z = 2.0, 1.5
    noisy = P.add_gaussian_noise(zeros, clip_norm, z)
    values = np.concatenate([a.ravel().astype(np.float64) for a in noisy.values()])
    assert all(a.dtype == np.float32 for a in noisy.values())
    assert values.size == 100_250
    # std of the sample std ~ sigma / sqrt(2n) ~ 0.007: these bounds are > 5 of those.
    assert abs(values.std() - clip_norm * z) < 0.04
    assert abs(values.mean()) < 0.05
    # Coordinates are independent: no correlation between neighbours.
    assert abs(np.corrcoef(values[:-1], values[1:])[0, 1]) < 0.02


def _noise_of(noisy, clipped):
    return np.concatenate([(noisy[k].astype(np.float64) - clipped[k]).ravel() for k in sorted(clipped)])


def test_attack_regenerate_the_noise_from_a_guessed_seed_fails():
    """The attack of issue 16: whoever opens an update tries small seeds (and every value
    the command line or the artefact shows) and subtracts the regenerated noise. Before
    the fix the contributor seeded the noise with its training seed (0 by default)."""
    rng = np.random.default_rng(11)
    clipped = clip_update({"W0": rng.standard_normal((8, 3)).astype(np.float32), "b0": rng.standard_normal(3).astype(np.float32)}, 1.0)
    noisy = P.add_gaussian_noise(clipped, 1.0, 1.1)
    noise = _noise_of(noisy, clipped)
    std = 1.1
    # seeds 0..4999, and the values a contributor's command line or the artefact carry:
    # --seed, --epochs, --batch-size, the bounty id, the submission id, the base version.
    guesses = list(range(5_000)) + [64, 128, 2**31 - 1, 2**32 - 1, 123_456_789]
    for seed in guesses:
        for gen in (np.random.default_rng(seed), np.random.RandomState(seed)):
            candidate = np.concatenate([gen.normal(0.0, std, size=clipped[k].shape).ravel() for k in sorted(clipped)])
            # float32 rounding leaves ~1e-7 of difference; a regenerated noise would sit below 1e-5
            assert np.max(np.abs(candidate - noise)) > 1e-3, seed
    # The recovered-update attack: the best guess is no closer to the true update than noise is.
    assert np.linalg.norm(noise) > 0.5 * std * math.sqrt(noise.size)


def test_attack_difference_of_two_releases_with_the_same_seed_is_not_noise_free():
    """Two submissions made with the same training seed used to carry the same noise, so
    their difference was noise-free. Now every release draws fresh OS randomness."""
    clipped = clip_update({"W0": np.full((20, 5), 0.1, np.float32)}, 1.0)
    a = P.add_gaussian_noise(clipped, 1.0, 0.8)
    b = P.add_gaussian_noise(clipped, 1.0, 0.8)
    diff = (a["W0"].astype(np.float64) - b["W0"]).ravel()
    # the difference of two independent N(0, 0.8^2) draws has std 0.8 * sqrt(2)
    assert 0.8 < diff.std() < 1.5


def test_no_argument_sets_the_noise():
    import inspect

    for fn in (P.add_gaussian_noise, P.privatize):
        params = inspect.signature(fn).parameters
        assert not {"rng", "seed", "generator", "random_state"} & set(params), fn.__name__
    g1, g2 = P.os_generator(), P.os_generator()
    assert g1.bit_generator.state != g2.bit_generator.state


def test_an_unclipped_update_is_refused():
    update = {"W0": np.full((10, 10), 1.0, np.float32)}  # norm 10
    with pytest.raises(P.PrivacyError, match="exceeds clip_norm"):
        P.add_gaussian_noise(update, 5.0, 1.0)
    P.add_gaussian_noise(update, 10.0, 1.0)  # exactly at the bound is fine
    for bad in (0, -1.0, float("nan"), "x"):
        with pytest.raises(P.PrivacyError):
            P.add_gaussian_noise(update, 10.0, bad)


def test_privatize_clips_noises_and_states_the_release():
    update = {"W0": np.full((10, 10), 1.0, np.float32), "b0": np.ones(10, np.float32)}
    noisy, statement = P.privatize(update, clip_norm=1.0, noise_multiplier=1.1, delta=1e-5)
    assert statement.epsilon == P.epsilon_for(1.1, 1e-5)
    assert (statement.mechanism, statement.unit, statement.accountant, statement.clip_norm, statement.noise_std) == (
        "gaussian", "contribution", "prv", 1.0, 1.1)
    assert "PRV accountant" in str(statement) and "RDP" not in str(statement)
    assert P.PrivacyStatement.from_dict(statement.as_dict()) == statement
    assert update_norm(noisy) > 5  # the noise (std 1.1 on 110 coordinates) dominates the clipped signal


# ---------------------------------------------------------------------------------------
# The accountant: prv-accountant, checked against closed forms written out here
# ---------------------------------------------------------------------------------------


def accuracy(exact):
    """What the accountant is asked for: max(0.01, 1% of its quick RDP bound), that bound
    being below 2 * exact + 1 for these Gaussian releases; twice that, for the tests."""
    return 2 * P.eps_error(2 * exact + 1)


def exact_gdp_epsilon(mu, delta):
    """The exact epsilon of mu-GDP (Balle & Wang's formula), by bisection: an independent reference."""
    def d(eps):
        return Phi(mu / 2 - eps / mu) - math.exp(eps) * Phi(-mu / 2 - eps / mu)
    lo, hi = 0.0, 200.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if d(mid) > delta else (lo, mid)
    return hi


@pytest.mark.parametrize("z, delta", [(0.7, 1e-5), (1.0, 1e-5), (2.0, 1e-6), (4.0, 1e-9)])
def test_one_release_matches_the_analytic_gaussian_mechanism_from_above(z, delta):
    eps = P.epsilon_for(z, delta)
    exact = exact_gdp_epsilon(1 / z, delta)
    # the quoted epsilon is the accountant's upper bound: never below the truth, within its stated error
    assert exact - 1e-6 <= eps <= exact + accuracy(exact)
    assert balle_wang_delta(z, eps) <= delta * (1 + 1e-6)


def test_a_known_value():
    # sigma = 1, delta = 1e-5: the analytic Gaussian mechanism gives epsilon ~ 4.377.
    assert 4.3772 - 1e-4 <= P.epsilon_for(1.0, 1e-5) <= 4.3772 + accuracy(4.3772)


def test_heterogeneous_releases_compose_as_gdp_says():
    # Dong, Roth & Su: Gaussian releases compose to mu = sqrt(sum 1/z_i^2), exactly.
    releases = [P.Release("gaussian", z) for z in (1.0, 2.0, 2.0, 3.0)]
    mu = math.sqrt(1 + 0.25 + 0.25 + 1 / 9)
    eps = P.compose(releases, 1e-5)
    exact = exact_gdp_epsilon(mu, 1e-5)
    assert exact - 1e-6 <= eps <= exact + accuracy(exact)
    assert P.compose([], 1e-5) == 0.0
    assert P.compose(releases + [P.Release("none")], 1e-5) == math.inf
    # replace adjacency doubles the sensitivity: half the multiplier
    assert P.epsilon_for(3.0, 1e-5, adjacency="replace") == pytest.approx(P.epsilon_for(1.5, 1e-5), abs=1e-9)


def test_epsilon_falls_as_the_noise_grows_and_rises_with_releases():
    eps = [P.epsilon_for(z, 1e-6) for z in (0.5, 1.0, 2.0, 5.0, 10.0)]
    assert all(a > b for a, b in zip(eps, eps[1:]))
    by_releases = [P.epsilon_for(2.0, 1e-6, r) for r in (1, 2, 5, 20)]
    assert all(a < b for a, b in zip(by_releases, by_releases[1:]))


@pytest.mark.parametrize("kwargs, match", [({"delta": 0}, "delta"), ({"delta": 1.0}, "delta"), ({"releases": 0}, "releases"),
                                           ({"adjacency": "swap"}, "adjacency"), ({"noise_multiplier": -1}, "noise_multiplier"),
                                           ({"noise_multiplier": 0.01}, "protects nothing")])
def test_bad_accountant_arguments_are_refused(kwargs, match):
    args = {"noise_multiplier": 1.0, "delta": 1e-5} | kwargs
    with pytest.raises(P.PrivacyError, match=match):
        P.epsilon_for(**args)


def test_a_mixed_composition_is_stated_per_record_with_whole_data_set_releases_at_sensitivity_2c():
    mixed = [P.Release("gaussian", 2.0), P.Release("dp-sgd", 1.0, "add_remove", 0.1, 50)]
    from fathom.ml.privacy.accountant import unit_of

    assert unit_of(mixed) == "record" and unit_of(mixed[:1]) == "contribution"
    # the whole-data-set release counts with sensitivity 2C at record level: at least replace's epsilon
    assert P.compose(mixed, 1e-5) >= P.compose([P.Release("gaussian", 2.0, "replace")], 1e-5)
    assert P.compose(mixed, 1e-5) > P.compose(mixed[1:], 1e-5)


def test_the_accountant_is_pinned_where_a_fresh_setup_installs_it():
    """tools/setup.sh installs requirements.txt under constraints.txt: the accountant must be
    pinned in both, at the version this environment runs."""
    from importlib.metadata import version
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pin = f"prv-accountant=={version('prv-accountant')}"
    assert pin in (root / "requirements.txt").read_text().splitlines()
    assert pin in (root / "constraints.txt").read_text().splitlines()
    assert "requirements.txt -c constraints.txt" in (root / "tools" / "setup.sh").read_text()
