"""Holes for image completion (zoo.data.masks): rectangles' sides and placement, free-form coverage, boxes, the
local discriminator's patch, mask checks and the saved mask sets; numpy only, so run once."""

import numpy as np
import pytest

from zoo.data import masks
from zoo.errors import DataNotFoundError, InputError

pytestmark = pytest.mark.backend_free


def test_the_test_protocols_are_the_issues():
    assert masks.TEST_MASKS == {
        "scenes": {"size": (128, 128), "min_side": 32, "max_side": 64},
        "faces": {"size": (64, 64), "min_side": 16, "max_side": 32},
        "digits": {"size": (28, 28), "min_side": 8, "max_side": 14},
    }


@pytest.mark.parametrize("kind", list(masks.TEST_MASKS))
def test_rectangles_have_sides_in_range_lie_inside_and_reach_every_side_and_border(kind):
    spec = masks.TEST_MASKS[kind]
    (height, width), low, high = spec["size"], spec["min_side"], spec["max_side"]
    m = masks.test_masks(kind, 1000, seed=3)
    assert m.dtype == bool and m.shape == (1000, height, width)
    boxes = masks.hole_boxes(m)
    sides = boxes[:, 2:] - boxes[:, :2]
    # each mask is exactly its box: one rectangle
    np.testing.assert_array_equal(m.sum(axis=(1, 2)), sides[:, 0] * sides[:, 1])
    assert sides.min() == low and sides.max() == high
    for axis in (0, 1):  # every whole side in [low, high] is drawn, for heights and widths alike
        assert set(np.unique(sides[:, axis])) == set(range(low, high + 1))
    assert boxes[:, :2].min() == 0  # placed fully inside, reaching both borders
    assert boxes[:, 2].max() == height and boxes[:, 3].max() == width


def test_rectangles_are_fixed_by_the_seed_and_a_prefix_of_more():
    first = masks.test_masks("faces", 10, seed=0)
    np.testing.assert_array_equal(first, masks.test_masks("faces", 10, seed=0))
    np.testing.assert_array_equal(first, masks.test_masks("faces", 40, seed=0)[:10])
    assert not np.array_equal(first, masks.test_masks("faces", 10, seed=1))
    # the fixed test masks must never change: a result ships "the first n masks of seed 0"
    np.testing.assert_array_equal(masks.hole_boxes(first[:3]), [[1, 0, 27, 20], [21, 24, 50, 55], [32, 0, 57, 31]])
    np.testing.assert_array_equal(masks.rectangle_masks(5, (20, 30), 3, 7, seed=2),
                                  masks.rectangle_masks(5, (20, 30), 3, 7, seed=2))


def test_rectangles_on_a_non_square_image_and_a_fixed_side():
    m = masks.rectangle_masks(200, (12, 40), 10, 10, seed=0)
    boxes = masks.hole_boxes(m)
    assert np.all(boxes[:, 2:] - boxes[:, :2] == 10)
    assert boxes[:, 2].max() <= 12 and boxes[:, 3].max() == 40


@pytest.mark.parametrize("kwargs, match", [
    (dict(min_side=0), "min_side must be a whole number of pixels >= 1"),
    (dict(min_side=2.5), "min_side must be a whole number"),
    (dict(min_side=9, max_side=8), "max_side >= min_side; got min_side=9, max_side=8"),
    (dict(max_side=33), "max_side=33 does not fit a 32x40 image; expected max_side <= 32"),
    (dict(n=0), "number of masks n must be a whole number >= 1"),
    (dict(seed=-1), "seed must be a whole number >= 0"),
    (dict(seed=None), "seed must be a whole number >= 0"),
    (dict(size=(32, 0)), r"size must be \(height, width\)"),
])
def test_rectangle_arguments_are_checked(kwargs, match):
    args = dict(n=2, size=(32, 40), min_side=4, max_side=8, seed=0) | kwargs
    with pytest.raises(InputError, match=match):
        masks.rectangle_masks(**args)


def test_a_rectangle_that_could_hide_the_whole_image_is_refused():
    with pytest.raises(InputError, match="could hide the whole image.*expected max_side < 16"):
        masks.rectangle_masks(3, 16, 8, 16, seed=0)


