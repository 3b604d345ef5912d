"""Classical hole filling and the paper's post-processing (zoo.models.classical_fill) on tiny images: known pixels
kept exactly, fills that are exact where theory says so, the Poisson equation by hand, and OpenCV's seamless
cloning matched; numpy, scikit-image and OpenCV only, so run once."""

import numpy as np
import pytest

from zoo.data.masks import free_form_masks
from zoo.data.resize import to_uint8
from zoo.errors import InputError
from zoo.models import classical_fill as fill

pytestmark = pytest.mark.backend_free

FILLS = {**fill.BASELINES,
         "poisson": lambda image, mask: fill.poisson_blend(image, np.clip(image[::-1] + 0.1, 0, 1), mask),
         "postprocess": lambda image, mask: fill.postprocess(image, np.clip(image[::-1] + 0.1, 0, 1), mask)}


def _ramp(shape=(24, 28), channels=None):
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    grey = 0.1 + 0.02 * y + 0.015 * x
    return grey if channels is None else grey[..., None] * np.linspace(1, 0.6, channels)


def _smooth(size=64):
    y, x = np.mgrid[0:size, 0:size] / size
    return np.stack([0.3 + 0.3 * np.sin(3 * x + 2 * y), 0.5 + 0.2 * np.cos(4 * y), 0.4 + 0.3 * x * y], axis=-1)


def test_the_baselines_are_the_issues():
    assert fill.BASELINES == {"mean": fill.mean_fill, "biharmonic": fill.biharmonic_fill, "telea": fill.telea_fill}


@pytest.mark.parametrize("name", list(FILLS))
@pytest.mark.parametrize("channels", [None, 1, 3])
def test_fills_keep_the_known_pixels_exactly_and_the_shape_and_dtype(name, channels):
    rng = np.random.default_rng(0)
    image = rng.random((32, 32) if channels is None else (32, 32, channels)).astype(np.float32)
    mask = free_form_masks(1, 32, seed=0)[0]
    out = FILLS[name](image, mask)
    assert out.shape == image.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert not np.array_equal(out[mask], image[mask])
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(FILLS[name](image, np.zeros((32, 32), bool)), image)  # empty mask: unchanged


def test_mean_fill_takes_the_known_pixels_mean_per_channel_or_a_given_colour():
    image = np.zeros((4, 4, 2))
    image[..., 0], image[..., 1] = 0.2, 0.6
    image[0, 0] = (1.0, 1.0)  # the 12 known pixels: 11 at (0.2, 0.6) and this one
    mask = np.zeros((4, 4), bool)
    mask[2:, 2:] = True
    image[mask] = 0.9  # the hole's own pixels do not count
    out = fill.mean_fill(image, mask)
    np.testing.assert_allclose(out[mask], [[(11 * 0.2 + 1) / 12, (11 * 0.6 + 1) / 12]] * 4, atol=1e-15)
    np.testing.assert_array_equal(fill.mean_fill(image, mask, value=(0.5, 0.25))[mask], [[0.5, 0.25]] * 4)
    np.testing.assert_array_equal(fill.mean_fill(image[..., 0], mask, value=0.5)[mask], [0.5] * 4)
    with pytest.raises(InputError, match=r"value must be a number in \[0, 1\] or one per channel \(2\)"):
        fill.mean_fill(image, mask, value=(0.1, 0.2, 0.3))


@pytest.mark.parametrize("channels", [None, 3])
def test_biharmonic_fills_a_linear_ramp_back_exactly(channels):
    image = _ramp(channels=channels)
    mask = np.zeros(image.shape[:2], bool)
    mask[6:17, 5:20] = True
    out = fill.biharmonic_fill(image, mask)
    np.testing.assert_allclose(out, image, atol=1e-9)


def test_telea_fills_a_flat_image_exactly_on_eight_bits():
    image = np.full((20, 20, 3), 0.25)  # 63.75 -> 64 on 8 bits
    mask = np.zeros((20, 20), bool)
    mask[5:12, 6:15] = True
    out = fill.telea_fill(image, mask)
    np.testing.assert_array_equal(out[mask], 64 / 255)
    np.testing.assert_array_equal(out[~mask], 0.25)
    ramp = _ramp((20, 20))
    filled = fill.telea_fill(ramp, mask, radius=5)[mask]
    np.testing.assert_allclose(filled * 255, np.round(filled * 255), atol=1e-9)  # multiples of 1/255
    assert np.abs(filled - ramp[mask]).max() < 0.08
    with pytest.raises(InputError, match="radius must be a positive number of pixels; got 0"):
        fill.telea_fill(ramp, mask, radius=0)


def test_poisson_blending_with_the_images_own_gradient_gives_the_image_back():
    image = _smooth(32)
    masks = free_form_masks(3, 32, seed=2)  # strokes reach the image's border: Neumann there
    assert any(m[0].any() or m[-1].any() or m[:, 0].any() or m[:, -1].any() for m in masks)
    for mask in masks:
        np.testing.assert_allclose(fill.poisson_blend(image, image + 0.3, mask), image,
                                   atol=1e-12)
        # a border fill with the image's gradient too, and a wrong fill in a core that the margin leaves empty
        np.testing.assert_allclose(fill.poisson_blend(image, np.random.default_rng(0).random(image.shape), mask,
                                                      border_fill=image - 0.2, margin=32), image,
                                   atol=1e-12)


