"""MATLAB's bicubic `imresize` in numpy, and the super-resolution literature's low-resolution inputs.

The SR benchmarks' numbers (SRCNN, VDSR, SRResNet/SRGAN, EDSR, ...) are
measured on low-resolution images made by MATLAB's `imresize(hr, 1/s)`:
bicubic (Keys' kernel, a = -0.5), antialiased when downscaling (the kernel
widened by 1/s), the image extended by mirroring at its borders, and, for the
uint8 images they read, rounded to 8 bits. OpenCV's bicubic differs (a =
-0.75, no antialiasing); Pillow's has the same kernel and antialiasing but
renormalises it at the borders instead of mirroring, so its pixels differ
there (its bicubic x4 PSNR on Set5, Set14 and BSD100 came within 0.002 dB of
this one's). This port follows MATLAB's `imresize.m` (`contributions`,
`cubic`, `resizeAlongDim`), as BasicSR's `basicsr/utils/matlab_functions.py`
and fatheral/matlab_imresize do.
"""

import math
import numbers

import numpy as np

from zoo.errors import InputError

KERNEL_WIDTH = 4.0  # the cubic kernel's support, [-2, 2]


def cubic(x):
    """Keys' cubic convolution kernel with a = -0.5, MATLAB's `cubic`."""
    x = np.abs(np.asarray(x, np.float64))
    near = (1.5 * x - 2.5) * x * x + 1
    far = ((-0.5 * x + 2.5) * x - 4) * x + 2
    return np.where(x <= 1, near, np.where(x <= 2, far, 0.0))


def resize_weights(in_length, out_length, scale, antialias=True):
    """`(out_length, in_length)` matrix whose row `i` weighs the input samples of output sample `i`.

    MATLAB's `contributions`: output sample `x` (1-based) sits at input
    coordinate `x / scale + (1 - 1 / scale) / 2`; when downscaling with
    antialiasing the kernel is `scale * cubic(scale * d)`, `1 / scale` times
    wider; each row is normalised to sum to 1; input indices outside the image
    are mirrored with the edge sample repeated (MATLAB's `aux = [1:n, n:-1:1]`).
    """
    widen = antialias and scale < 1
    width = KERNEL_WIDTH / scale if widen else KERNEL_WIDTH
    centre = np.arange(1, out_length + 1) / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(centre - width / 2)
    taps = left[:, None] + np.arange(math.ceil(width) + 2)  # 1-based input indices
    distance = centre[:, None] - taps
    weights = scale * cubic(scale * distance) if widen else cubic(distance)
    weights /= weights.sum(axis=1, keepdims=True)
    mirrored = (taps.astype(np.int64) - 1) % (2 * in_length)
    mirrored = np.where(mirrored < in_length, mirrored, 2 * in_length - 1 - mirrored)
    matrix = np.zeros((out_length, in_length))
    np.add.at(matrix, (np.repeat(np.arange(out_length), taps.shape[1]), mirrored.ravel()), weights.ravel())
    return matrix


def imresize(image, scale=None, output_shape=None, antialias=True, quantize=False):
    """Resize an image `(h, w)` or `(h, w, c)` as MATLAB's `imresize(image, scale)` (or `(image, [h w])`) does
    with its default bicubic method.

    The output is `ceil(scale * h) x ceil(scale * w)` (or `output_shape`).
    Rows are resized first, then columns (MATLAB's order for equal scales).
    A uint8 image gives uint8, rounded (half away from zero) and saturated
    after each of the two passes, as MATLAB does; a float image gives floats
    of its dtype, unrounded, unless `quantize`: then the [0, 1] image is taken to
    8 bits (`to_uint8`) and resized as a uint8 one, and the result, in [0, 1],
    is a multiple of 1/255.
    """
    image = check_image(image, "imresize")
    if (scale is None) == (output_shape is None):
        raise InputError("imresize takes one of scale or output_shape; got "
                         f"{'both' if scale is not None else 'neither'}.")
    h, w = image.shape[:2]
    if output_shape is None:
        if not (isinstance(scale, numbers.Real) and math.isfinite(scale) and scale > 0):
            raise InputError(f"imresize's scale must be a positive number; got {scale!r}.")
        # ceil as MATLAB, less a hair so that e.g. 300 * (1 / 3) gives 100, not 101
        output_shape = tuple(math.ceil(scale * n - 1e-9) for n in (h, w))
        scales = (scale, scale)
    else:
        output_shape = tuple(int(n) for n in output_shape)
        if len(output_shape) != 2 or min(output_shape) < 1:
            raise InputError(f"imresize's output_shape must be (height, width) of at least one pixel; got "
                             f"{output_shape}.")
        scales = (output_shape[0] / h, output_shape[1] / w)
    levels = image.dtype == np.uint8 or quantize
    out = (to_uint8(image) if levels else image).astype(np.float64)
    for axis in (0, 1):
        weights = resize_weights(image.shape[axis], output_shape[axis], scales[axis], antialias)
        out = np.moveaxis(np.tensordot(weights, out, axes=(1, axis)), 0, axis)
        if levels:
            out = np.floor(np.clip(out, 0, 255) + 0.5)
    if image.dtype == np.uint8:
        return out.astype(np.uint8)
    return (out / 255 if quantize else out).astype(image.dtype)


