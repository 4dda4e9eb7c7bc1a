"""The scale prior of a new SKU: comparable recent launches, shrunk toward the parent group."""

import numpy as np
import pytest

from forecasting.launches import launch_prior


def test_launch_prior_is_the_shrunk_mean_scale_of_recent_launches_in_the_group():
    # SKUs 0-3 launched in the last 52 weeks (n_weeks 100), SKU 4 long ago, SKUs 5-6 in the future.
    observed = np.array([4.0, 8.0, 2.0, 2.0, 50.0, 0.0, 0.0])
    expected = np.array([2.0, 4.0, 4.0, 4.0, 10.0, 0.0, 0.0])
    launch = np.array([60, 70, 80, 90, 5, 101, 105])
    brand = np.array([0, 0, 1, 1, 0, 0, 1])
    everyone = np.zeros(7, dtype=np.int64)
    prior = launch_prior(observed, expected, launch, 100, (brand, everyone), 1.0, strength=4.0)
    # All recent launches: scales 2, 2, 0.5, 0.5 (the old SKU's 5 is not a launch).
    top = (5.0 + 4 * 1.0) / (4 + 4)
    assert prior[5] == pytest.approx((4.0 + 4 * top) / (2 + 4))  # brand 0: scales 2, 2
    assert prior[6] == pytest.approx((1.0 + 4 * top) / (2 + 4))  # brand 1: scales 0.5, 0.5
    assert prior[5] > top > prior[6]


def test_launch_prior_without_recent_launches_is_the_fallback():
    observed = np.array([50.0, 0.0])
    expected = np.array([10.0, 0.0])
    prior = launch_prior(observed, expected, np.array([0, 120]), 100, (np.zeros(2, dtype=np.int64),), 0.6)
    np.testing.assert_allclose(prior, 0.6)


def test_launch_prior_ignores_launches_with_too_little_evidence():
    observed = np.array([3.0, 0.0])
    expected = np.array([0.5, 0.0])  # below min_expected: its ratio of 6 is noise
    prior = launch_prior(observed, expected, np.array([95, 120]), 100, (np.zeros(2, dtype=np.int64),), 0.6)
    np.testing.assert_allclose(prior, 0.6)
