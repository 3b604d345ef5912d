"""Holes for image completion: random rectangles, free-form brush strokes, the fixed test masks, and checks.

A mask is a boolean numpy array `(H, W)` (a batch: `(n, H, W)`), True where the
hole is, i.e. where the pixels are unknown and must be completed; False where
they are known. Iizuka, Simo-Serra & Ishikawa ("Globally and Locally
Consistent Image Completion", SIGGRAPH 2017) train and test on one random
axis-aligned rectangle per image (`rectangle_masks`), and their local
discriminator sees a fixed-size patch centred on the hole (`local_patch_box`).
Free-form masks (`free_form_masks`) are brush strokes after Yu et al.,
"Free-Form Image Inpainting with Gated Convolution", ICCV 2019 (Algorithm 1),
for demonstration pictures.

The test protocols (`TEST_MASKS`, `test_masks`) are fixed: the masks depend
only on (kind, seed), and the first k of n >= k masks are the same, so a
result on "the first 100 test masks" is comparable across runs.
`save_masks` / `load_masks` store a mask set beside a result, so that the
exact holes ship with it.
"""

import json
import math
import os

import numpy as np

from zoo.errors import DataNotFoundError, InputError

# kind -> the protocol of issue 27: image size, and the sides of the one rectangle a test image gets
TEST_MASKS = {
    "scenes": {"size": (128, 128), "min_side": 32, "max_side": 64},
    "faces": {"size": (64, 64), "min_side": 16, "max_side": 32},
    "digits": {"size": (28, 28), "min_side": 8, "max_side": 14},
}
MASKS_FORMAT = 1  # the version of the .npz layout save_masks writes


def rectangle_masks(n, size, min_side, max_side, seed):
    """`n` masks `(n, H, W)`, each one axis-aligned rectangle, as Iizuka et al. train and test with.

    The rectangle's height and width are drawn independently and uniformly
    from the whole numbers in `[min_side, max_side]`, then its top-left corner
    uniformly among the positions that keep it fully inside the image. The
    masks depend only on `seed` (a whole number), and the first k masks of
    `n >= k` are the same whatever `n` (mask i uses row i of one
    `default_rng(seed).random((n, 4))` draw).

    Args:
        n: how many masks, at least 1.
        size: the image size `(H, W)`, or one int for a square.
        min_side, max_side: the rectangle's smallest and largest side in pixels,
            `1 <= min_side <= max_side <= min(H, W)`, and `max_side < H` for a
            square image: no rectangle may cover the whole image (there would
            be nothing to complete from).
        seed: a whole number.
    """
    n, (height, width), seed = _count(n), _size(size), _seed(seed)
    for name, side in (("min_side", min_side), ("max_side", max_side)):
        if not (isinstance(side, (int, np.integer)) and not isinstance(side, bool) and side >= 1):
            raise InputError(f"rectangle_masks' {name} must be a whole number of pixels >= 1; got {side!r}.")
    if max_side < min_side:
        raise InputError(f"rectangle_masks needs max_side >= min_side; got min_side={min_side}, "
                         f"max_side={max_side}.")
    if max_side > min(height, width):
        raise InputError(f"rectangle_masks' max_side={max_side} does not fit a {height}x{width} image; expected "
                         f"max_side <= {min(height, width)} (the image's shorter side).")
    if max_side == height == width:
        raise InputError(f"rectangle_masks with max_side={max_side} on a {height}x{width} image could hide the "
                         f"whole image, leaving nothing to complete from; expected max_side < {height}.")
    u = np.random.default_rng(seed).random((n, 4))
    span = int(max_side) - int(min_side) + 1
    sides = int(min_side) + np.floor(u[:, :2] * span).astype(np.int64)  # (n, 2): height, width
    tops = np.floor(u[:, 2] * (height - sides[:, 0] + 1)).astype(np.int64)
    lefts = np.floor(u[:, 3] * (width - sides[:, 1] + 1)).astype(np.int64)
    rows, cols = np.arange(height), np.arange(width)
    in_rows = (rows >= tops[:, None]) & (rows < (tops + sides[:, 0])[:, None])
    in_cols = (cols >= lefts[:, None]) & (cols < (lefts + sides[:, 1])[:, None])
    return in_rows[:, :, None] & in_cols[:, None, :]