def test_unknown_protocols_are_named():
    with pytest.raises(InputError, match=r"Unknown test mask protocol 'celeba'; expected one of \['scenes'"):
        masks.test_masks("celeba", 3)


@pytest.mark.parametrize("size", [28, 64, (48, 80)])
def test_free_form_masks_cover_their_share_and_are_fixed_by_the_seed(size):
    m = masks.free_form_masks(20, size, seed=1)
    height, width = (size, size) if isinstance(size, int) else size
    assert m.dtype == bool and m.shape == (20, height, width)
    share = m.mean(axis=(1, 2))
    assert share.min() >= 0.1 and share.max() <= 0.3
    assert share.max() - share.min() > 0.05  # the share itself is drawn
    np.testing.assert_array_equal(m, masks.free_form_masks(20, size, seed=1))
    np.testing.assert_array_equal(m[:5], masks.free_form_masks(5, size, seed=1))
    assert not np.array_equal(m, masks.free_form_masks(20, size, seed=2))


def test_free_form_masks_are_strokes_not_boxes_and_take_their_coverage():
    m = masks.free_form_masks(10, 64, seed=0, coverage=(0.4, 0.5))
    share = m.mean(axis=(1, 2))
    assert share.min() >= 0.4 and share.max() <= 0.5
    boxes = masks.hole_boxes(m)
    box_area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    assert np.all(m.sum(axis=(1, 2)) < box_area)  # thick lines, not filled rectangles
    with pytest.raises(InputError, match=r"coverage must be \(low, high\) with 0 < low <= high < 1"):
        masks.free_form_masks(2, 64, seed=0, coverage=(0.3, 0.2))
    with pytest.raises(InputError, match="max_width must be a whole number"):
        masks.free_form_masks(2, 64, seed=0, max_width=0)


def test_hole_box_is_the_bounding_box_with_exclusive_ends():
    mask = np.zeros((10, 12), bool)
    mask[2, 3] = mask[6, 9] = True
    assert masks.hole_box(mask) == (2, 3, 7, 10)
    assert masks.hole_box(mask[..., None].astype(np.uint8)) == (2, 3, 7, 10)
    np.testing.assert_array_equal(masks.hole_boxes(np.stack([mask, mask])),
                                  [[2, 3, 7, 10]] * 2)
    with pytest.raises(InputError, match="empty .no True pixel., so it has no hole"):
        masks.hole_box(np.zeros((4, 4), bool))
    with pytest.raises(InputError, match="mask 1 is empty"):
        masks.hole_boxes(np.stack([mask, np.zeros_like(mask)]))


def test_the_local_patch_is_centred_on_the_hole_and_clamped_inside():
    mask = np.zeros((64, 64), bool)
    mask[10:20, 50:60] = True  # centre (15, 55): the patch would start at (-1, 39), clamped to (0, 32)
    assert masks.local_patch_box(mask, 32) == (0, 32)
    assert masks.local_patch_box(np.array([10, 50, 20, 60]), 32, image_size=(64, 64)) == (0, 32)
    mask[:] = False
    mask[30:35, 20:27] = True  # centre (32, 23): (16, 7), inside already
    assert masks.local_patch_box(mask, 32) == (16, 7)
    assert masks.local_patch_box(mask, (8, 16)) == (28, 15)


def test_local_patches_hold_the_whole_hole_when_it_fits():
    m = masks.test_masks("faces", 300, seed=5)  # sides up to 32, patch 32
    corners = masks.local_patch_boxes(m, 32)
    boxes = masks.hole_boxes(m)
    assert corners.shape == (300, 2) and corners.dtype == np.int64
    assert np.all(corners >= 0) and np.all(corners + 32 <= 64)
    assert np.all(corners <= boxes[:, :2]) and np.all(corners + 32 >= boxes[:, 2:])
    assert [masks.local_patch_box(x, 32) for x in m[:5]] == [tuple(c) for c in corners[:5]]


def test_local_patch_arguments_are_checked():
    mask = masks.test_masks("digits", 1)[0]
    with pytest.raises(InputError, match="patch_size 32x32 is larger than the 28x28 image"):
        masks.local_patch_box(mask, 32)
    with pytest.raises(InputError, match="needs image_size"):
        masks.local_patch_box(np.array([1, 2, 3, 4]), 8)
    with pytest.raises(InputError, match=r"mask has shape \(28, 28\) but image_size is \(32, 32\)"):
        masks.local_patch_box(mask, 8, image_size=(32, 32))
    with pytest.raises(InputError, match="is empty"):
        masks.local_patch_boxes(np.zeros((2, 28, 28), bool), 8)


