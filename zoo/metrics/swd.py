"""Sliced Wasserstein distance between sets of images, on Laplacian-pyramid patches.

Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation", ICLR 2018 (arXiv:1710.10196), Sec. 5
and Appendix D, as the authors' metrics/sliced_wasserstein.py computes it:

- each image's Laplacian pyramid (`laplacian_pyramid`: the 5x5 binomial
  filter of Burt & Adelson, OpenCV's pyrDown/pyrUp, mirrored borders), down
  to 16x16: one level per resolution from the image's down to 16, the last
  the low-pass residual;
- at each level, `patches_per_image` (128) random 7x7 neighbourhoods per
  image, each a descriptor of 7 x 7 x C values;
- each set's descriptors normalised per colour channel to zero mean and unit
  standard deviation (over all its descriptors and positions, each set on its
  own statistics, as the authors' `finalize_descriptors`);
- the sliced Wasserstein distance between the two sets of descriptors
  (Rabin et al. 2011): the mean, over random unit directions, of the mean
  absolute difference between the sorted projections of the two sets;
  `repeats` (4) draws of `projections` (128) directions, 512 in all as the
  paper says, averaged;
- reported times 1e3, per level and averaged over the levels.

Lower is better; the finest level measures fine detail, the coarsest the
large-scale structure. Normalising each set on its own statistics makes the
distance blind to a per-channel affine change of one set (brightness,
contrast) at every level: it compares the shapes of the patch distributions.

Numpy only, seeded: one `seed` gives one answer. Both sets are sampled at
the same patch positions (drawn from the seed, not from the images), so the
distance is symmetric and a set's distance to itself is 0.
"""

import numpy as np

from zoo.errors import InputError

# The 5-tap binomial filter; its outer product / 256 is the authors' 5x5 `gaussian_filter`.
BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0], dtype=np.float32) / 16.0
PATCH_SIZE = 7
PATCHES_PER_IMAGE = 128
PROJECTIONS = 128  # directions per repeat (the authors' dirs_per_repeat)
REPEATS = 4  # 4 x 128 = the paper's 512 projections
MIN_RESOLUTION = 16  # the coarsest level the paper reports
SCALE = 1e3  # the paper reports SWD x 10^3


def _filter(images, taps):
    """Separable filtering of (n, H, W, C) along H and W with `taps`, borders mirrored without repeating the edge
    (numpy's 'reflect', scipy.ndimage's 'mirror', OpenCV's BORDER_REFLECT_101)."""
    r = len(taps) // 2
    h, w = images.shape[1], images.shape[2]
    x = np.pad(images, ((0, 0), (r, r), (0, 0), (0, 0)), mode="reflect")
    x = sum(t * x[:, i:i + h] for i, t in enumerate(taps))
    x = np.pad(x, ((0, 0), (0, 0), (r, r), (0, 0)), mode="reflect")
    return sum(t * x[:, :, j:j + w] for j, t in enumerate(taps)).astype(np.float32)


def pyr_down(images):
    """(n, H, W, C) -> (n, ceil(H / 2), ceil(W / 2), C): binomial blur, then every other pixel (cv2.pyrDown)."""
    return _filter(np.asarray(images, np.float32), BINOMIAL)[:, ::2, ::2]


def pyr_up(images):
    """(n, H, W, C) -> (n, 2H, 2W, C): zeros between the pixels, then the binomial blur times 4 (cv2.pyrUp)."""
    images = np.asarray(images, np.float32)
    n, h, w, c = images.shape
    up = np.zeros((n, 2 * h, 2 * w, c), np.float32)
    up[:, ::2, ::2] = images
    return _filter(up, 2.0 * BINOMIAL)


