"""Classical hole filling: the baselines a completion network is compared with, and the paper's post-processing.

Each fill takes one float image in [0, 1], `(H, W)` or `(H, W, C)`, and a
mask `(H, W)` that is True in the hole (`zoo.data.masks.check_mask`), and
returns an image of the same shape and dtype whose pixels outside the hole
are the input's, exactly. An empty mask gives the image back unchanged.

- `mean_fill`: the hole filled with one colour, the known pixels' mean (or a
  given one); a completion network's input gets the training set's mean
  pixel in its hole (Iizuka et al., Sec. 3.1).
- `biharmonic_fill`: the smoothest surface through the known pixels (Damelin &
  Hoang 2018, scikit-image's `inpaint_biharmonic`).
- `telea_fill`: the fast marching method (Telea, "An Image Inpainting
  Technique Based on the Fast Marching Method", J. Graphics Tools 2004),
  OpenCV's `cv2.inpaint`.
- `poisson_blend`, `postprocess`: Iizuka, Simo-Serra & Ishikawa, "Globally and
  Locally Consistent Image Completion", SIGGRAPH 2017, Sec. 3.4: "fast marching
  method [Telea 2004] followed by Poisson image blending [Perez et al. 2003]"
  to hide a network's colour inconsistencies at the hole's border.
"""

import numpy as np

from zoo.data.masks import check_mask
from zoo.errors import InputError

POSTPROCESS_RADIUS = 1  # the reference code's cv.inpaint radius before seamlessClone
POSTPROCESS_MARGIN = 3  # the rings of the hole where seamlessClone follows the Telea fill (it erodes the mask 3 times)


def mean_fill(image, mask, value=None):
    """The hole filled with one colour: `value` (a number, or one per channel), or by default the mean of the
    known pixels, per channel."""
    image, mask = _check(image, mask, "mean_fill")
    if not mask.any():
        return image.copy()
    channels = image.reshape(image.shape[0], image.shape[1], -1).shape[2]
    if value is None:
        colour = image[~mask].reshape(-1, channels).astype(np.float64).mean(axis=0)
    else:
        colour = np.asarray(value, np.float64).reshape(-1)
        if colour.size not in (1, channels) or not np.all((colour >= 0) & (colour <= 1)):
            raise InputError(f"mean_fill's value must be a number in [0, 1] or one per channel ({channels}); got "
                             f"{value!r}.")
    out = image.copy()
    out[mask] = colour.astype(image.dtype) if image.ndim == 3 else colour[0].astype(image.dtype)
    return out


def biharmonic_fill(image, mask):
    """The hole filled by biharmonic inpainting (`skimage.restoration.inpaint_biharmonic`, each channel of a
    colour image through `channel_axis`): it solves the biharmonic equation inside the hole, so a hole in a
    linear (or any biharmonic) image is filled back exactly, away from the image's borders. The fill is clipped
    to [0, 1]."""
    from skimage.restoration import inpaint_biharmonic

    image, mask = _check(image, mask, "biharmonic_fill")
    if not mask.any():
        return image.copy()
    grey = image.ndim == 2 or image.shape[2] == 1
    source = (image if image.ndim == 2 else image[..., 0]) if grey else image
    filled = inpaint_biharmonic(source.astype(np.float64), mask, channel_axis=None if grey else -1)
    return _paste(image, np.clip(filled, 0, 1).reshape(image.shape), mask)


def telea_fill(image, mask, radius=3):
    """The hole filled by Telea's fast marching method (`cv2.inpaint` with `cv2.INPAINT_TELEA`), each pixel a
    weighted extrapolation from the known pixels within `radius`.

    OpenCV inpaints 8-bit images, so the image is taken to 8 bits first
    (rounded, `zoo.data.resize.to_uint8`) and the filled pixels come back as
    multiples of 1/255: the fill is computed from the rounded known pixels
    and is itself rounded (an error of up to 1/510 from 8-bit rounding alone).
    The known pixels are the input's, unrounded.
    """
    import cv2

    from zoo.data.resize import to_uint8

    image, mask = _check(image, mask, "telea_fill")
    if not (isinstance(radius, (int, float, np.integer, np.floating)) and radius > 0):
        raise InputError(f"telea_fill's radius must be a positive number of pixels; got {radius!r}.")
    if not mask.any():
        return image.copy()
    pixels = to_uint8(image)
    pixels = pixels.reshape(image.shape[0], image.shape[1], -1)
    holes = mask.astype(np.uint8)
    if pixels.shape[2] in (1, 3):
        filled = cv2.inpaint(np.ascontiguousarray(pixels), holes, float(radius), cv2.INPAINT_TELEA)
    else:  # OpenCV takes 1 or 3 channels; Telea's weights do not depend on the colour, so channels are apart
        filled = np.stack([cv2.inpaint(np.ascontiguousarray(pixels[..., c]), holes, float(radius),
                                       cv2.INPAINT_TELEA) for c in range(pixels.shape[2])], axis=-1)
    return _paste(image, (filled / 255.0).reshape(image.shape), mask)