def modcrop(image, scale):
    """The top-left part of `image` whose height and width are multiples of `scale` (MATLAB SR code's
    `modcrop`), so that downscaling by `scale` and upscaling back gives the cropped size again."""
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise InputError(f"modcrop takes an image (h, w) or (h, w, c); got shape {image.shape}.")
    if not (isinstance(scale, (int, np.integer)) and scale >= 1):
        raise InputError(f"modcrop's scale must be a positive integer; got {scale!r}.")
    h, w = (n - n % scale for n in image.shape[:2])
    if h == 0 or w == 0:
        raise InputError(f"an image of {image.shape[0]}x{image.shape[1]} pixels is smaller than the scale {scale}: "
                         "cropping it to a multiple of the scale leaves nothing.")
    return image[:h, :w]


def bicubic_pair(hr, scale=4, quantize=True):
    """`(lr, hr_cropped)`: the SR literature's low-resolution input for a high-resolution image, both float32 in
    [0, 1].

    `hr` is uint8 or float in [0, 1], `(h, w)` or `(h, w, c)`. It is cropped
    to multiples of `scale` (`modcrop`), then downscaled by `imresize(hr, 1 /
    scale)`. With `quantize` (the default) this is done as MATLAB does on the
    uint8 images the benchmarks are read as: the HR image is taken to 8 bits
    and the LR is rounded to 8 bits (after each pass), so `lr * 255` is whole;
    this is how the published bicubic and model rows were made. `quantize=False`
    keeps the LR in floats.
    """
    hr = check_image(hr, "bicubic_pair")
    if hr.dtype != np.uint8 and (hr.min() < 0 or hr.max() > 1):
        raise InputError(f"bicubic_pair takes float images in [0, 1] (or uint8); got values in "
                         f"[{hr.min():.4g}, {hr.max():.4g}].")
    hr = modcrop(hr, scale)
    lr = imresize(to_uint8(hr) if quantize else to_float(hr), 1 / scale)
    return to_float(lr), to_float(hr)


def to_uint8(image):
    """A [0, 1] float image as uint8, rounded half up (MATLAB's `im2uint8`); uint8 images pass unchanged."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return np.floor(np.clip(image.astype(np.float64), 0, 1) * 255 + 0.5).astype(np.uint8)


def to_float(image):
    """uint8 images as float32 in [0, 1]; float images as float32."""
    image = np.asarray(image)
    return image / np.float32(255) if image.dtype == np.uint8 else image.astype(np.float32)


def check_image(image, name):
    """`image` as an array `(h, w)` or `(h, w, c)`, c 1 or 3, uint8 or float, finite and not empty."""
    image = np.asarray(image)
    if image.dtype != np.uint8 and not np.issubdtype(image.dtype, np.floating):
        raise InputError(f"{name} takes uint8 or float images; got dtype {image.dtype}.")
    if image.ndim not in (2, 3):
        raise InputError(f"{name} takes one image (h, w) or (h, w, c); got shape {image.shape}.")
    if image.ndim == 3 and image.shape[2] == 4:
        raise InputError(f"{name} got 4 channels (shape {image.shape}): an alpha channel has no meaning here; "
                         "flatten the image onto a background or drop it (image[..., :3]).")
    if image.ndim == 3 and image.shape[2] not in (1, 3):
        raise InputError(f"{name} takes grey (1 channel) or RGB (3) images; got shape {image.shape}.")
    if image.size == 0:
        raise InputError(f"{name} got an empty image (shape {image.shape}).")
    if image.dtype != np.uint8 and not np.all(np.isfinite(image)):
        raise InputError(f"{name} got NaN or infinite pixels.")
    return image
