import math

import numpy as np
import pytest
import torch

from neuroplastic import metrics as M

# R[i, j]: accuracy on experience j after training experience i
R = np.array([
    [0.9, 0.1, 0.0],
    [0.6, 0.8, 0.2],
    [0.5, 0.7, 0.95],
])
B = [0.1, 0.1, 0.1]


def test_average_accuracy():
    assert M.average_accuracy(R) == pytest.approx((0.5 + 0.7 + 0.95) / 3)


def test_backward_transfer():
    assert M.backward_transfer(R) == pytest.approx(((0.5 - 0.9) + (0.7 - 0.8)) / 2)


def test_forward_transfer():
    assert M.forward_transfer(R, B) == pytest.approx(((0.1 - 0.1) + (0.2 - 0.1)) / 2)


def test_forgetting_uses_the_best_earlier_accuracy():
    # task 0: max(0.9, 0.6) - 0.5 = 0.4 ; task 1: max(0.8) - 0.7 = 0.1
    assert M.forgetting(R) == pytest.approx((0.4 + 0.1) / 2)


def test_average_incremental_accuracy():
    expected = (0.9 + (0.6 + 0.8) / 2 + (0.5 + 0.7 + 0.95) / 3) / 3
    assert M.average_incremental_accuracy(R) == pytest.approx(expected)


def test_single_experience_and_shape_errors():
    assert math.isnan(M.backward_transfer([[0.5]])) and math.isnan(M.forgetting([[0.5]]))
    with pytest.raises(ValueError, match="square"):
        M.average_accuracy([[0.1, 0.2]])


nan = float("nan")
# evaluations x experiences; experience 0 trained over evals 0-2, experience 1 over 3-5
CURVE = np.array([
    [0.2, nan], [0.8, nan], [0.9, nan],     # training 0
    [0.9, 0.3], [0.4, 0.7], [0.6, 0.9],     # training 1: stability gap on 0 (0.9 -> 0.4 -> 0.6)
    [0.7, 0.9],                             # end
])
BOUNDARIES = [3, 6]     # first evaluation after each experience's training ended
STARTS = [0, 3]


def test_min_acc_and_wc_acc():
    assert M.min_acc(CURVE, BOUNDARIES) == pytest.approx(0.4)
    assert M.wc_acc(CURVE, BOUNDARIES) == pytest.approx(0.9 / 2 + 0.5 * 0.4)


def test_windowed_forgetting_and_plasticity():
    # w = 3 on experience 0: drops inside any 3 consecutive values; largest is 0.9 -> 0.4 = 0.5
    # experience 1 never drops
    assert M.windowed_forgetting(CURVE, 3) == pytest.approx((0.5 + 0.0) / 2)
    # rises: experience 0: 0.2 -> 0.9 = 0.7 (within 3); experience 1: 0.3 -> 0.9 = 0.6
    assert M.windowed_plasticity(CURVE, 3) == pytest.approx((0.7 + 0.6) / 2)
    # a window of 2 sees only neighbours: exp 0 largest drop 0.5 (0.9 -> 0.4), rise 0.6 (0.2 -> 0.8)
    assert M.windowed_plasticity(CURVE, 2) == pytest.approx((0.6 + 0.4) / 2)


def test_learning_curve_area():
    # beta = 1: mean of the first two evaluations of each experience from its start
    assert M.learning_curve_area(CURVE, STARTS, beta=1) == pytest.approx(((0.2 + 0.8) / 2 + (0.3 + 0.7) / 2) / 2)
    assert M.learning_curve_area(CURVE, STARTS, 1, BOUNDARIES) == pytest.approx(((0.2 + 0.8) / 2 + (0.3 + 0.7) / 2) / 2)
    # beta = 2: all three in-experience evaluations of each experience
    assert M.learning_curve_area(CURVE, STARTS, 2, BOUNDARIES) == pytest.approx(((0.2 + 0.8 + 0.9) + (0.3 + 0.7 + 0.9)) / 6)


def test_learning_curve_area_never_reads_past_the_experience():
    """Experience 0 has 3 evaluations while it trains: beta = 3 asks for 4, so it gives none
    (no evaluation taken while experience 1 trains counts), and neither does experience 1."""
    assert math.isnan(M.learning_curve_area(CURVE, STARTS, 3, BOUNDARIES))
    long = np.vstack([CURVE[:6], [[0.8, 0.95]], [[0.7, 0.9]]])      # experience 1 trains for 4 evaluations
    assert M.learning_curve_area(long, STARTS, 3, [3, 7]) == pytest.approx((0.3 + 0.7 + 0.9 + 0.95) / 4)


def test_plasticity_figures():
    h = torch.tensor([[1.0, 0.0, 2.0, 0.0], [3.0, 0.0, 0.0, 0.0]])
    assert M.fraction_active(h) == pytest.approx(3 / 8)
    # mean |h| per unit: [2, 0, 1, 0]; normalised by its mean 0.75 -> [2.67, 0, 1.33, 0]
    assert M.dormant_ratio(h, tau=0.1) == pytest.approx(0.5)
    assert M.effective_rank(torch.eye(4)) == pytest.approx(4.0)
    assert M.effective_rank(torch.ones(5, 3)) == pytest.approx(1.0)
    w0 = torch.ones(2, 2)
    assert M.relative_weight_change(w0 * 1.5, w0) == pytest.approx(0.5)


def test_mean_ci_matches_the_t_distribution():
    # n = 4, mean 2.5, sd 1.29099, t_{0.975, 3} = 3.182446 -> half-width 2.054
    m, lo, hi = M.mean_ci([1.0, 2.0, 3.0, 4.0])
    assert m == pytest.approx(2.5)
    assert (hi - lo) / 2 == pytest.approx(3.182446 * 1.2909944 / 2, rel=1e-5)
    m1, lo1, hi1 = M.mean_ci([3.0, nan])
    assert m1 == 3.0 and math.isnan(lo1) and math.isnan(hi1)


def test_paired_test_on_a_hand_made_case():
    # differences 1, 2, 3: mean 2, sd 1, t = 2 / (1 / sqrt(3)) = 3.4641, df = 2 -> p = 0.07418
    p, name = M.paired_test([11.0, 12.0, 13.0], [10.0, 10.0, 10.0])
    assert name == "paired t-test" and p == pytest.approx(0.074180, abs=1e-5)
    p_same, _ = M.paired_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert p_same == 1.0
    p_shift, _ = M.paired_test([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])   # constant non-zero difference
    assert p_shift == 0.0
    assert math.isnan(M.paired_test([1.0], [2.0])[0])
    with pytest.raises(ValueError, match="matched"):
        M.paired_test([1.0, 2.0], [1.0])