def laplacian_pyramid(images, levels):
    """`levels` arrays, finest first: the band-pass differences `g_k - pyr_up(g_{k+1})` of the Gaussian
    pyramid `g_0 = images, g_{k+1} = pyr_down(g_k)`, and last the low-pass `g_{levels-1}` itself.

    `images` (n, H, W, C), H and W divisible by 2^(levels - 1). `reconstruct_laplacian_pyramid` inverts it.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise InputError(f"laplacian_pyramid takes a batch of images (n, H, W, C); got shape {images.shape}")
    if int(levels) < 1:
        raise InputError(f"levels must be >= 1; got {levels!r}")
    factor = 2 ** (int(levels) - 1)
    if images.shape[1] % factor or images.shape[2] % factor:
        raise InputError(f"{levels} pyramid levels need sides divisible by {factor}; got {images.shape[1:3]}")
    gaussian = [images]
    for _ in range(int(levels) - 1):
        gaussian.append(pyr_down(gaussian[-1]))
    return [g - pyr_up(coarser) for g, coarser in zip(gaussian[:-1], gaussian[1:])] + [gaussian[-1]]


def reconstruct_laplacian_pyramid(pyramid):
    """The images a `laplacian_pyramid` was made from: `x_k = band_k + pyr_up(x_{k+1})`, from the low-pass up."""
    images = pyramid[-1]
    for band in pyramid[-2::-1]:
        images = pyr_up(images) + band
    return images


def pyramid_resolutions(size, min_resolution=MIN_RESOLUTION):
    """The resolutions the metric reports for images of side `size`: size, size / 2, ... down to `min_resolution`."""
    out = []
    while size >= min_resolution:
        out.append(int(size))
        size //= 2
    return out


def patch_positions(n, height, width, patch_size=PATCH_SIZE, patches_per_image=PATCHES_PER_IMAGE, seed=0):
    """Top-left corners `(rows, cols)`, each (n, patches_per_image), uniform over where a patch fits whole."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, height - patch_size + 1, size=(n, patches_per_image))
    cols = rng.integers(0, width - patch_size + 1, size=(n, patches_per_image))
    return rows, cols


def patch_descriptors(images, rows, cols, patch_size=PATCH_SIZE):
    """(n * patches, patch_size * patch_size * C) float32: the patches of `images` (n, H, W, C) at `rows`, `cols`."""
    n, per_image = rows.shape
    offsets = np.arange(patch_size)
    r = rows[:, :, None, None] + offsets[None, None, :, None]  # (n, P, p, 1)
    c = cols[:, :, None, None] + offsets[None, None, None, :]  # (n, P, 1, p)
    patches = images[np.arange(n)[:, None, None, None], r, c]  # (n, P, p, p, C)
    return patches.reshape(n * per_image, -1).astype(np.float32)


