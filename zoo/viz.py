"""Pictures of what a model does, written as PNG files.

Sample grids, "input / reconstruction / translation" rows and scatter plots
of 2-D codes. Only numpy and Pillow are used, so pictures can be made from any
backend's outputs (convert them with `keras.ops.convert_to_numpy` first) and
without a plotting library.
"""

import math
import operator
from io import BytesIO

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from zoo.errors import InputError
from zoo.io import write_atomic

# The ten "tab10" colours: distinct, and readable on white.
PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)


def image_grid(images, nrow=None, padding=2, pad_value=1.0):
    """Tiles a batch of images into one uint8 picture.

    Args:
        images: floats in [0, 1] of shape `(n, H, W, C)` with `C` 1 or 3, or
            `(n, H, W)` for grey images.
        nrow: images per row; defaults to `ceil(sqrt(n))`.
        padding: pixels between images and around the border.
        pad_value: grey level of the padding, in [0, 1].

    Returns:
        A uint8 array of shape
        `(rows * H + (rows + 1) * padding, nrow * W + (nrow + 1) * padding, C)`,
        with `rows = ceil(n / nrow)`; grey images keep one channel. Cells past
        the last image are left at `pad_value`.
    """
    images = _check_images(images)
    n, height, width, channels = images.shape
    nrow = math.ceil(math.sqrt(n)) if nrow is None else _positive_int(nrow, "nrow")
    padding = _non_negative_int(padding, "padding")
    if not 0.0 <= pad_value <= 1.0:
        raise InputError(f"pad_value must be in [0, 1]; received {pad_value!r}.")
    rows = math.ceil(n / nrow)
    grid = np.full(
        (
            rows * height + (rows + 1) * padding,
            nrow * width + (nrow + 1) * padding,
            channels,
        ),
        _to_uint8(pad_value),
        dtype=np.uint8,
    )
    for i, image in enumerate(_to_uint8(images)):
        top = padding + (i // nrow) * (height + padding)
        left = padding + (i % nrow) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_image_grid(images, path, nrow=None, padding=2):
    """Writes `image_grid(images, nrow, padding)` to `path` as a PNG; returns the path."""
    return _save_png(image_grid(images, nrow=nrow, padding=padding), path)


def save_image(image, path):
    """One image `(H, W)` or `(H, W, C)` in [0, 1] (C 1 or 3) as a PNG file of its own size, written atomically."""
    image = _as_array(image, "image")
    return _save_png(_to_uint8(_check_images(image[None], "image")[0]), path)


def save_rows(rows, path, padding=2):
    """Writes several equally sized batches as the rows of one PNG; returns the path.

    Used for "input / reconstruction / translation" pictures: `rows[k][i]` lands
    in row `k`, column `i`. Grey rows are shown in colour when another row is
    colour, so a grey input can sit above its colour translation.
    """
    rows = [_check_images(row, name=f"rows[{k}]") for k, row in enumerate(rows)]
    if not rows:
        raise InputError("save_rows needs at least one batch of images; received none.")
    channels = max(row.shape[-1] for row in rows)
    rows = [np.repeat(row, channels // row.shape[-1], axis=-1) for row in rows]
    for k, row in enumerate(rows[1:], start=1):
        if row.shape != rows[0].shape:
            raise InputError(
                f"save_rows needs batches of one shape; rows[0] has shape "
                f"{rows[0].shape} but rows[{k}] has shape {row.shape}."
            )
    grid = image_grid(np.concatenate(rows), nrow=rows[0].shape[0], padding=padding)
    return _save_png(grid, path)


def scatter_png(points, labels, path, title=None, size=640, quantile=0.0):
    """Draws 2-D points coloured by label (at most 10 labels) into a PNG; returns the path.

    Used for the "2-D code" picture of a model's latent space. The axes span the
    data with a 5% margin; with `quantile` > 0 they span the [quantile, 1 -
    quantile] range of each axis instead, so a few far-out points do not squash
    the rest (points outside are not drawn). A legend names each label's colour.
    """
    points = _as_array(points, "points")
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
        raise InputError(
            f"scatter_png expects points of shape (n, 2) with n >= 1; "
            f"received shape {points.shape}."
        )
    if not np.issubdtype(points.dtype, np.number) or np.iscomplexobj(points):
        raise InputError(f"scatter_png expects real-valued points; received dtype {points.dtype}.")
    points = points.astype(np.float64)
    if not np.all(np.isfinite(points)):
        raise InputError("scatter_png expects finite points; received NaN or infinite values.")
    labels = _as_array(labels, "labels")
    if labels.shape != (len(points),):
        raise InputError(
            f"scatter_png expects labels of shape ({len(points)},), one per point; "
            f"received shape {labels.shape}."
        )
    if labels.dtype.kind not in "biuUS":
        raise InputError(
            f"scatter_png expects integer or string labels; received dtype {labels.dtype}."
        )
    classes, label_index = np.unique(labels, return_inverse=True)
    if len(classes) > len(PALETTE):
        raise InputError(
            f"scatter_png colours at most {len(PALETTE)} distinct labels; received {len(classes)}."
        )

    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(10, size // 48))
    left, top, right, bottom = 64, 40, size - 96, size - 44

    if not 0.0 <= quantile < 0.5:
        raise InputError(f"scatter_png expects quantile in [0, 0.5); received {quantile}.")
    low, high = np.quantile(points, quantile, axis=0), np.quantile(points, 1.0 - quantile, axis=0)
    inside = np.all((points >= low) & (points <= high), axis=1)
    span = np.where(high > low, high - low, 1.0)
    low, high = low - 0.05 * span, high + 0.05 * span
    x = left + (points[:, 0] - low[0]) / (high[0] - low[0]) * (right - left)
    y = bottom - (points[:, 1] - low[1]) / (high[1] - low[1]) * (bottom - top)

    radius = max(1.5, size / 320)
    # A fixed shuffle, so no label is always drawn on top and the file is reproducible.
    for i in np.random.default_rng(0).permutation(len(points)):
        if not inside[i]:
            continue
        draw.ellipse(
            (x[i] - radius, y[i] - radius, x[i] + radius, y[i] + radius),
            fill=PALETTE[label_index[i]],
        )
    draw.rectangle((left, top, right, bottom), outline="black")

    for t in np.linspace(0.0, 1.0, 5):
        tick_x = left + t * (right - left)
        draw.line((tick_x, bottom, tick_x, bottom + 4), fill="black")
        text = f"{low[0] + t * (high[0] - low[0]):.3g}"
        draw.text((tick_x - draw.textlength(text, font=font) / 2, bottom + 7), text, "black", font)
        tick_y = bottom - t * (bottom - top)
        draw.line((left - 4, tick_y, left, tick_y), fill="black")
        text = f"{low[1] + t * (high[1] - low[1]):.3g}"
        draw.text(
            (left - 7 - draw.textlength(text, font=font), tick_y - font.size / 2),
            text,
            "black",
            font,
        )

    if title:
        draw.text(((size - draw.textlength(title, font=font)) / 2, 12), title, "black", font)

    step = font.size + 6
    for k, label in enumerate(classes):
        swatch_y = top + k * step
        draw.rectangle((right + 14, swatch_y, right + 24, swatch_y + 10), fill=PALETTE[k])
        draw.text((right + 30, swatch_y - 1), str(label), "black", font)

    return _save_png(np.asarray(image), path)


def _check_images(images, name="images"):
    """Returns `images` as a float array of shape (n, H, W, C), or raises InputError."""
    images = _as_array(images, name)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or 0 in images.shape:
        raise InputError(
            f"Expected {name} of shape (n, H, W, C) with C 1 or 3, or (n, H, W) for grey "
            f"images, none of n, H, W zero; received shape {images.shape}."
        )
    if images.dtype.kind not in "biuf":
        raise InputError(
            f"Expected {name} as real numbers in [0, 1]; received dtype {images.dtype}."
        )
    images = images.astype(np.float64)
    if np.isnan(images).any():
        raise InputError(f"{name} contain NaN values; expected numbers in [0, 1].")
    low, high = images.min(), images.max()
    if low < 0.0 or high > 1.0:
        raise InputError(
            f"Expected {name} in [0, 1]; received values in [{low:g}, {high:g}]. "
            "Rescale first, e.g. divide uint8 images by 255 or map [-1, 1] with (x + 1) / 2."
        )
    return images


def _as_array(value, name):
    try:
        return np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise InputError(f"Could not read {name} as an array: {error}") from error


def _positive_int(value, name):
    value = operator.index(value)
    if value < 1:
        raise InputError(f"{name} must be a positive integer; received {value}.")
    return value


def _non_negative_int(value, name):
    value = operator.index(value)
    if value < 0:
        raise InputError(f"{name} must be a non-negative integer; received {value}.")
    return value


def _to_uint8(values):
    return np.rint(np.asarray(values) * 255.0).astype(np.uint8)


def _save_png(pixels, path):
    """Encodes a uint8 (H, W, 1 or 3) array as PNG and writes it atomically."""
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    buffer = BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return write_atomic(path, buffer.getvalue())
