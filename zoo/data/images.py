"""User images: validate arrays, load folders. Nothing is resized or changed unasked."""

import os
import warnings

import numpy as np

from zoo.errors import DataNotFoundError, InputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_MODES = {1: "L", 3: "RGB"}


def check_images(x, *, shape=None, channels=None, name="x"):
    """Checks that `x` is a batch of images a model can take, and returns it as float32.

    Models expect float32 NHWC in [0, 1]. A 3-D `(n, H, W)` array is accepted
    for single-channel models (`channels=1`) and gets a channel axis; anything
    else must already be 4-D.

    Args:
        x: array-like of numbers, `(n, H, W, C)`.
        shape: expected `(H, W)`, or `None` for any size.
        channels: expected `C`, or `None` for any.
        name: what to call `x` in error messages.

    Returns:
        float32 numpy array `(n, H, W, C)`.

    Raises:
        InputError: wrong type, rank, size, channels, empty batch, NaN/inf, or
            values outside [0, 1]. The message says what was received and what
            was expected.
    """
    try:
        x = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise InputError(
            f"{name} must be a numeric array of images (n, H, W, C); "
            f"got {type(x).__name__} that numpy cannot convert: {e}"
        ) from e
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise InputError(
            f"{name} must hold integers or floats; got dtype {x.dtype} with shape {x.shape}."
        )
    expected = _expected_layout(shape, channels)
    if x.ndim == 3 and channels == 1:
        x = x[..., None]
    elif x.ndim != 4:
        hint = " For grey images, add the channel axis with x[..., None]." if x.ndim == 3 else ""
        raise InputError(f"{name} must be 4-D {expected}; got shape {x.shape}.{hint}")
    if x.shape[0] == 0:
        raise InputError(
            f"{name} is an empty batch (shape {x.shape}); expected at least one image."
        )
    if shape is not None and tuple(x.shape[1:3]) != tuple(shape):
        raise InputError(
            f"{name} has images of size {tuple(x.shape[1:3])}; expected {tuple(shape)}, "
            f"i.e. {expected}. Resize them first, e.g. "
            f"zoo.data.from_folder(path, image_size={tuple(shape)}, resize=True)."
        )
    if channels is not None and x.shape[3] != channels:
        raise InputError(
            f"{name} has {x.shape[3]} channels (shape {x.shape}); expected {channels}, "
            f"i.e. {expected}."
        )
    if np.issubdtype(x.dtype, np.floating):
        bad = ~np.isfinite(x)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputError(
                f"{name} holds {int(bad.sum())} NaN or infinite values (the first at index "
                f"{first}); expected finite values in [0, 1]."
            )
    _check_range(x, name)
    return x.astype("float32", copy=False)


