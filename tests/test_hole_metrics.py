"""Completion scores on the hole only (zoo.metrics.hole) against hand-computed values; numpy only, so run once."""

import math

import numpy as np
import pytest

from zoo.errors import InputError
from zoo.metrics.hole import hole_scores, mean_hole_scores, ssim_box
from zoo.metrics.ssim import ssim

pytestmark = pytest.mark.backend_free


def _pair(channels=None, shape=(20, 24)):
    rng = np.random.default_rng(0)
    original = rng.uniform(0.3, 0.6, shape if channels is None else (*shape, channels))
    mask = np.zeros(shape, bool)
    mask[4:16, 6:18] = True  # 12x12: SSIM's box is the hole itself
    return original, mask


def test_psnr_and_l1_are_taken_over_the_holes_pixels_only():
    original, mask = _pair()
    completed = original.copy()
    completed[mask] += 0.1  # MSE 0.01 in the hole: 20 dB, L1 0.1
    completed[~mask] = 0.0  # outside the hole: not scored
    scores = hole_scores(original, completed, mask)
    assert scores["psnr"] == pytest.approx(20.0, abs=1e-9)
    assert scores["l1"] == pytest.approx(0.1, abs=1e-12)


def test_colour_psnr_averages_the_squared_errors_of_all_channels():
    original, mask = _pair(channels=3)
    completed = original.copy()
    completed[mask] += np.array([0.1, -0.2, 0.2])  # MSE (0.01 + 0.04 + 0.04) / 3 = 0.03
    scores = hole_scores(original, completed, mask)
    assert scores["psnr"] == pytest.approx(10 * math.log10(1 / 0.03), abs=1e-9)
    assert scores["l1"] == pytest.approx(0.5 / 3, abs=1e-12)


def test_ssim_is_the_zoos_on_the_holes_box_and_a_perfect_fill_scores_perfectly():
    original, mask = _pair(channels=3)
    rng = np.random.default_rng(1)
    completed = np.clip(original + rng.normal(0, 0.05, original.shape), 0, 1)
    assert hole_scores(original, completed, mask)["ssim"] == pytest.approx(
        ssim(original[4:16, 6:18], completed[4:16, 6:18]), abs=1e-12)
    perfect = hole_scores(original, original.copy(), mask[..., None])
    assert perfect == {"psnr": 100.0, "ssim": pytest.approx(1.0, abs=1e-12), "l1": 0.0}


def test_a_small_holes_box_grows_to_ssims_window_inside_the_image():
    mask = np.zeros((32, 32), bool)
    mask[15:18, 15:18] = True  # 3x3: 8 more rows and columns, 4 each side
    assert ssim_box(mask) == (11, 11, 22, 22)
    mask[:] = False
    mask[0:2, 29:32] = True  # at a corner: shifted back inside
    assert ssim_box(mask) == (0, 21, 11, 32)
    mask[:] = False
    mask[5:25, 10:14] = True  # 20 rows stay, 4 columns grow to 11: 3 left, 4 right
    assert ssim_box(mask) == (5, 7, 25, 18)
    original, _ = _pair()
    small = np.zeros(original.shape, bool)
    small[0, 0] = True
    completed = original.copy()
    completed[0, 0] = 1.0
    expected = ssim(original[:11, :11], completed[:11, :11])
    assert hole_scores(original, completed, small)["ssim"] == pytest.approx(expected, abs=1e-12)


def test_mean_hole_scores_average_the_per_image_scores():
    original, mask = _pair()
    originals = np.stack([original, original])
    completions = originals.copy()
    completions[0][mask] += 0.1
    completions[1][mask] -= 0.01
    out = mean_hole_scores(originals, completions, np.stack([mask, mask]))
    assert out["per_image"]["psnr"] == pytest.approx([20.0, 40.0], abs=1e-9)
    assert out["psnr"] == pytest.approx(30.0, abs=1e-9)
    assert out["l1"] == pytest.approx(0.055, abs=1e-12)
    assert out["ssim"] == pytest.approx(np.mean(out["per_image"]["ssim"]), abs=1e-15)
    assert out["per_image"]["ssim"][1] == hole_scores(original, completions[1], mask)["ssim"]
    colour = mean_hole_scores(originals[..., None], completions[..., None], np.stack([mask, mask])[..., None])
    assert colour["psnr"] == pytest.approx(30.0, abs=1e-9)


def test_bad_inputs_are_named():
    original, mask = _pair()
    with pytest.raises(InputError, match=r"original and the completed image of one shape; got \(20, 24\) and "
                                         r"\(20, 23\)"):
        hole_scores(original, original[:, :23], mask)
    with pytest.raises(InputError, match="completed has dtype uint8; expected floats in .0, 1.. uint8 images must "
                                         "be divided by 255"):
        hole_scores(original, (original * 255).astype(np.uint8), mask)
    with pytest.raises(InputError, match=r"values in \[0\.8\d*, 1\.\d+\]; expected \[0, 1\]\. Clip"):
        hole_scores(original, original + 0.5, mask)
    with pytest.raises(InputError, match="mask is empty .no True pixel.: there is no hole to score"):
        hole_scores(original, original, np.zeros_like(mask))
    with pytest.raises(InputError, match=r"mask has shape \(20, 20\); expected .*\(20, 24\)"):
        hole_scores(original, original, mask[:, :20])
    with pytest.raises(InputError, match="at least 11x11 pixels; got 8x24"):
        hole_scores(original[:8], original[:8], mask[:8])
    with pytest.raises(InputError, match="mask 1 is empty"):
        mean_hole_scores(np.stack([original] * 2), np.stack([original] * 2), np.stack([mask, np.zeros_like(mask)]))
    with pytest.raises(InputError, match="must be binary"):
        hole_scores(original, original, mask * 255)