def poisson_blend(image, filled, mask, border_fill=None, margin=POSTPROCESS_MARGIN):
    """Poisson image blending (Perez, Gangnet & Blake, "Poisson Image Editing", SIGGRAPH 2003) of a fill into
    the image's hole: inside the hole, the result's gradient is the fill's, and at the hole's edge it meets the
    known pixels.

    The hole's pixels f solve Perez et al.'s discrete equation (their Eq. 7)
    for every hole pixel p and its 4-neighbours q inside the image:
    `|N_p| f_p - sum_{q in hole} f_q = sum_{q known} image_q + sum_q v_pq`,
    with `v_pq = filled_p - filled_q`, the known pixels around the hole as the
    Dirichlet boundary (neighbours beyond the image's border are left out:
    Neumann there). One sparse LU factorisation (scipy.sparse) serves every
    channel. The result is the image outside the hole, exactly, and the
    solution, clipped to [0, 1], inside. A fill whose gradient is the image's
    (the image plus a constant, say) gives the image back.

    `filled` is a whole image of `image`'s shape, e.g. a completion network's
    output; outside the hole it counts only at the known neighbours of hole
    pixels, through `v_pq`. With `border_fill` (an image of the same shape),
    `v_pq` is `border_fill`'s difference instead wherever p or q lies within
    `margin` pixels of the hole's edge (outside the hole eroded `margin` times
    by a 3x3 square): the hole's border follows `border_fill`, its core the
    fill's texture. `postprocess` passes Telea's fill there, as OpenCV's
    `seamlessClone` does in the authors' code.
    """
    import scipy.sparse
    import scipy.sparse.linalg

    image, mask = _check(image, mask, "poisson_blend")
    filled = _same(filled, image, "poisson_blend's filled")
    guides = [filled.astype(np.float64)]
    if border_fill is not None:
        if not (isinstance(margin, (int, np.integer)) and margin >= 0):
            raise InputError(f"poisson_blend's margin must be a whole number of pixels >= 0; got {margin!r}.")
        guides.append(_same(border_fill, image, "poisson_blend's border_fill").astype(np.float64))
    if not mask.any():
        return image.copy()
    height, width = mask.shape
    known = image.reshape(height, width, -1).astype(np.float64)
    guides = [g.reshape(height, width, -1) for g in guides]
    core = mask if border_fill is None else _erode(mask, margin)
    index = np.full(mask.shape, -1, np.int64)
    index[mask] = np.arange(int(mask.sum()))
    ys, xs = np.nonzero(mask)
    unknowns = len(ys)
    rows, cols, degree = [], [], np.zeros(unknowns)
    rhs = np.zeros((unknowns, known.shape[2]))
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        qy, qx = ys + dy, xs + dx
        inside = (qy >= 0) & (qy < height) & (qx >= 0) & (qx < width)
        p, qy, qx = np.flatnonzero(inside), qy[inside], qx[inside]
        py, px = ys[p], xs[p]
        degree[p] += 1
        guide = np.where((core[py, px] & core[qy, qx])[:, None], guides[0][py, px] - guides[0][qy, qx],
                         guides[-1][py, px] - guides[-1][qy, qx])
        np.add.at(rhs, p, guide)
        hole = mask[qy, qx]
        rows.append(p[hole])
        cols.append(index[qy[hole], qx[hole]])
        np.add.at(rhs, p[~hole], known[qy[~hole], qx[~hole]])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    matrix = scipy.sparse.csc_matrix(
        (np.concatenate([degree, -np.ones(len(rows))]),
         (np.concatenate([np.arange(unknowns), rows]), np.concatenate([np.arange(unknowns), cols]))),
        shape=(unknowns, unknowns))
    solution = scipy.sparse.linalg.splu(matrix).solve(rhs)
    out = known.copy()
    out[ys, xs] = np.clip(solution, 0, 1)
    return _paste(image, out.reshape(image.shape), mask)