def check_image_or_batch(x, *, channels=(1, 3), value_range=(0.0, 1.0), range_note="", min_size=None,
                         min_size_note="", name="images"):
    """Checks one image `(H, W)` / `(H, W, C)` or a batch `(n, H, W, C)` of any size, for models that take any
    size (a denoiser, a super-resolver); returns `(float32 batch (n, H, W, C), the input's shape)`.

    `value_range` is how far values may go (noise may take them a little outside [0, 1]), `range_note` what the
    message adds about it; `min_size` the smallest side the model takes, `min_size_note` why.
    """
    try:
        x = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise InputError(f"{name} must be a numeric array of images; got {type(x).__name__}: {e}") from e
    expected = f"one image (H, W) or (H, W, C), or a batch (n, H, W, C), with C in {list(channels)}"
    if x.dtype == np.bool_ or np.issubdtype(x.dtype, np.integer):
        raise InputError(f"{name} has dtype {x.dtype}; expected float images on the [0, 1] scale. uint8 images "
                         "must be divided by 255: x.astype('float32') / 255.")
    if not np.issubdtype(x.dtype, np.floating):
        raise InputError(f"{name} must hold floats in [0, 1]; got dtype {x.dtype} with shape {x.shape}.")
    layout = x.shape
    if x.ndim == 2:
        x = x[None, :, :, None]
    elif x.ndim == 3:
        x = x[None]
    elif x.ndim != 4:
        raise InputError(f"{name} has shape {layout}; expected {expected}.")
    if x.size == 0:
        raise InputError(f"{name} is empty (shape {layout}); expected {expected}.")
    if x.shape[-1] in (2, 4) and x.shape[-1] not in channels:
        raise InputError(f"{name} has {x.shape[-1]} channels (shape {layout}): an alpha channel has no meaning to "
                         "the model; flatten the image onto a background or drop it (image[..., :-1]).")
    if x.shape[-1] not in channels:
        hint = " For a batch of grey images (n, H, W), add the channel axis: x[..., None]." if len(layout) == 3 \
            else ""
        raise InputError(f"{name} has {x.shape[-1]} channels (shape {layout}); expected {expected}.{hint}")
    if min_size is not None and min(x.shape[1:3]) < min_size:
        raise InputError(f"{name} holds images of {x.shape[1]}x{x.shape[2]} pixels; the model takes images of at "
                         f"least {min_size}x{min_size}{min_size_note}.")
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad.reshape(layout))[0])
        raise InputError(f"{name} holds {int(bad.sum())} NaN or infinite values (the first at index {first}).")
    low, high = float(x.min()), float(x.max())
    if low < value_range[0] or high > value_range[1]:
        scale = " Images on the 0..255 scale must be divided by 255." if high > value_range[1] and low >= 0 else ""
        raise InputError(f"{name} holds values in [{low:g}, {high:g}]; expected floats on the [0, 1] scale"
                         f"{range_note}.{scale}")
    return x.astype(np.float32, copy=False), layout


def read_image_file(path):
    """One image file as float32 `(H, W, C)` in [0, 1]: grey files give C = 1, colour files C = 3.

    Raises:
        DataNotFoundError: the file is missing or not an image Pillow can read.
        InputError: it has an alpha channel (transparency has no meaning to the
            models: flatten it first), or more than 8 bits a channel.
    """
    from PIL import Image

    if not os.path.isfile(path):
        raise DataNotFoundError(f"{path} is not a file; expected an image file ({', '.join(IMAGE_EXTENSIONS)}).")
    try:
        with Image.open(path) as opened:
            opened.load()
            image = opened.copy()
    except (OSError, ValueError, SyntaxError) as e:
        raise DataNotFoundError(f"Cannot read image file {path}: {e}") from e
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        raise InputError(f"{path} has an alpha channel (mode {image.mode}); expected a grey or RGB image. Flatten "
                         "it onto a background first, e.g. Image.open(path).convert('RGB').")
    if image.mode in ("I", "I;16", "I;16B", "F"):
        raise InputError(f"{path} has {image.mode} pixels (more than 8 bits); expected an 8-bit grey or RGB image.")
    mode = "L" if image.mode in ("1", "L") else "RGB"
    pixels = np.asarray(image.convert(mode), dtype=np.float32) / np.float32(255)
    return pixels.reshape(pixels.shape[0], pixels.shape[1], 1 if mode == "L" else 3)


