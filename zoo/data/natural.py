"""Natural images for denoising and super-resolution: the test sets, the training images, random patches.

Test sets (`TEST_SETS`, registered in `zoo.data.test_sets`; never trained on):
BSD68 (grey) and CBSD68 (colour), the 68 test images of the Berkeley
Segmentation Dataset (Martin et al., ICCV 2001) used by the denoising
literature since Roth & Black ("Fields of Experts", CVPR 2005); BSD100, the
BSDS300 test split BSD68 is drawn from; Set5 (Bevilacqua et al., BMVC 2012)
and Set14 (Zeyde et al., 2010), the super-resolution benchmarks.

Training images (`TRAIN_SETS`): T91 (Yang et al., IEEE TIP 2010) and BSD200
(the BSDS300 training split), the 291 images VDSR trained on, and Sun-Hays80
(Sun & Hays, ICCP 2012).

Files are read from `$ZOO_DATA_DIR` (default: the project's `../shared/data`),
laid out as `denoise_sr_extra/{BSD68,CBSD68,CSun_Hays80}`,
`sr_benchmarks/{Set5,Set14,BSD100}` and `sr_train/{T91,BSD200}`.
`PatchSampler` cuts random square patches with a random flip/rotation (the 8
symmetries of the square), as DnCNN's training does; the patches of batch `i`
of epoch `e` depend only on `(seed, e, i)`.
"""

import os
from pathlib import Path

import numpy as np

from zoo.data.batches import EpochBatches
from zoo.data.images import _image_files
from zoo.errors import DataNotFoundError, InputError

# name -> (folder under $ZOO_DATA_DIR, sub-folder of images)
SETS = {
    "bsd68": ("denoise_sr_extra", "BSD68"),
    "cbsd68": ("denoise_sr_extra", "CBSD68"),
    "sun_hays80": ("denoise_sr_extra", "CSun_Hays80"),
    "set5": ("sr_benchmarks", "Set5"),
    "set14": ("sr_benchmarks", "Set14"),
    "bsd100": ("sr_benchmarks", "BSD100"),
    "t91": ("sr_train", "T91"),
    "bsd200": ("sr_train", "BSD200"),
}
TEST_SETS = ("bsd68", "cbsd68", "bsd100", "set5", "set14")
TRAIN_SETS = ("t91", "bsd200", "sun_hays80")
_MODES = {1: "L", 3: "RGB"}


def data_dir():
    """`$ZOO_DATA_DIR`, else the `shared/data` folder next to the repository."""
    env = os.environ.get("ZOO_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"


def set_folder(name, root=None):
    """The folder of image set `name`."""
    if name not in SETS:
        raise InputError(f"Unknown image set {name!r}; expected one of {list(SETS)}.")
    return Path(root or data_dir()).joinpath(*SETS[name])


def image_files(name, root=None):
    """The image files of set `name`, sorted by file name."""
    folder = set_folder(name, root)
    if not folder.is_dir():
        raise DataNotFoundError(
            f"No folder {folder} for {name!r}. Set ZOO_DATA_DIR to a folder laid out like the "
            f"project's shared/data (it needs {'/'.join(SETS[name])})."
        )
    return [Path(f) for f in _image_files(folder)]


def read_image(path, channels=1, scale=1.0):
    """One image file as uint8 `(H, W, channels)`: grey (ITU-R 601 luma) or RGB, optionally downscaled.

    `scale < 1` resizes with Pillow's antialiased bicubic filter; the training
    recipe uses it to add coarser views of the large Sun-Hays80 photographs.
    """
    from PIL import Image

    if channels not in _MODES:
        raise InputError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}.")
    try:
        with Image.open(path) as opened:
            image = opened.convert(_MODES[channels])
    except (OSError, ValueError, SyntaxError) as e:
        raise DataNotFoundError(f"Cannot read image file {path}: {e}") from e
    if scale != 1.0:
        if not 0 < scale <= 1:
            raise InputError(f"scale must be in (0, 1], got {scale!r}.")
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.uint8).reshape(image.height, image.width, channels)