def normalize_descriptors(descriptors, channels):
    """Each colour channel to zero mean and unit standard deviation over all descriptors and positions (a
    constant channel is only centred). Statistics in float64, descriptors kept float32."""
    d = np.asarray(descriptors, np.float32).reshape(len(descriptors), -1, channels)
    mean = d.mean(axis=(0, 1), dtype=np.float64)
    std = d.std(axis=(0, 1), dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    return ((d - mean.astype(np.float32)) / std.astype(np.float32)).reshape(len(descriptors), -1)


def sliced_wasserstein_distance(a, b, projections=PROJECTIONS, repeats=REPEATS, seed=0, chunk=None):
    """Sliced Wasserstein distance between point sets `a` and `b` (m, d), m the same for both.

    For each of `repeats` draws of `projections` random unit directions: both
    sets projected on each, sorted, the mean absolute difference of the
    sorted values (the 1-D Wasserstein-1 distance between the projections),
    averaged over directions; then averaged over repeats. Not scaled.
    Directions are projected `chunk` at a time to bound the memory (default:
    about 2^24 projected values, 64 MB, at once).
    """
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.ndim != 2 or a.shape != b.shape:
        raise InputError(f"sliced_wasserstein_distance needs two (m, d) arrays of one shape; got {a.shape} and "
                         f"{b.shape}")
    if int(projections) < 1 or int(repeats) < 1:
        raise InputError(f"projections and repeats must be >= 1; got {projections!r}, {repeats!r}")
    chunk = max(1, (1 << 24) // max(1, len(a))) if chunk is None else int(chunk)
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(int(repeats)):
        directions = rng.standard_normal((a.shape[1], int(projections)))
        directions = (directions / np.sqrt(np.sum(np.square(directions), axis=0, keepdims=True))).astype(np.float32)
        total = 0.0
        for start in range(0, directions.shape[1], chunk):
            d = directions[:, start:start + chunk]
            total += float(np.sum(np.abs(np.sort(a @ d, axis=0) - np.sort(b @ d, axis=0)), dtype=np.float64))
        results.append(total / (a.shape[0] * directions.shape[1]))
    return float(np.mean(results))


def _check_sets(real, fake, min_resolution, patch_size):
    sets = []
    for name, x in (("real", real), ("fake", fake)):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as e:
            raise InputError(f"{name} must be an array of images (n, H, W, C); numpy cannot convert it: {e}") from e
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4 or len(x) == 0:
            raise InputError(f"{name} must be a non-empty batch of images (n, H, W, C) or (n, H, W); got shape "
                             f"{x.shape}")
        if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
            raise InputError(f"{name} must hold numbers; got dtype {x.dtype}")
        if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
            raise InputError(f"{name} holds NaN or infinite values")
        sets.append(x)  # converted to float32 a batch at a time
    real, fake = sets
    if real.shape != fake.shape:
        raise InputError(f"real and fake must be batches of one shape (the same number of images of one size and "
                         f"channel count); got {real.shape} and {fake.shape}")
    side = min(real.shape[1:3])
    if side < max(min_resolution, patch_size):
        raise InputError(f"images must be at least {max(min_resolution, patch_size)} pixels a side (the coarsest "
                         f"level is {min_resolution}x{min_resolution}); got {real.shape[1:3]}")
    levels = len(pyramid_resolutions(side, min_resolution))
    factor = 2 ** (levels - 1)
    if real.shape[1] % factor or real.shape[2] % factor:
        raise InputError(f"images of {real.shape[1]}x{real.shape[2]} make {levels} pyramid levels down to "
                         f"{min_resolution}, so their sides must be divisible by {factor}")
    return real, fake, levels


def _level_descriptors(images, levels, k, rows, cols, patch_size, batch_size):
    """The normalised-to-be descriptors of pyramid level `k` of `images`, `batch_size` images at a time (band k
    needs the Gaussian levels k and k + 1 only)."""
    depth = min(k + 2, levels)
    return np.concatenate([
        patch_descriptors(laplacian_pyramid(images[i:i + batch_size].astype(np.float32), depth)[k],
                          rows[i:i + batch_size], cols[i:i + batch_size], patch_size)
        for i in range(0, len(images), batch_size)])


def sliced_wasserstein(real, fake, patch_size=PATCH_SIZE, patches_per_image=PATCHES_PER_IMAGE,
                       projections=PROJECTIONS, repeats=REPEATS, min_resolution=MIN_RESOLUTION, seed=0, batch_size=256):
    """The paper's SWD x 1e3 between two sets of images, per Laplacian-pyramid level and averaged.

    Args:
        real, fake: (n, H, W, C) or (n, H, W) images, the same shape for both
            (the paper: 16384 images each, uint8 or float, any range: each set
            is normalised per channel).
        patch_size: side of the neighbourhoods (7).
        patches_per_image: neighbourhoods drawn per image and level (128).
        projections, repeats: random directions per repeat, and repeats (128 x 4).
        min_resolution: the coarsest level (16): levels are taken while the
            shorter side is at least this; H and W must be divisible down to it.
        seed: patch positions and directions.
        batch_size: images filtered at a time (memory only: the answer is the same).

    Memory: the descriptors of one level of both sets, 2 x n x patches_per_image
    x patch_size^2 x C float32 (1.2 GB a set for the paper's 16384 RGB images).

    Returns:
        `{"per_level": {resolution: SWD x 1e3, finest first}, "mean": their mean}`;
        the resolution of a level is its height.
    """
    real, fake, levels = _check_sets(real, fake, int(min_resolution), int(patch_size))
    if int(batch_size) < 1:
        raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
    n, height, width, channels = real.shape
    per_level = {}
    for k in range(levels):
        h, w = height >> k, width >> k
        rows, cols = patch_positions(n, h, w, int(patch_size), int(patches_per_image), seed=[seed, 0, k])
        a, b = (normalize_descriptors(_level_descriptors(x, levels, k, rows, cols, int(patch_size), int(batch_size)),
                                      channels) for x in (real, fake))
        per_level[int(h)] = SCALE * sliced_wasserstein_distance(a, b, projections, repeats, seed=[seed, 1, k])
    return {"per_level": per_level, "mean": float(np.mean(list(per_level.values())))}
