"""The sliced Wasserstein distance of Karras et al. 2018 (zoo.metrics.swd): the pyramid against scipy and OpenCV,
known distances, symmetry, determinism, errors. Numpy only, so run once."""

import numpy as np
import pytest

from zoo.errors import InputError
from zoo.metrics.swd import (
    laplacian_pyramid,
    normalize_descriptors,
    patch_descriptors,
    patch_positions,
    pyr_down,
    pyr_up,
    reconstruct_laplacian_pyramid,
    sliced_wasserstein,
    sliced_wasserstein_distance,
)

pytestmark = pytest.mark.backend_free

# The authors' 5x5 filter (metrics/sliced_wasserstein.py), applied with scipy as they do.
GAUSSIAN = np.float32([[1, 4, 6, 4, 1], [4, 16, 24, 16, 4], [6, 24, 36, 24, 6], [4, 16, 24, 16, 4],
                       [1, 4, 6, 4, 1]]) / 256.0


def uniform(shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


def smooth(n, seed, size=32, channels=3):
    """Smooth random images: 8x8 uniform noise brought up to `size` by pyrUp."""
    x = uniform((n, 8, 8, channels), seed)
    while x.shape[1] < size:
        x = pyr_up(x)
    return x


def test_the_pyramid_steps_are_the_authors_scipy_filters_and_opencvs():
    import cv2
    import scipy.ndimage

    x = uniform((2, 16, 12, 3))
    down = scipy.ndimage.convolve(x, GAUSSIAN[None, :, :, None], mode="mirror")[:, ::2, ::2]
    np.testing.assert_allclose(pyr_down(x), down, atol=1e-6)
    zeros = np.zeros((2, 32, 24, 3), np.float32)
    zeros[:, ::2, ::2] = x
    up = scipy.ndimage.convolve(zeros, 4 * GAUSSIAN[None, :, :, None], mode="mirror")
    np.testing.assert_allclose(pyr_up(x), up, atol=1e-6)
    for image, down_image, up_image in zip(x, pyr_down(x), pyr_up(x)):
        np.testing.assert_allclose(down_image, cv2.pyrDown(image), atol=1e-6)
        np.testing.assert_allclose(up_image, cv2.pyrUp(image), atol=1e-6)


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_the_laplacian_pyramid_reconstructs_the_images(levels):
    x = uniform((3, 32, 16, 3))
    pyramid = laplacian_pyramid(x, levels)
    assert [p.shape for p in pyramid] == [(3, 32 // 2 ** k, 16 // 2 ** k, 3) for k in range(levels)]
    low_pass = x
    for _ in range(levels - 1):
        low_pass = pyr_down(low_pass)
    np.testing.assert_allclose(pyramid[-1], low_pass, atol=1e-6)  # the last level is the low-pass image
    if levels > 1:  # the others are band-pass: the finest is the image less its blurred self
        np.testing.assert_allclose(pyramid[0], x - pyr_up(pyr_down(x)), atol=1e-6)
    np.testing.assert_allclose(reconstruct_laplacian_pyramid(pyramid), x, atol=1e-5)
    with pytest.raises(InputError, match="divisible by"):
        laplacian_pyramid(uniform((1, 18, 16, 1)), 3)


def test_descriptors_are_the_patches_at_the_positions_normalised_per_channel():
    x = uniform((2, 16, 16, 3))
    rows, cols = patch_positions(2, 16, 16, patch_size=7, patches_per_image=5, seed=0)
    assert rows.shape == (2, 5) and rows.max() <= 9 and cols.min() >= 0
    d = patch_descriptors(x, rows, cols, 7)
    assert d.shape == (10, 7 * 7 * 3)
    np.testing.assert_array_equal(d[6].reshape(7, 7, 3), x[1, rows[1, 1]:rows[1, 1] + 7, cols[1, 1]:cols[1, 1] + 7])
    scaled = (d.reshape(10, 49, 3) * np.float32([1, 10, 100]) + 5).reshape(10, -1)
    normal = normalize_descriptors(scaled, 3).reshape(10, 49, 3)
    np.testing.assert_allclose(normal.mean(axis=(0, 1)), 0, atol=1e-5)
    np.testing.assert_allclose(normal.std(axis=(0, 1)), 1, atol=1e-5)


def test_the_distance_of_shifted_points_is_the_mean_projected_shift():
    points = np.random.default_rng(0).standard_normal((1000, 1)).astype(np.float32)
    # One dimension: every direction is +-1, so the sorted projections differ by the shift exactly.
    assert sliced_wasserstein_distance(points, points + 0.3) == pytest.approx(0.3, abs=1e-6)
    assert sliced_wasserstein_distance(points, points + 0.1) == pytest.approx(0.1, abs=1e-6)
    # Two: E|t . u| over unit directions u is 2 |t| / pi; 512 directions get within a few percent.
    plane = np.random.default_rng(1).standard_normal((500, 2)).astype(np.float32)
    shifted = sliced_wasserstein_distance(plane, plane + np.float32([0.3, 0.4]))
    assert shifted == pytest.approx(2 * 0.5 / np.pi, rel=0.05)
    assert sliced_wasserstein_distance(plane, plane) == 0.0


def test_identical_sets_are_at_zero_and_the_distance_is_symmetric_and_seeded():
    a, b = smooth(12, 0), smooth(12, 1)
    same = sliced_wasserstein(a, a, patches_per_image=32)
    assert same["per_level"] == {32: 0.0, 16: 0.0} and same["mean"] == 0.0
    ab = sliced_wasserstein(a, b, patches_per_image=32)
    assert set(ab["per_level"]) == {32, 16} and ab["mean"] == pytest.approx(np.mean(list(ab["per_level"].values())))
    assert ab == sliced_wasserstein(b, a, patches_per_image=32)  # the same positions and directions for both sets
    assert ab == sliced_wasserstein(a, b, patches_per_image=32)  # seeded
    assert ab != sliced_wasserstein(a, b, patches_per_image=32, seed=1)
    assert ab == sliced_wasserstein(a, b, patches_per_image=32, batch_size=5)  # batching saves memory only
    assert ab["mean"] > 1.0


def test_a_larger_change_gives_a_larger_distance():
    # Smooth images against the same kind with white noise added: the finest level (where the noise lives) and
    # the mean grow with its amplitude; the coarse, low-pass level hardly moves.
    real, other = smooth(16, 0), smooth(16, 1)
    noise = np.random.default_rng(2).standard_normal(other.shape).astype(np.float32)
    scores = [sliced_wasserstein(real, other + s * noise, patches_per_image=64) for s in (0.0, 0.03, 0.3)]
    fine = [s["per_level"][32] for s in scores]
    assert fine[0] < fine[1] < fine[2] and fine[2] > 2 * fine[0]
    assert scores[0]["mean"] < scores[1]["mean"] < scores[2]["mean"]


def test_each_set_is_normalised_on_its_own_so_brightness_and_contrast_do_not_count():
    # As the authors' finalize_descriptors: a per-channel affine change of one set is normalised away.
    a = smooth(8, 0)
    assert sliced_wasserstein(a, 2.0 * a + 0.3, patches_per_image=32)["mean"] < 0.01
    as_uint8, b = np.round(255 * a).astype(np.uint8), smooth(8, 1)  # 8-bit images score as the same in [0, 1]
    assert sliced_wasserstein(as_uint8, b, patches_per_image=32)["mean"] == pytest.approx(
        sliced_wasserstein(as_uint8 / np.float32(255), b, patches_per_image=32)["mean"], rel=1e-4)


def test_grey_images_and_bad_inputs():
    grey = smooth(4, 0, channels=1)[..., 0]
    assert set(sliced_wasserstein(grey, smooth(4, 1, channels=1)[..., 0], patches_per_image=8)["per_level"]) == {32, 16}
    assert set(sliced_wasserstein(smooth(2, 0, size=64), smooth(2, 1, size=64), patches_per_image=4)["per_level"]) \
        == {64, 32, 16}
    with pytest.raises(InputError, match="one shape"):
        sliced_wasserstein(smooth(4, 0), smooth(3, 1))
    with pytest.raises(InputError, match="at least 16"):
        sliced_wasserstein(uniform((4, 8, 8, 3)), uniform((4, 8, 8, 3)))
    bad = smooth(4, 0)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        sliced_wasserstein(bad, smooth(4, 1))
    with pytest.raises(InputError, match="divisible by 4"):  # 66, 33, 16: three levels
        sliced_wasserstein(uniform((1, 66, 66, 1)), uniform((1, 66, 66, 1)))
    with pytest.raises(InputError, match="non-empty"):
        sliced_wasserstein(np.zeros((0, 16, 16, 3)), np.zeros((0, 16, 16, 3)))