def postprocess(image, filled, mask, radius=POSTPROCESS_RADIUS, margin=POSTPROCESS_MARGIN):
    """Iizuka et al.'s post-processing of a completion: Telea's fast marching fill, then Poisson blending.

    The authors' code (satoshiiizuka/siggraph2017_inpainting, `inpaint.lua
    --postproc`) runs `cv.inpaint(out, mask, inpaintRadius=1, INPAINT_TELEA)`
    on the network's completed image, then `cv.seamlessClone(src=out,
    dst=<that Telea fill>, mask, NORMAL_CLONE)`. OpenCV's seamless cloning
    erodes the mask three times with a 3x3 square and takes the network's
    gradient on the eroded hole, the Telea fill's elsewhere, so the hole's
    outer 3 pixels follow Telea's smooth extrapolation of the surroundings
    and its core the network's texture, the colours meeting the known pixels.
    This is `poisson_blend(image, filled, mask, border_fill=telea_fill(image,
    mask, radius), margin)` with those values. It differs from OpenCV in
    four ways, none of them the method: the equation is solved on the hole's
    pixels only, with the known pixels around it as the boundary (OpenCV
    solves on the hole's bounding rectangle with the rectangle's border as
    the boundary: on a rectangular hole that border is the Telea fill's outer
    ring, and on a free-form hole it moves the known pixels inside the
    rectangle, by up to 0.03 in our trials); the blend stays in floats (OpenCV
    works on 8-bit images; Telea's fill here is still 8-bit, see
    `telea_fill`); an edge between the core and the ring follows Telea in
    both directions (OpenCV's forward differences take the network's in one);
    and OpenCV's `p`, the hole's centre, puts a hole of even side one pixel
    off. On a 21x25 hole of a smooth 64x64 colour image with a shifted,
    textured fill, the two agree within 0.003 mean absolute difference in the
    hole (tests/test_classical_fill.py checks it).

    Args:
        image: the original with its hole, float `(H, W)` or `(H, W, C)` in [0, 1].
        filled: the network's output, same shape (its hole is what counts).
        mask: True in the hole.
        radius: Telea's radius (1 in the authors' code).
        margin: the hole's rings that follow Telea's gradient (3, OpenCV's).
    """
    image, mask = _check(image, mask, "postprocess")
    return poisson_blend(image, filled, mask, border_fill=telea_fill(image, mask, radius), margin=margin)


BASELINES = {"mean": mean_fill, "biharmonic": biharmonic_fill, "telea": telea_fill}


def _erode(mask, times):
    """`mask` eroded `times` times by a 3x3 square; pixels beyond the image's border count as in the hole."""
    from scipy.ndimage import binary_erosion

    if times == 0:
        return mask
    return binary_erosion(mask, structure=np.ones((3, 3), bool), iterations=times, border_value=1)


def _paste(image, filled, mask):
    """`image` with its hole's pixels taken from `filled`, in `image`'s dtype."""
    out = image.copy()
    out[mask] = filled[mask].astype(image.dtype)
    return out


def _check(image, mask, caller):
    image = np.asarray(image)
    if image.dtype == np.bool_ or np.issubdtype(image.dtype, np.integer):
        raise InputError(f"{caller} takes float images in [0, 1]; got dtype {image.dtype}. uint8 images must be "
                         "divided by 255: x.astype('float32') / 255.")
    if not np.issubdtype(image.dtype, np.floating):
        raise InputError(f"{caller} takes float images in [0, 1]; got dtype {image.dtype}.")
    if image.ndim not in (2, 3) or image.size == 0:
        hint = " For a batch, fill each image: [fill(x, m) for x, m in zip(images, masks)]." if image.ndim == 4 \
            else ""
        raise InputError(f"{caller} takes one image (H, W) or (H, W, C); got shape {image.shape}.{hint}")
    if not np.all(np.isfinite(image)):
        raise InputError(f"{caller} got NaN or infinite pixels.")
    low, high = float(image.min()), float(image.max())
    if low < 0 or high > 1:
        scale = " Images on the 0..255 scale must be divided by 255." if high > 1 and low >= 0 else ""
        raise InputError(f"{caller} got values in [{low:g}, {high:g}]; expected floats in [0, 1].{scale}")
    return image, check_mask(mask, image.shape, f"{caller}'s mask")


def _same(other, image, name):
    other = np.asarray(other)
    if not np.issubdtype(other.dtype, np.floating) or other.shape != image.shape:
        raise InputError(f"{name} must be a float image of the image's shape {image.shape}; got {other.dtype} "
                         f"{other.shape}.")
    if not np.all(np.isfinite(other)):
        raise InputError(f"{name} holds NaN or infinite values.")
    return other
