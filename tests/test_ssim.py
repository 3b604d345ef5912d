"""SSIM (Wang et al. 2004) against TensorFlow's tf.image.ssim and closed forms; numpy only, so run once."""

import numpy as np
import pytest

from zoo.errors import InputError
from zoo.metrics import ssim

pytestmark = pytest.mark.backend_free


def pair(shape, seed=0):
    rng = np.random.default_rng(seed)
    clean = rng.uniform(size=shape)
    return clean, np.clip(clean + 0.1 * rng.standard_normal(shape), 0, 1)


@pytest.mark.parametrize("shape", [(3, 32, 40, 1), (2, 20, 17, 3)])
def test_ssim_equals_tensorflows_on_grey_and_colour_batches(shape):
    import tensorflow as tf

    clean, estimate = pair(shape)
    expected = tf.image.ssim(tf.constant(clean), tf.constant(estimate), max_val=1.0).numpy()
    np.testing.assert_allclose(ssim(clean, estimate), expected, rtol=1e-5, atol=1e-6)
    assert ssim(clean[0], estimate[0]) == pytest.approx(float(expected[0]), abs=1e-6)  # one image: a float


def test_ssim_of_identical_images_is_one_and_the_peak_sets_the_scale():
    clean, estimate = pair((24, 24))
    assert ssim(clean, clean) == pytest.approx(1.0)
    assert ssim(clean * 255, estimate * 255, peak=255) == pytest.approx(ssim(clean, estimate))
    # a constant image against another constant: only the luminance term, (2ab + c1) / (a^2 + b^2 + c1)
    a, b, c1 = 0.2, 0.6, 0.01 ** 2
    assert ssim(np.full((16, 16), a), np.full((16, 16), b)) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1))


@pytest.mark.parametrize("clean, estimate, match", [
    (np.zeros((16, 16)), np.zeros((16, 15)), "one shape"),
    (np.zeros((8, 8)), np.zeros((8, 8)), "at least that size"),
    (np.zeros(16), np.zeros(16), "shape"),
    (np.zeros((16, 16)), np.full((16, 16), np.nan), "NaN"),
])
def test_ssim_refuses_what_it_cannot_score(clean, estimate, match):
    with pytest.raises(InputError, match=match):
        ssim(clean, estimate)
