"""MATLAB's bicubic imresize, the Y channel and the SR scores (zoo.data.resize, zoo.metrics.psnr) against
hand-computed values; numpy only, so run once."""

import numpy as np
import pytest

from conftest import shared_data_dir
from zoo.data.resize import bicubic_pair, cubic, imresize, modcrop, resize_weights
from zoo.errors import InputError
from zoo.metrics.psnr import psnr, rgb_to_y, sr_scores

pytestmark = pytest.mark.backend_free

# Keys' kernel (a = -0.5) at the distances x2 upscaling and x1/2 downscaling use, worked out by hand
CUBIC = {0.25: 0.8671875, 0.75: 0.2265625, 1.25: -0.0703125, 1.75: -0.0234375}


def test_the_cubic_kernel_takes_its_hand_computed_values():
    assert cubic(list(CUBIC)) == pytest.approx(list(CUBIC.values()), abs=0)
    assert cubic([0, 1, 2, 2.5, -0.25]) == pytest.approx([1, 0, 0, 0, CUBIC[0.25]], abs=0)


def test_upscaling_a_row_by_two_weighs_its_neighbours_as_matlab():
    row = np.array([[1.0, 2.0, 4.0, 8.0]])
    out = imresize(row, 2)
    assert out.shape == (2, 8)
    np.testing.assert_array_equal(out[0], out[1])  # one input row: both output rows are it
    # output 1 sits at input 0.75 (1-based): taps 0, 1 mirror to 1 and -1 to 2 (MATLAB's [1:n, n:-1:1])
    first = (CUBIC[0.75] + CUBIC[0.25]) * 1 + (CUBIC[1.75] + CUBIC[1.25]) * 2
    # output 4 sits at input 2.25: taps 1..4, no mirroring
    fourth = CUBIC[1.25] * 1 + CUBIC[0.25] * 2 + CUBIC[0.75] * 4 + CUBIC[1.75] * 8
    assert out[0, 0] == pytest.approx(first, abs=1e-12) and first == pytest.approx(0.90625)
    assert out[0, 3] == pytest.approx(fourth, abs=1e-12) and fourth == pytest.approx(2.3828125)


def test_antialiased_downscaling_by_two_widens_the_kernel_and_weights_sum_to_one():
    weights = resize_weights(16, 8, 0.5)
    np.testing.assert_allclose(weights.sum(axis=1), 1, atol=1e-12)
    # output 4 (1-based) sits at input 7.5; the kernel 0.5 cubic(0.5 d) reaches 4 samples each side
    half = [0.5 * CUBIC[1.75], 0.5 * CUBIC[1.25], 0.5 * CUBIC[0.75], 0.5 * CUBIC[0.25]]
    expected = np.zeros(16)
    expected[3:11] = half + half[::-1]
    np.testing.assert_allclose(weights[3], expected, atol=1e-12)
    assert not np.allclose(resize_weights(16, 8, 0.5, antialias=False)[3], expected)


@pytest.mark.parametrize("shape, kwargs, out", [
    ((12, 9, 3), {"scale": 0.25}, (3, 3, 3)),
    ((5, 7), {"scale": 0.5}, (3, 4)),  # ceil, as MATLAB
    ((6, 4, 1), {"scale": 3}, (18, 12, 1)),
    ((10, 10), {"output_shape": (7, 13)}, (7, 13)),
])
def test_a_constant_image_stays_constant(shape, kwargs, out):
    resized = imresize(np.full(shape, 0.3, np.float32), **kwargs)
    assert resized.shape == out and resized.dtype == np.float32
    np.testing.assert_allclose(resized, 0.3, atol=1e-6)


def test_uint8_images_are_rounded_after_each_pass_and_quantize_does_the_same_on_floats():
    image = np.random.default_rng(0).integers(64, 192, (9, 11, 3)).astype(np.uint8)  # no overshoot to clip
    small = imresize(image, 0.5)
    assert small.dtype == np.uint8
    float_path = imresize(image / 255.0, 0.5)
    assert 0 < np.abs(small - float_path * 255).max() <= 1  # rounded, not another resize
    quantized = imresize(image / 255.0, 0.5, quantize=True)
    np.testing.assert_array_equal(quantized * 255, small)  # whole numbers, those of the uint8 path


def test_modcrop_and_bicubic_pair_crop_to_multiples_of_the_scale():
    hr = np.random.default_rng(1).integers(0, 256, (23, 18, 3)).astype(np.uint8)
    assert modcrop(hr, 4).shape == (20, 16, 3) and modcrop(hr[..., 0], 3).shape == (21, 18)
    lr, cropped = bicubic_pair(hr, 4)
    assert lr.shape == (5, 4, 3) and lr.dtype == cropped.dtype == np.float32
    np.testing.assert_array_equal(cropped, hr[:20, :16] / np.float32(255))
    np.testing.assert_allclose(lr * 255, np.round(lr * 255), atol=1e-4)  # 8-bit levels, as MATLAB on uint8
    same, _ = bicubic_pair(hr / 255.0, 4)  # a [0, 1] float image gives the same LR
    np.testing.assert_array_equal(same, lr)
    unrounded, _ = bicubic_pair(hr, 4, quantize=False)
    assert np.abs(unrounded - lr).max() < 1 / 255 and not np.array_equal(unrounded, lr)  # rounded twice