def test_check_mask_takes_booleans_and_exact_zeros_and_ones():
    mask = np.zeros((6, 7), bool)
    mask[1:3, 2:5] = True
    for given in (mask, mask.astype(np.uint8), mask.astype(np.float32), mask[..., None].astype(np.int64)):
        out = masks.check_mask(given, (6, 7, 3))
        assert out.dtype == bool and out.shape == (6, 7)
        np.testing.assert_array_equal(out, mask)
    np.testing.assert_array_equal(masks.check_mask(np.zeros((6, 7)), (6, 7)), np.zeros((6, 7), bool))  # empty: ok
    batch = masks.check_mask(np.stack([mask, mask])[..., None], (2, 6, 7, 3), batch=True)
    assert batch.shape == (2, 6, 7) and batch.dtype == bool


def test_check_mask_says_what_was_wrong():
    with pytest.raises(InputError, match=r"mask must be binary.*other values \(0.5; dtype float64\)"):
        masks.check_mask(np.full((4, 4), 0.5), (4, 4))
    with pytest.raises(InputError, match=r"must be binary.*\(255; dtype uint8\).*mask > 127 for a 0..255 mask"):
        masks.check_mask(np.array([[0, 255], [0, 0]], np.uint8), (2, 2))
    with pytest.raises(InputError, match=r"hole has shape \(4, 5\); expected the image's shape without channels, "
                                         r"\(4, 4\) \(the image is \(4, 4, 3\)\)"):
        masks.check_mask(np.zeros((4, 5)), (4, 4, 3), name="hole")
    with pytest.raises(InputError, match="covers the whole 4x4 image: there is nothing to complete it from"):
        masks.check_mask(np.ones((4, 4), bool), (4, 4))
    with pytest.raises(InputError, match="mask 1 of masks covers the whole"):
        masks.check_mask(np.stack([np.eye(4), np.ones((4, 4))]), (2, 4, 4), name="masks", batch=True)
    with pytest.raises(InputError, match="boolean array .True in the hole., or of numbers 0 and 1; got dtype <U1"):
        masks.check_mask(np.array([["a"]]), (1, 1))


def test_saved_masks_load_back_exactly_with_how_they_were_made(tmp_path):
    m = masks.test_masks("digits", 7, seed=4)  # 28 columns: not a whole number of bytes
    path = masks.save_masks(tmp_path / "digits_test", m, kind="digits", seed=4, n=7)
    assert path.endswith("digits_test.npz")
    loaded, meta = masks.load_masks(path)
    assert loaded.dtype == bool
    np.testing.assert_array_equal(loaded, m)
    assert meta == {"kind": "digits", "seed": 4, "n": 7}


def test_saving_and_loading_check_their_input(tmp_path):
    m = masks.test_masks("digits", 2)
    with pytest.raises(InputError, match=r"\(n, H, W\); got shape \(28, 28\). For one mask, pass mask\[None\]"):
        masks.save_masks(tmp_path / "one", m[0])
    with pytest.raises(InputError, match="meta must be JSON-serialisable"):
        masks.save_masks(tmp_path / "bad", m, seed=np.int64(3))
    with pytest.raises(DataNotFoundError, match="No mask file at"):
        masks.load_masks(tmp_path / "missing.npz")
    path = masks.save_masks(tmp_path / "m.npz", m)
    with np.load(path) as f:
        stored = {key: f[key] for key in f.files}
    np.savez_compressed(tmp_path / "damaged.npz", **(stored | {"holes": stored["holes"] + 1}))
    with pytest.raises(InputError, match="damaged: its masks' hole sizes differ"):
        masks.load_masks(tmp_path / "damaged.npz")
    np.savez_compressed(tmp_path / "short.npz", **(stored | {"bits": stored["bits"][:, :, :2]}))
    with pytest.raises(InputError, match=r"damaged: its packed masks \(2, 28, 2\)"):
        masks.load_masks(tmp_path / "short.npz")
    np.savez_compressed(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(InputError, match="not a mask file written by save_masks"):
        masks.load_masks(tmp_path / "other.npz")