def free_form_masks(n, size, seed, coverage=(0.1, 0.3), max_vertices=8, max_width=None, max_length=None):
    """`n` brush-stroke masks `(n, H, W)` for demonstration pictures, after Yu et al.'s free-form masks.

    Yu, Lin, Yang, Shen, Lu & Huang, "Free-Form Image Inpainting with Gated
    Convolution", ICCV 2019, Algorithm 1: a stroke starts at a random pixel and
    walks through up to `max_vertices` random vertices, each segment a thick
    line (`cv2.line`) of random length and brush width, turning by a random
    angle (up to 72 degrees) at each vertex; segments are clipped to the image.
    Strokes are added until the hole covers a fraction drawn uniformly from
    `coverage`: a segment that would take it past `coverage[1]` is retried
    thinner and shorter, so every mask's covered share lies within `coverage`.

    Args:
        n: how many masks, at least 1.
        size: the image size `(H, W)`, or one int for a square.
        seed: a whole number >= 0; mask i depends only on `(seed, i)`, so the
            first k masks of `n >= k` are the same whatever `n`.
        coverage: `(low, high)`, the share of the image a mask covers, with
            `0 < low <= high < 1` and at least one pixel between them.
        max_vertices: the most segments in one stroke.
        max_width: the widest brush in pixels; default `max(3, min(H, W) // 8)`
            (16 on 128x128, 3 on 28x28); the narrowest is a third of it.
        max_length: the longest segment in pixels; default a quarter of the
            shorter side; the shortest is a sixteenth.
    """
    n, (height, width), seed = _count(n), _size(size), _seed(seed)
    try:
        low, high = (float(c) for c in coverage)
    except (TypeError, ValueError) as e:
        raise InputError(f"free_form_masks' coverage must be (low, high), two shares of the image; got "
                         f"{coverage!r}.") from e
    if not (0 < low <= high < 1 and (high - low) * height * width >= 1):
        raise InputError(f"free_form_masks' coverage must be (low, high) with 0 < low <= high < 1, at least one "
                         f"pixel apart on a {height}x{width} image; got {coverage!r}.")
    side = min(height, width)
    max_width = max(3, side // 8) if max_width is None else max_width
    max_length = side / 4 if max_length is None else max_length
    if not (isinstance(max_vertices, (int, np.integer)) and max_vertices >= 1):
        raise InputError(f"free_form_masks' max_vertices must be a whole number >= 1; got {max_vertices!r}.")
    if not (isinstance(max_width, (int, np.integer)) and max_width >= 1):
        raise InputError(f"free_form_masks' max_width must be a whole number of pixels >= 1; got {max_width!r}.")
    if not (isinstance(max_length, (int, float, np.integer, np.floating)) and max_length >= 1):
        raise InputError(f"free_form_masks' max_length must be a number of pixels >= 1; got {max_length!r}.")
    widths = (max(1, int(max_width) // 3), int(max_width))
    lengths = (max_length / 4, float(max_length))
    return np.stack([_strokes(np.random.default_rng([seed, i]), height, width, (low, high), int(max_vertices),
                              widths, lengths) for i in range(n)])


def _strokes(rng, height, width, coverage, max_vertices, widths, lengths):
    import cv2

    canvas = np.zeros((height, width), np.uint8)
    target = rng.uniform(*coverage) * height * width
    most = coverage[1] * height * width
    covered = 0
    for _ in range(100_000):  # each stroke adds pixels with near certainty; the bound only guards the loop
        y, x = rng.uniform(0, height - 1), rng.uniform(0, width - 1)
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(int(rng.integers(1, max_vertices + 1))):
            angle += rng.uniform(-2 * math.pi / 5, 2 * math.pi / 5)
            length, brush = rng.uniform(*lengths), int(rng.integers(widths[0], widths[1] + 1))
            while True:
                end_y = min(max(y + length * math.sin(angle), 0), height - 1)
                end_x = min(max(x + length * math.cos(angle), 0), width - 1)
                drawn = canvas.copy()
                cv2.line(drawn, (round(x), round(y)), (round(end_x), round(end_y)), 1, brush)
                count = int(np.count_nonzero(drawn))
                if count <= most:
                    break
                if brush == 1 and length == 0:  # even one pixel more is too many: within a pixel of `high`
                    return canvas.astype(bool)
                brush, length = max(1, brush // 2), (length / 2 if length >= 1 else 0.0)
            canvas, covered, y, x = drawn, count, end_y, end_x
            if covered >= target:
                return canvas.astype(bool)
    raise RuntimeError(f"free_form_masks could not cover {target / (height * width):.0%} of a {height}x{width} "
                       "image.")


def hole_box(mask):
    """The bounding box `(top, left, bottom, right)` of a mask's hole (its True pixels); bottom and right are
    exclusive, so `image[top:bottom, left:right]` is the box. An empty mask is an error (there is no hole)."""
    mask = _binary(mask, "hole_box's mask")
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise InputError(f"hole_box takes one mask (H, W); got shape {mask.shape}. For a batch use hole_boxes.")
    return tuple(int(v) for v in hole_boxes(mask[None], name="hole_box's mask")[0])


def hole_boxes(masks, name="masks"):
    """`hole_box` of each mask of a batch `(n, H, W)`: an int array `(n, 4)` of (top, left, bottom, right)."""
    masks = _binary(masks, name)
    if masks.ndim == 4 and masks.shape[3] == 1:
        masks = masks[..., 0]
    if masks.ndim != 3:
        raise InputError(f"{name} must be a batch of masks (n, H, W); got shape {masks.shape}.")
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    empty = np.flatnonzero(~rows.any(axis=1))
    if len(empty):
        which = "the mask" if len(masks) == 1 else f"mask {int(empty[0])}"
        raise InputError(f"{name}: {which} is empty (no True pixel), so it has no hole to bound.")
    top, left = rows.argmax(axis=1), cols.argmax(axis=1)
    bottom = masks.shape[1] - rows[:, ::-1].argmax(axis=1)
    right = masks.shape[2] - cols[:, ::-1].argmax(axis=1)
    return np.stack([top, left, bottom, right], axis=1).astype(np.int64)


def local_patch_box(mask, patch_size, image_size=None):
    """`(top, left)` of the `patch_size` square a local discriminator sees: centred on the hole, inside the image.

    Iizuka et al.'s local discriminator "takes a 128x128-pixel image patch
    centered around the completed region". The centre is the middle pixel of
    the hole's bounding box (`(top + bottom) // 2`, `(left + right) // 2`);
    the patch `[top, top + p)` starts `p // 2` before it and is then shifted
    (clamped) to lie inside the image. It always contains the centre, and
    contains the whole hole when the hole's box is no larger than the patch.

    Args:
        mask: a mask `(H, W)`, or the hole's box `(top, left, bottom, right)`
            (then `image_size` is needed).
        patch_size: the patch's side, or `(height, width)`; at most the image's.
        image_size: `(H, W)`; defaults to the mask's shape, which it must match.
    """
    box = np.asarray(mask)
    if box.ndim == 1:
        if box.shape != (4,) or not np.issubdtype(box.dtype, np.integer):
            raise InputError(f"local_patch_box takes a mask (H, W) or a box (top, left, bottom, right) of whole "
                             f"numbers; got {mask!r}.")
        if image_size is None:
            raise InputError("local_patch_box needs image_size=(H, W) when given a box instead of a mask.")
        size = _size(image_size, "local_patch_box's image_size")
        top, left, bottom, right = (int(v) for v in box)
        if not (0 <= top < bottom <= size[0] and 0 <= left < right <= size[1]):
            raise InputError(f"local_patch_box's box {tuple(int(v) for v in box)} is not a non-empty box inside a "
                             f"{size[0]}x{size[1]} image (top < bottom <= H, left < right <= W).")
        boxes = np.array([[top, left, bottom, right]])
    else:
        box = _binary(mask, "local_patch_box's mask")
        box = box[..., 0] if box.ndim == 3 and box.shape[2] == 1 else box
        if box.ndim != 2:
            raise InputError(f"local_patch_box takes one mask (H, W); got shape {box.shape}. For a batch use "
                             "local_patch_boxes.")
        size = tuple(box.shape)
        if image_size is not None and _size(image_size, "local_patch_box's image_size") != size:
            raise InputError(f"local_patch_box's mask has shape {size} but image_size is {tuple(image_size)}; "
                             "expected them equal.")
        boxes = hole_boxes(box[None], name="local_patch_box's mask")
    return tuple(int(v) for v in _patch_corners(boxes, patch_size, size, "local_patch_box")[0])


def local_patch_boxes(masks, patch_size):
    """`local_patch_box` of each mask of a batch `(n, H, W)`: an int array `(n, 2)` of (top, left)."""
    boxes = hole_boxes(masks, name="local_patch_boxes' masks")
    size = np.asarray(masks).shape[1:3]
    return _patch_corners(boxes, patch_size, size, "local_patch_boxes")


def _patch_corners(boxes, patch_size, size, caller):
    patch = _size(patch_size, f"{caller}'s patch_size")
    if patch[0] > size[0] or patch[1] > size[1]:
        raise InputError(f"{caller}'s patch_size {patch[0]}x{patch[1]} is larger than the {size[0]}x{size[1]} "
                         "image; expected a patch that fits inside it.")
    centre = (boxes[:, :2] + boxes[:, 2:]) // 2
    corner = centre - np.array(patch) // 2
    return np.clip(corner, 0, np.array(size) - np.array(patch)).astype(np.int64)


def check_mask(mask, image_shape, name="mask", batch=False):
    """`mask` as a boolean array of the image's spatial shape: `(H, W)`, or `(n, H, W)` with `batch=True`.

    Accepts booleans, or numbers that are exactly 0 or 1 (ints or floats), of
    shape `(H, W)` or `(H, W, 1)` for an image of shape `(H, W)` or `(H, W, C)`;
    with `batch=True`, `(n, H, W)` or `(n, H, W, 1)` for images `(n, H, W)` or
    `(n, H, W, C)`. An empty mask (no True pixel) is allowed: a fill gives the
    image back unchanged.

    Raises:
        InputError: values other than 0 and 1 (a 0..255 mask: use `mask > 127`),
            a shape that is not the image's, or a mask that covers the whole
            image (nothing to complete from).
    """
    mask = _binary(mask, name)
    image_shape = tuple(int(s) for s in image_shape)
    ranks = (3, 4) if batch else (2, 3)
    if len(image_shape) not in ranks:
        expected = "(n, H, W) or (n, H, W, C)" if batch else "(H, W) or (H, W, C)"
        raise InputError(f"check_mask's image_shape must be {expected}; got {image_shape}.")
    spatial = image_shape[:ranks[0]]
    if mask.ndim == len(spatial) + 1 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if mask.shape != spatial:
        what = "images'" if batch else "image's"
        raise InputError(f"{name} has shape {mask.shape}; expected the {what} shape without channels, {spatial} "
                         f"(the {'images are' if batch else 'image is'} {image_shape}).")
    full = np.flatnonzero(mask.reshape(-1 if batch else 1, spatial[-2] * spatial[-1]).all(axis=1))
    if len(full):
        which = f"mask {int(full[0])} of {name}" if batch else name
        raise InputError(f"{which} covers the whole {spatial[-2]}x{spatial[-1]} image: there is nothing to "
                         "complete it from; expected a hole that leaves some pixels known (False).")
    return mask


def _binary(mask, name):
    """`mask` as a bool array: booleans, or numbers that are all exactly 0 or 1."""
    try:
        array = np.asarray(mask)
    except (TypeError, ValueError) as e:
        raise InputError(f"{name} must be a boolean array (True in the hole); got {type(mask).__name__}: {e}") \
            from e
    if array.dtype == np.bool_:
        return array
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise InputError(f"{name} must be a boolean array (True in the hole), or of numbers 0 and 1; got dtype "
                         f"{array.dtype}.")
    if array.size and not np.all((array == 0) | (array == 1)):
        values = np.unique(array[(array != 0) & (array != 1)])
        shown = ", ".join(f"{v:g}" for v in values[:3]) + (", ..." if len(values) > 3 else "")
        raise InputError(f"{name} must be binary: True or 1 in the hole, False or 0 where the image is known; "
                         f"got other values ({shown}; dtype {array.dtype}). Make one with a threshold, e.g. "
                         "mask > 127 for a 0..255 mask, or mask > 0.5 for a soft one in [0, 1].")
    return array == 1


def save_masks(path, masks, **meta):
    """Writes a mask set `(n, H, W)` to a compressed `.npz` (bit-packed), with `meta` (how it was made: e.g.
    `kind="faces", seed=0`, JSON-serialisable) beside it, so a result ships its exact holes. Returns the path
    written (`.npz` appended when missing)."""
    masks = _binary(masks, "save_masks' masks")
    if masks.ndim != 3 or masks.size == 0:
        hint = " For one mask, pass mask[None]." if masks.ndim == 2 else ""
        raise InputError(f"save_masks takes a non-empty batch of masks (n, H, W); got shape {masks.shape}.{hint}")
    try:
        text = json.dumps(meta, sort_keys=True)
    except TypeError as e:
        raise InputError(f"save_masks' meta must be JSON-serialisable (numbers, strings, lists, dicts): {e}") from e
    path = os.fspath(path)
    path = path if path.endswith(".npz") else path + ".npz"
    np.savez_compressed(path, format=np.int64(MASKS_FORMAT), shape=np.array(masks.shape, np.int64),
                        bits=np.packbits(masks, axis=-1), holes=masks.sum(axis=(1, 2)).astype(np.int64),
                        meta=np.array(text))
    return path


def load_masks(path):
    """`(masks, meta)` of a file `save_masks` wrote: bool `(n, H, W)` and the dict saved with them. Checks the
    file's layout, shape and per-mask hole sizes."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataNotFoundError(f"No mask file at {path}; expected a .npz written by zoo.data.masks.save_masks.")
    try:
        with np.load(path, allow_pickle=False) as f:
            stored = {key: f[key] for key in f.files}
    except (OSError, ValueError) as e:
        raise InputError(f"{path} is not a readable .npz mask file: {e}") from e
    missing = {"format", "shape", "bits", "holes", "meta"} - set(stored)
    if missing:
        raise InputError(f"{path} is not a mask file written by save_masks: it lacks {sorted(missing)}.")
    if int(stored["format"]) != MASKS_FORMAT:
        raise InputError(f"{path} has mask format {int(stored['format'])}; this zoo reads format {MASKS_FORMAT}.")
    shape = tuple(int(s) for s in stored["shape"])
    bits = stored["bits"]
    if len(shape) != 3 or bits.dtype != np.uint8 or bits.shape != (shape[0], shape[1], math.ceil(shape[2] / 8)):
        raise InputError(f"{path} is damaged: its packed masks {bits.shape} ({bits.dtype}) do not hold masks of "
                         f"shape {shape}.")
    masks = np.unpackbits(bits, axis=-1, count=shape[2]).astype(bool)
    if not np.array_equal(masks.sum(axis=(1, 2)), stored["holes"]):
        raise InputError(f"{path} is damaged: its masks' hole sizes differ from the ones saved with them.")
    return masks, json.loads(str(stored["meta"]))


def test_masks(kind, n, seed=0):
    """The first `n` fixed test masks of protocol `kind` ("scenes", "faces" or "digits"; see `TEST_MASKS`):
    `rectangle_masks(n, **TEST_MASKS[kind], seed=seed)`, bool `(n, H, W)`."""
    if kind not in TEST_MASKS:
        raise InputError(f"Unknown test mask protocol {kind!r}; expected one of {list(TEST_MASKS)}.")
    return rectangle_masks(n, seed=seed, **TEST_MASKS[kind])


test_masks.__test__ = False  # not a test, despite its name


def _count(n):
    if not (isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1):
        raise InputError(f"the number of masks n must be a whole number >= 1; got {n!r}.")
    return int(n)


def _size(size, name="size"):
    pair = (size, size) if isinstance(size, (int, np.integer)) and not isinstance(size, bool) else size
    try:
        height, width = pair
    except (TypeError, ValueError):
        height = width = None
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in (height, width)):
        raise InputError(f"{name} must be (height, width) or one side, whole numbers of pixels >= 1; got {size!r}.")
    return int(height), int(width)


def _seed(seed):
    if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        raise InputError(f"seed must be a whole number >= 0 (the masks depend only on it); got {seed!r}.")
    return int(seed)