def from_folder(path, image_size=None, channels=1, resize=False):
    """Loads every image file in a folder as float32 NHWC in [0, 1].

    Files are read in name order with Pillow and converted to grey (`channels=1`)
    or RGB (`channels=3`); a GIF or TIFF gives its first frame. Sub-folders and
    files without an image extension are skipped with a warning.

    Args:
        path: the folder.
        image_size: expected `(height, width)`. Without `resize=True` every image
            must already have it; `None` accepts any size shared by all images.
        channels: 1 or 3.
        resize: resize images to `image_size` (bilinear) instead of rejecting them.

    Returns:
        float32 numpy array `(n, height, width, channels)`.

    Raises:
        DataNotFoundError: `path` is missing, not a folder, has no images, or an
            image file cannot be read (the message names it).
        InputError: images of different sizes, or bad arguments.
    """
    from PIL import Image

    if channels not in _MODES:
        raise InputError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}.")
    if image_size is not None:
        if len(image_size) != 2 or not all(
            isinstance(s, (int, np.integer)) and s > 0 for s in image_size
        ):
            raise InputError(
                f"image_size must be (height, width) positive ints, got {image_size!r}."
            )
        image_size = (int(image_size[0]), int(image_size[1]))
    if resize and image_size is None:
        raise InputError("resize=True needs the target size: pass image_size=(height, width).")
    files = _image_files(path)

    images = []
    reference = None  # (file, size) of the first image, which all others must match
    for file in files:
        try:
            with Image.open(file) as opened:
                image = opened.convert(_MODES[channels])
        except (OSError, ValueError, SyntaxError) as e:  # Pillow's errors for bad files
            raise DataNotFoundError(f"Cannot read image file {file}: {e}") from e
        size = (image.height, image.width)
        if resize:
            if size != image_size:
                image = image.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
        elif image_size is not None:
            if size != image_size:
                raise InputError(
                    f"{file} is {_hw(size)} but image_size={image_size} was asked; pass "
                    f"resize=True to resize the images to it."
                )
        elif reference is None:
            reference = (file, size)
        elif size != reference[1]:
            raise InputError(
                f"Images differ in size: {reference[0]} is {_hw(reference[1])} but {file} is "
                f"{_hw(size)}. Pass image_size=(h, w), resize=True to resize them all to one size."
            )
        pixels = np.asarray(image, dtype=np.float32)
        images.append(pixels.reshape(image.height, image.width, channels))
    return np.stack(images) / np.float32(255)


def _image_files(path):
    """Sorted image files directly in `path`; warns about the entries it skips."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataNotFoundError(f"No folder at {path}; expected a folder of image files.")
    if not os.path.isdir(path):
        raise DataNotFoundError(f"{path} is a file; expected a folder of image files.")
    entries = sorted(os.listdir(path))
    files = [
        os.path.join(path, e) for e in entries
        if e.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(path, e))
    ]
    skipped = [e for e in entries if os.path.join(path, e) not in files]
    if not files:
        raise DataNotFoundError(
            f"No image files in {path} (looked for {', '.join(IMAGE_EXTENSIONS)}, any case); "
            f"found {len(skipped)} other entries{': ' + ', '.join(skipped[:5]) if skipped else ''}."
        )
    if skipped:
        warnings.warn(
            f"from_folder skipped {len(skipped)} entries of {path} that are not image files "
            f"({', '.join(skipped[:5])}{', ...' if len(skipped) > 5 else ''}); image "
            f"extensions are {', '.join(IMAGE_EXTENSIONS)}.",
            stacklevel=3,
        )
    return files


def _check_range(x, name):
    low, high = x.min(), x.max()
    if low >= 0 and high <= 1:
        if x.dtype == np.uint8:
            raise InputError(
                f"{name} is uint8; expected float values in [0, 1]. Convert with "
                f"x.astype('float32') / 255 (divide by 255)."
            )
        return
    if low >= 0 and high <= 255:
        raise InputError(
            f"{name} holds values up to {high} (dtype {x.dtype}); expected floats in [0, 1]. "
            f"For 8-bit images, divide by 255: x.astype('float32') / 255."
        )
    raise InputError(
        f"{name} holds values in [{low}, {high}] (dtype {x.dtype}); expected [0, 1]. "
        f"For images in [-1, 1] use (x + 1) / 2."
    )


def _expected_layout(shape, channels):
    height, width = shape if shape is not None else ("H", "W")
    return f"(n, {height}, {width}, {channels if channels is not None else 'C'})"


def _hw(size):
    return f"{size[0]}x{size[1]} (height x width)"