def test_poisson_blending_solves_perez_equation_by_hand():
    image = np.array([[0.1, 0.2, 0.3], [0.4, 0.0, 0.6], [0.7, 0.8, 0.9]])
    filled = np.array([[0.0, 0.5, 0.0], [0.2, 0.5, 0.0], [0.0, 0.1, 0.0]])
    mask = np.zeros((3, 3), bool)
    mask[1, 1] = True
    # 4 f = (0.2 + 0.4 + 0.6 + 0.8) + (4 * 0.5 - (0.5 + 0.2 + 0.0 + 0.1))
    expected = (2.0 + 2.0 - 0.8) / 4
    out = fill.poisson_blend(image, filled, mask)
    assert out[1, 1] == pytest.approx(expected, abs=1e-15)
    # two hole pixels side by side: 3 f_a - f_b = known_a + v_a, 3 f_b - f_a = known_b + v_b (the image's edge
    # leaves each with 3 neighbours)
    mask = np.zeros((3, 3), bool)
    mask[0, 1] = mask[1, 1] = True
    known_a, v_a = 0.1 + 0.3, 3 * 0.5 - (0.0 + 0.0 + 0.5)
    known_b, v_b = 0.4 + 0.6 + 0.8, 4 * 0.5 - (0.2 + 0.0 + 0.1 + 0.5)
    f_a, f_b = np.linalg.solve([[3, -1], [-1, 4]], [known_a + v_a, known_b + v_b])
    assert 0 < f_a < 1 and 0 < f_b < 1  # not clipped
    out = fill.poisson_blend(image, filled, mask)
    np.testing.assert_allclose([out[0, 1], out[1, 1]], [f_a, f_b], atol=1e-15)


def test_the_holes_border_follows_border_fill_and_its_core_the_fill():
    """Columns 1-9 of a 3x11 image are the hole; margin 1 leaves columns 2-8 as its core. The fill rises 0.05 a
    column, the border fill is flat: the result stays flat across the ring's edges (0-1, 1-2, 8-9, 9-10) and rises
    0.05 across the core's six, which meets the known 0.2 and 0.5 exactly."""
    image = np.zeros((3, 11))
    image[:, 0], image[:, 10] = 0.2, 0.5
    mask = np.zeros((3, 11), bool)
    mask[:, 1:10] = True
    rising = np.broadcast_to(0.05 * np.arange(11), (3, 11))
    out = fill.poisson_blend(image, rising, mask, border_fill=np.full((3, 11), 0.3), margin=1)
    expected = [0.2, 0.2, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.5, 0.5]
    np.testing.assert_allclose(out, np.broadcast_to(expected, (3, 11)), atol=1e-12)


def test_postprocess_matches_opencvs_seamless_cloning_of_the_telea_fill():
    """The authors' inpaint.lua --postproc: cv.inpaint (Telea, radius 1), then cv.seamlessClone (NORMAL_CLONE) of
    the network's output onto it, centred on the hole. An odd-sided hole, which OpenCV centres exactly."""
    import cv2

    image = to_uint8(_smooth()) / 255.0
    mask = np.zeros((64, 64), bool)
    mask[20:41, 15:40] = True
    texture = 0.05 * np.sin(40 * np.mgrid[0:64, 0:64][1] / 64)[..., None]
    network = np.clip(image + np.array([0.1, -0.08, 0.05]) + texture, 0, 1)  # a colour cast over true texture
    completed = to_uint8(np.where(mask[..., None], network, image))
    holes = mask.astype(np.uint8) * 255
    telea = cv2.inpaint(completed, holes, 1, cv2.INPAINT_TELEA)
    opencv = cv2.seamlessClone(completed, telea, holes, (27, 30), cv2.NORMAL_CLONE) / 255.0
    ours = fill.postprocess(image, network, mask)
    assert np.abs(ours - opencv)[mask].mean() < 0.006
    truth = image + texture
    assert np.abs(ours - truth)[mask].mean() < 0.4 * np.abs(network - truth)[mask].mean()  # the cast is blended away


def test_bad_inputs_are_named():
    image, mask = _ramp(), np.zeros((24, 28), bool)
    mask[3:6, 3:6] = True
    with pytest.raises(InputError, match="telea_fill takes float images in .0, 1.; got dtype uint8. uint8 images "
                                         "must be divided by 255"):
        fill.telea_fill(to_uint8(image), mask)
    with pytest.raises(InputError, match=r"one image \(H, W\) or \(H, W, C\); got shape \(2, 24, 28, 1\). For a "
                                         "batch, fill each image"):
        fill.mean_fill(np.stack([image, image])[..., None], mask)
    with pytest.raises(InputError, match=r"got values in \[25.5, .*\]; expected floats in \[0, 1\]. Images on "
                                         "the 0..255 scale must be divided by 255"):
        fill.biharmonic_fill(image * 255, mask)
    with pytest.raises(InputError, match="biharmonic_fill's mask must be binary"):
        fill.biharmonic_fill(image, mask * 0.5)
    with pytest.raises(InputError, match=r"mean_fill's mask has shape \(24, 27\); expected"):
        fill.mean_fill(image, mask[:, :27])
    with pytest.raises(InputError, match=r"filled must be a float image of the image's shape \(24, 28\); got "
                                         r"float64 \(24, 27\)"):
        fill.poisson_blend(image, image[:, :27], mask)
    with pytest.raises(InputError, match="covers the whole 24x28 image"):
        fill.postprocess(image, image, np.ones_like(mask))