def test_rgb_to_y_is_matlabs_rgb2ycbcr_luma_and_grey_passes_through():
    pixels = np.array([[[1, 1, 1], [0, 0, 0], [1, 0, 0], [0.2, 0.4, 0.6]]])
    y = rgb_to_y(pixels)
    assert y.shape == (1, 4, 1)
    expected = [235 / 255, 16 / 255, (16 + 65.481) / 255, (16 + 65.481 * 0.2 + 128.553 * 0.4 + 24.966 * 0.6) / 255]
    np.testing.assert_allclose(y[0, :, 0], expected, atol=1e-12)
    assert rgb_to_y(np.stack([pixels] * 2)).shape == (2, 1, 4, 1)  # a batch
    grey = np.random.default_rng(2).uniform(size=(6, 5, 1))
    assert rgb_to_y(grey) is grey
    np.testing.assert_array_equal(rgb_to_y(grey[..., 0]), grey[..., 0])


def test_sr_scores_crop_the_border_and_score_y_on_8_bits():
    rng = np.random.default_rng(3)
    hr = rng.integers(0, 256, (32, 30, 3)).astype(np.uint8)
    sr = hr.copy()
    sr[:4] = 0
    sr[:, -4:] = 255  # wrong only within the 4-pixel border
    assert sr_scores(hr, sr, 4) == {"psnr": np.inf, "ssim": pytest.approx(1.0)}
    assert sr_scores(hr, sr, 3)["psnr"] < 20
    noisy = np.clip(hr / 255.0 + 0.02 * rng.standard_normal(hr.shape), 0, 1)
    y_hr = rgb_to_y(hr / 255.0)[4:-4, 4:-4]
    y_sr = rgb_to_y(np.round(noisy * 255) / 255)[4:-4, 4:-4]  # the SR image is taken to 8 bits first
    assert sr_scores(hr, noisy, 4)["psnr"] == pytest.approx(psnr(y_hr, y_sr), abs=1e-9)
    assert sr_scores(hr[..., :1], noisy[..., :1], 4)["psnr"] == pytest.approx(  # grey: its own Y
        psnr(hr[4:-4, 4:-4, :1] / 255.0, np.round(noisy[4:-4, 4:-4, :1] * 255) / 255), abs=1e-9)


def test_bicubic_x4_gives_srcnns_per_image_psnr_on_set5():
    """Dong et al. 2014 (SRCNN), Table: bicubic x4 on Set5 baby 31.78 dB, butterfly 22.10 dB."""
    from zoo.data import natural
    from zoo.data.images import read_image_file

    root = shared_data_dir("sr_benchmarks/Set5/baby.png", "Set5")
    for name, expected in (("baby", 31.78), ("butterfly", 22.10)):
        path = next(f for f in natural.image_files("set5", root) if f.stem == name)
        lr, hr = bicubic_pair(read_image_file(path), 4)
        assert sr_scores(hr, imresize(lr, 4, quantize=True), 4)["psnr"] == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("call, match", [
    (lambda: imresize(np.full((4, 4), np.nan), 0.5), "NaN"),
    (lambda: imresize(np.zeros(8), 0.5), "shape"),
    (lambda: imresize(np.zeros((2, 8, 8, 3)), 0.5), "shape"),
    (lambda: imresize(np.zeros((8, 8, 4)), 0.5), "alpha"),
    (lambda: imresize(np.zeros((8, 8, 2)), 0.5), "grey"),
    (lambda: imresize(np.zeros((8, 8), np.int32), 0.5), "dtype"),
    (lambda: imresize(np.zeros((0, 8)), 0.5), "empty"),
    (lambda: imresize(np.zeros((8, 8)), 0), "positive"),
    (lambda: imresize(np.zeros((8, 8)), -2), "positive"),
    (lambda: imresize(np.zeros((8, 8)), output_shape=(0, 4)), "at least one pixel"),
    (lambda: imresize(np.zeros((8, 8))), "neither"),
    (lambda: imresize(np.zeros((8, 8)), 2, output_shape=(4, 4)), "both"),
    (lambda: modcrop(np.zeros((3, 8)), 4), "smaller than the scale"),
    (lambda: bicubic_pair(np.zeros((3, 3, 3)), 4), "smaller than the scale"),
    (lambda: bicubic_pair(np.full((8, 8), 2.0), 4), r"\[0, 1\]"),
    (lambda: rgb_to_y(np.zeros((8, 8, 4))), "RGB"),
    (lambda: sr_scores(np.zeros((16, 16)), np.zeros((16, 12)), 4), "one shape"),
    (lambda: sr_scores(np.zeros((8, 8)), np.zeros((8, 8)), 4), "leaves nothing"),
])
def test_bad_input_gets_a_clear_error(call, match):
    with pytest.raises(InputError, match=match):
        call()