def load_images(name, channels=1, limit=None, root=None):
    """The images of set `name` as a list of float32 `(H, W, channels)` arrays in [0, 1].

    A list, because the images differ in size (BSD68 holds both 321x481 and
    481x321 images). `limit` keeps the first `limit` files.
    """
    files = image_files(name, root)[:limit]
    return [read_image(f, channels) / np.float32(255) for f in files]


def training_images(sets=TRAIN_SETS, channels=1, scales=(1.0,), root=None, min_side=None):
    """The uint8 images to cut training patches from: every image of `sets` at every scale.

    `min_side`, if given, leaves out the views whose shorter side is below it
    (T91's smallest image is 78 pixels: at half size it cannot give a 40-pixel
    patch); the caller asked, so it should say how many (`len` before and after).

    Raises:
        InputError: a test set (`TEST_SETS`) was asked for.
    """
    leaked = [s for s in sets if s in TEST_SETS]
    if leaked:
        raise InputError(
            f"{leaked} are test sets (zoo.data.test_sets); training on them would make the test numbers "
            f"meaningless. Train on {list(TRAIN_SETS)}."
        )
    views = [read_image(f, channels, scale) for s in sets for f in image_files(s, root) for scale in scales]
    return views if min_side is None else [v for v in views if min(v.shape[:2]) >= min_side]


class PatchSampler(EpochBatches):
    """Batches of random square patches, in [0, 1], from a list of images.

    Each patch comes from an image chosen with probability proportional to its
    number of patch positions (so every position is equally likely), at a
    uniform position, then one of the 8 flips/rotations is applied (when
    `augment`). A batch is a pure function of `(seed, epoch, index)`: reruns
    give the same patches, and each epoch gets new ones.

    Args:
        images: list of `(H, W, C)` arrays, uint8 in [0, 255] or floats in [0, 1],
            all with the same `C` and at least `patch_size` on each side.
        patch_size: side of the square patches.
        batch_size: patches per batch.
        steps: batches per epoch (`len(sampler)`).
        seed: the seed of every random choice.
        augment: apply random flips/rotations.
    """

    def __init__(self, images, patch_size=40, batch_size=64, steps=1000, seed=0, augment=True, **kwargs):
        super().__init__(steps, **kwargs)
        if not images:
            raise InputError("PatchSampler needs at least one image; got none.")
        channels = {np.shape(im)[-1] for im in images}
        if any(np.ndim(im) != 3 for im in images) or len(channels) != 1:
            raise InputError(
                f"PatchSampler needs (H, W, C) images with one channel count; got shapes "
                f"{sorted({np.shape(im) for im in images})[:5]}."
            )
        small = [i for i, im in enumerate(images) if min(np.shape(im)[:2]) < patch_size]
        if small:
            raise InputError(
                f"image {small[0]} has shape {np.shape(images[small[0]])}, smaller than patch_size="
                f"{patch_size}; drop it or use smaller patches."
            )
        self.images = images
        self.patch_size = int(patch_size)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.augment = augment
        positions = np.array([(h - patch_size + 1) * (w - patch_size + 1) for h, w, _ in map(np.shape, images)],
                             dtype=np.float64)
        self.weights = positions / positions.sum()

    def batch(self, index, epoch=0):
        """Batch `index` of epoch `epoch`: float32 `(batch_size, patch_size, patch_size, C)`."""
        rng = np.random.default_rng([self.seed, epoch, index])
        p = self.patch_size
        which = rng.choice(len(self.images), size=self.batch_size, p=self.weights)
        transforms = rng.integers(0, 8, size=self.batch_size) if self.augment else np.zeros(self.batch_size, int)
        patches = []
        for i, t in zip(which, transforms):
            image = self.images[i]
            top = rng.integers(0, image.shape[0] - p + 1)
            left = rng.integers(0, image.shape[1] - p + 1)
            patches.append(dihedral(image[top:top + p, left:left + p], t))
        patches = np.stack(patches)
        if patches.dtype == np.uint8:
            return patches.astype(np.float32) / np.float32(255)
        return patches.astype(np.float32, copy=False)


def dihedral(patch, t):
    """The `t`-th (0..7) of the 8 symmetries of the square: `t % 4` quarter turns, then a flip if `t >= 4`."""
    patch = np.rot90(patch, t % 4, axes=(0, 1))
    return patch[:, ::-1] if t >= 4 else patch
