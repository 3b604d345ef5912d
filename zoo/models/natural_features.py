"""Natural-image feature networks the zoo trains itself: `naturalnet` for content losses, `natural_judge` to score.

No ImageNet is reachable offline, so SRGAN's content loss cannot use VGG19's
ImageNet weights, and FID over the 5-14 images of an SR test set means
nothing. Both networks here are trained by the zoo, self-supervised, on the
natural-image training sets only (T91, BSD200, Sun-Hays80; `zoo.data.natural`),
never on a test set (Set5, Set14, BSD100, BSD68).

- `RotationNet` (`naturalnet`): a VGG19-BN-style network (3x3 convolutions,
  each with BatchNorm and ReLU, 2x2 max pooling; blocks of 2, 2, 4, 4 convolutions named as VGG19's
  `conv1_1` ... `conv4_4`, each the activation after its ReLU, and `pool1` ...
  `pool4`) trained to tell by how many quarter turns a patch was rotated
  (Gidaris, Singh & Komodakis, "Unsupervised Representation Learning by
  Predicting Image Rotations", ICLR 2018): each upright patch of a batch is
  shown in all four rotations, a 4-way classification (the paper found the
  four in one batch best). The answer needs what is up in a photograph (sky,
  ground, lighting, the pose of things), so the features describe content
  rather than pixels. Its `body` is the functional graph that
  `zoo.losses.PerceptualLoss` taps by layer name, e.g. `PerceptualLoss(net,
  "conv4_4")`, the analogue of SRGAN's VGG54 (the last convolution, after its
  ReLU, before the last pooling; `conv2_2` is VGG22's).
- `NaturalJudge` (`natural_judge`): another architecture (residual blocks
  with BatchNorm, He et al. 2016, and global average pooling, as the zoo's
  other judges differ from its feature networks), another pretext, another
  seed: the relative position of two tiles (Doersch, Gupta & Efros,
  "Unsupervised Visual Representation Learning by Context Prediction", ICCV
  2015): a centre tile and one of its 8 neighbours on a 3x3 grid, with gaps
  and random jitter between the tiles so that lines running across a border
  do not give the answer; the two tiles go through the same body, and a small
  head classifies the pair of feature vectors into the 8 positions. It is
  cheap on a CPU (two 32-pixel tiles an example) and its task (where parts
  of a scene lie relative to each other) is another than rotation, so the
  judge does not share what naturalnet learned to attend to. It is a judge
  from the moment it is built (`zoo.metrics.judges.mark_judge`): a
  perceptual loss refuses it.
- `perceptual_distance(judge, reference, images)`: a patch-level perceptual
  distance on the judge's features, LPIPS-style without learned weights
  (Zhang, Isola, Efros, Shechtman & Wang, "The Unreasonable Effectiveness of
  Deep Features as a Perceptual Metric", CVPR 2018, Eq. 1 with w_l = 1, their
  "lin"-free baseline): the activations at several layers (the stem and every
  residual stage), unit-normalised along the channels at each position, their
  squared differences summed over channels, averaged over positions and
  summed over the layers. 0 for identical images, symmetric, per image.

Colour: every file of the training sets is stored as RGB; one, T91's
t55.bmp, shows a grey scene (R = G = B). Both networks take RGB; grey images
are replicated to three channels (what Pillow's convert("RGB") does to a grey
file, and what `perceptual_distance` does to one-channel inputs), never
skipped: a grey photograph is a natural image too, and SR outputs of grey
images reach the judge that way.
"""

import re
import weakref

import keras
import numpy as np
from keras import layers, ops

from zoo.data import check_images
from zoo.data.batches import EpochBatches
from zoo.data.natural import PatchSampler
from zoo.errors import InputError
from zoo.losses import classification_terms
from zoo.trainers import SingleLossModel

ROTATIONS = 4  # quarter turns: label k is k turns counterclockwise, np.rot90(image, k)
# Doersch et al.'s 8 positions of the neighbour tile on the 3x3 grid (row, column), centre (1, 1) left out.
POSITIONS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2))
# The judge's layers for the perceptual distance (after each ReLU): the stem and the output of every stage.
LPIPS_EPSILON = 1e-10  # LPIPS' normalize_tensor
METRIC_KEY = "perceptual_distance_natural_judge"  # judge metrics carry the judge's name (zoo.metrics.judges)


# The rotation pretext ---------------------------------------------------------------------------------------

def rotate(x, k):
    """`x` (n, H, W, C), a tensor, turned `k` quarter turns counterclockwise: `np.rot90(x, k, axes=(1, 2))`."""
    k = int(k) % ROTATIONS
    for _ in range(k):  # one quarter turn: swap rows and columns, then reverse the rows
        x = ops.flip(ops.transpose(x, (0, 2, 1, 3)), axis=1)
    return x


def rotation_batch(x):
    """Upright square patches `(n, S, S, C)` -> `(4n, S, S, C)` and labels `(4n,)` int32: the n patches
    unturned (label 0), then turned once (label 1), twice (2), three times (3), counterclockwise. In
    `keras.ops`, so a step builds it on every backend."""
    shape = tuple(x.shape)
    if len(shape) != 4:
        raise ValueError(f"rotation_batch needs (n, S, S, C) patches; got shape {shape}")
    if shape[1] is not None and shape[2] is not None and shape[1] != shape[2]:
        raise ValueError(f"the rotation pretext needs square patches (a turned patch keeps its shape); got "
                         f"{shape[1]}x{shape[2]}")
    n = ops.shape(x)[0]
    images = ops.concatenate([rotate(x, k) for k in range(ROTATIONS)], axis=0)
    labels = ops.repeat(ops.arange(ROTATIONS, dtype="int32"), n)
    return images, labels


def rotations(x):
    """Numpy: upright square patches `(n, S, S, C)` -> `(4n, S, S, C)` and labels `(4n,)`, as `rotation_batch`."""
    x = np.asarray(x)
    return (np.concatenate([np.rot90(x, k, axes=(1, 2)) for k in range(ROTATIONS)]),
            np.repeat(np.arange(ROTATIONS, dtype=np.int32), len(x)))


def vgg_features(channels=3, widths=(32, 64, 128, 256), depths=(2, 2, 4, 4), batch_norm=False, name="body"):
    """Images in [0, 1] `(n, H, W, channels)`, any size -> VGG-style features (Simonyan & Zisserman 2015).

    Block b (1-based) has `depths[b-1]` 3x3 convolutions of `widths[b-1]`
    filters, each with its ReLU (`conv{b}_{i}`, the activation after the
    ReLU, as Keras' VGG19 and SRGAN's phi_{i,j}), then 2x2 max pooling
    (`pool{b}`); He-normal initial weights. With `batch_norm` (VGG19-BN) each
    convolution (`conv{b}_{i}_conv`, no bias) is followed by BatchNormalization
    (`conv{b}_{i}_bn`) before its ReLU, which keeps the name `conv{b}_{i}`.
    The images are first mapped to [-1, 1] (`scale`).
    """
    if len(widths) != len(depths) or not widths or min(widths) < 1 or min(depths) < 1:
        raise ValueError(f"widths and depths need one positive entry per block; got {widths!r} and {depths!r}")
    inputs = keras.Input((None, None, channels))
    x = layers.Rescaling(2.0, offset=-1.0, name="scale")(inputs)
    for b, (width, depth) in enumerate(zip(widths, depths), start=1):
        for i in range(1, depth + 1):
            conv = f"conv{b}_{i}"
            if batch_norm:
                x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer="he_normal",
                                  name=f"{conv}_conv")(x)
                x = layers.BatchNormalization(name=f"{conv}_bn")(x)
                x = layers.ReLU(name=conv)(x)
            else:
                x = layers.Conv2D(width, 3, padding="same", activation="relu", kernel_initializer="he_normal",
                                  name=conv)(x)
        x = layers.MaxPooling2D(2, name=f"pool{b}")(x)
    return keras.Model(inputs, x, name=name)


def _check_size(x, minimum, what="images"):
    if min(x.shape[1:3]) < minimum:
        raise InputError(f"{what} are {x.shape[1]}x{x.shape[2]}, smaller than this network's {minimum}x{minimum} "
                         "(its downsampling would leave nothing of them); use larger images.")
    return x


def _check_square(x, minimum, what):
    if x.shape[1] != x.shape[2]:
        raise InputError(f"{what} must be square (a patch turned a quarter turn keeps its shape); got "
                         f"{x.shape[1]}x{x.shape[2]} images (shape {x.shape}). Crop them square.")
    return _check_size(x, minimum, what)


@keras.saving.register_keras_serializable(package="zoo")
class RotationNet(SingleLossModel):
    """A VGG-style network trained to predict image rotations (Gidaris et al. 2018): naturalnet.

    `fit(patches)` takes upright square patches `(n, S, S, C)` in [0, 1]
    (no labels): each step shows every patch in its four rotations and
    minimises the 4-way cross-entropy (`loss`; `accuracy` logged). `fit(x, y)`
    with already rotated patches and their labels (0-3) works too. The
    functional `body` (`vgg_features`) is what `PerceptualLoss` taps:
    `PerceptualLoss(net, ["conv2_2", "conv4_4"])`.

    Args:
        channels: image channels (3; grey images are replicated to RGB).
        widths, depths: filters and convolutions of each block (`vgg_features`).
        batch_norm: BatchNormalization after each convolution (`vgg_features`); inference mode in a loss.
        hidden: units of the head's hidden layer (after global average pooling).
    """

    tracked = ("loss", "accuracy")

    def __init__(self, channels=3, widths=(32, 64, 128, 256), depths=(2, 2, 4, 4), hidden=256, batch_norm=False,
                 **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.widths = tuple(int(w) for w in widths)
        self.depths = tuple(int(d) for d in depths)
        self.hidden = int(hidden)
        self.batch_norm = bool(batch_norm)
        self.body = vgg_features(self.channels, self.widths, self.depths, self.batch_norm)
        features = keras.Input((None, None, self.widths[-1]))
        x = layers.GlobalAveragePooling2D(name="average")(features)
        x = layers.Dense(self.hidden, activation="relu", kernel_initializer="he_normal", name="fc")(x)
        self.head = keras.Model(features, layers.Dense(ROTATIONS, name="logits")(x), name="head")
        self.built = True

    @property
    def min_size(self):
        """The smallest patch side: one pixel left after every pooling."""
        return 2 ** len(self.widths)

    @property
    def feature_layers(self):
        """The names of the convolutions (after their ReLU) a perceptual loss can compare at."""
        return [layer.name for layer in self.body.layers if re.fullmatch(r"conv\d+_\d+", layer.name)]

    def call(self, x, training=False):
        return self.head(self.body(x, training=training), training=training)

    def compute_terms(self, x, y=None, training=False):
        if y is None:
            x, y = rotation_batch(x)
        return classification_terms(self(x, training=training), y)

    # Numpy API ------------------------------------------------------------------------------------------------

    def check_inputs(self, x):
        return _check_square(check_images(x, channels=self.channels), self.min_size, "patches")

    def features(self, x, batch_size=32):
        """The last block's activations averaged over positions `(n, widths[-1])`, for images `(n, H, W, C)` of
        any size of at least `min_size` (a linear probe's input; the content loss taps `body` instead)."""
        x = _check_size(check_images(x, channels=self.channels), self.min_size)
        return np.concatenate([ops.convert_to_numpy(self.body(x[i:i + batch_size], training=False)).mean(axis=(1, 2))
                               for i in range(0, len(x), batch_size)])

    def predict_rotations(self, x, batch_size=64):
        """The quarter turns (0-3, counterclockwise) each image `(n, S, S, C)` seems to have been turned by."""
        return self.predict(self.check_inputs(x), batch_size=batch_size, verbose=0).argmax(axis=-1)

    def rotation_accuracy(self, patches, batch_size=64):
        """`(accuracy, accuracy of each rotation)` on upright `patches`, shown in their four rotations."""
        images, labels = rotations(self.check_inputs(patches))
        predicted = self.predict(images, batch_size=batch_size, verbose=0).argmax(axis=-1)
        right = predicted == labels
        return float(right.mean()), [float(right[labels == k].mean()) for k in range(ROTATIONS)]

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "widths": list(self.widths),
                "depths": list(self.depths), "hidden": self.hidden, "batch_norm": self.batch_norm}


class UprightPatches(PatchSampler):
    """`PatchSampler`'s random patches kept upright: no quarter turns or upside-down flips (the rotation
    pretext's labels would be wrong for them), only a random left-right mirror, which keeps what is up. Batch
    `index` of epoch `epoch` depends only on `(seed, epoch, index)`."""

    def __init__(self, images, patch_size=64, batch_size=16, steps=1000, seed=0, mirror=True, **kwargs):
        super().__init__(images, patch_size=patch_size, batch_size=batch_size, steps=steps, seed=seed,
                         augment=False, **kwargs)
        self.mirror = bool(mirror)

    def batch(self, index, epoch=0):
        patches = super().batch(index, epoch)
        if self.mirror:
            flip = np.random.default_rng([self.seed, epoch, index, 1]).random(len(patches)) < 0.5
            patches[flip] = patches[flip][:, :, ::-1]
        return patches


# The relative-position pretext (the judge) ----------------------------------------------------------------

def residual_body(channels=3, widths=(32, 64, 128, 128), name="body"):
    """Images in [0, 1], any size -> globally pooled features through residual blocks with BatchNorm.

    A 3x3 stem (conv, BN, ReLU: `stem_relu`), then one residual block a
    stage (He et al. 2016: conv-BN-ReLU-conv-BN plus the input, projected by
    a strided 1x1 conv-BN when its shape changes; the ReLU after the sum is
    `stage{s}`), the first stage at full resolution, each next one strided,
    then global average pooling (`pool`). Another design than `vgg_features`
    (no pooling layers, BatchNorm, skips, global pooling).
    """
    if not widths or min(widths) < 1:
        raise ValueError(f"widths needs one positive entry per stage; got {widths!r}")
    inputs = keras.Input((None, None, channels))
    x = layers.Rescaling(2.0, offset=-1.0, name="scale")(inputs)
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem")(x)
    x = layers.ReLU(name="stem_relu")(layers.BatchNormalization(name="stem_bn")(x))
    for s, width in enumerate(widths, start=1):
        stride = 1 if s == 1 else 2
        shortcut = x
        if stride != 1 or x.shape[-1] != width:
            shortcut = layers.Conv2D(width, 1, strides=stride, use_bias=False, name=f"stage{s}_project")(x)
            shortcut = layers.BatchNormalization(name=f"stage{s}_project_bn")(shortcut)
        y = layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False, name=f"stage{s}_conv_a")(x)
        y = layers.ReLU(name=f"stage{s}_relu_a")(layers.BatchNormalization(name=f"stage{s}_bn_a")(y))
        y = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"stage{s}_conv_b")(y)
        y = layers.BatchNormalization(name=f"stage{s}_bn_b")(y)
        x = layers.ReLU(name=f"stage{s}")(layers.Add(name=f"stage{s}_add")([shortcut, y]))
    return keras.Model(inputs, layers.GlobalAveragePooling2D(name="pool")(x), name=name)


def region_size(tile_size, gap, jitter):
    """The side of the square a pair is cut from: 3 tiles, 2 gaps, and the jitter's margin on both sides."""
    return 3 * tile_size + 2 * gap + 2 * jitter


def tile_pair(region, label, tile_size, gap, jitter, offsets=(0, 0, 0, 0)):
    """The centre tile and neighbour `label` (an index of `POSITIONS`) of a square `region` `(R, R, C)`.

    Tile (r, c) of the 3x3 grid starts at `jitter + (r, c) x (tile_size +
    gap)`, moved by `offsets` (centre row, centre column, neighbour row,
    neighbour column; each in [-jitter, jitter]). Returns `(2, T, T, C)`.
    """
    if any(abs(int(o)) > jitter for o in offsets):
        raise InputError(f"offsets must lie in [-{jitter}, {jitter}]; got {tuple(offsets)}")
    step = tile_size + gap
    tiles = []
    for (row, column), (dy, dx) in (((1, 1), offsets[:2]), (POSITIONS[int(label)], offsets[2:])):
        top, left = jitter + row * step + int(dy), jitter + column * step + int(dx)
        tiles.append(region[top:top + tile_size, left:left + tile_size])
    return np.stack(tiles)


class RelativePositionPairs(EpochBatches):
    """Batches `(x, y)` of Doersch et al.'s pretext: `x` `(n, 2, T, T, C)` float32 in [0, 1], a centre tile and a
    neighbour, `y` `(n,)` int32, the neighbour's position (an index of `POSITIONS`).

    A square region of `region_size(T, gap, jitter)` pixels is cut at a
    uniform position of an image (images chosen in proportion to their
    positions, as `PatchSampler` does), mirrored left-right half the time
    (which keeps the labels, as they are read after it), and the two tiles cut
    from its 3x3 grid, each moved by its own random jitter. Batch `index` of
    epoch `epoch` depends only on `(seed, epoch, index)`.
    """

    def __init__(self, images, tile_size=32, gap=16, jitter=4, batch_size=32, steps=1000, seed=0, mirror=True,
                 **kwargs):
        super().__init__(steps, **kwargs)
        self.tile_size, self.gap, self.jitter = int(tile_size), int(gap), int(jitter)
        if self.tile_size < 1 or self.gap < 0 or self.jitter < 0 or 2 * self.jitter > self.gap:
            raise InputError(f"need tile_size >= 1 and 0 <= 2 x jitter <= gap (so tiles never touch); got "
                             f"tile_size={tile_size}, gap={gap}, jitter={jitter}")
        self.region = region_size(self.tile_size, self.gap, self.jitter)
        if not images:
            raise InputError("RelativePositionPairs needs at least one image; got none.")
        small = [i for i, im in enumerate(images) if np.ndim(im) != 3 or min(np.shape(im)[:2]) < self.region]
        if small:
            raise InputError(f"image {small[0]} has shape {np.shape(images[small[0]])}; each image must be (H, W, C) "
                             f"with sides of at least {self.region} (3 tiles of {self.tile_size}, 2 gaps of "
                             f"{self.gap}, jitter {self.jitter} on each side); drop it or use smaller tiles.")
        self.images, self.batch_size, self.seed, self.mirror = images, int(batch_size), int(seed), bool(mirror)
        positions = np.array([(h - self.region + 1) * (w - self.region + 1) for h, w, _ in map(np.shape, images)],
                             dtype=np.float64)
        self.weights = positions / positions.sum()

    def batch(self, index, epoch=0):
        rng = np.random.default_rng([self.seed, epoch, index])
        r, j = self.region, self.jitter
        which = rng.choice(len(self.images), size=self.batch_size, p=self.weights)
        labels = rng.integers(0, len(POSITIONS), size=self.batch_size).astype(np.int32)
        pairs = []
        for i, label in zip(which, labels):
            image = self.images[i]
            top = rng.integers(0, image.shape[0] - r + 1)
            left = rng.integers(0, image.shape[1] - r + 1)
            region = image[top:top + r, left:left + r]
            if self.mirror and rng.random() < 0.5:
                region = region[:, ::-1]
            pairs.append(tile_pair(region, label, self.tile_size, self.gap, j, rng.integers(-j, j + 1, size=4)))
        x = np.stack(pairs)
        x = x.astype(np.float32) / np.float32(255) if x.dtype == np.uint8 else x.astype(np.float32, copy=False)
        return x, labels


@keras.saving.register_keras_serializable(package="zoo")
class NaturalJudge(SingleLossModel):
    """A residual network trained on the relative position of two tiles (Doersch et al. 2015): natural_judge.

    A judge only: it scores what models make (`perceptual_distance`) and
    never takes part in a training loss; it marks itself as a judge when
    built, so `zoo.metrics.judges.check_not_judge` (and `PerceptualLoss`)
    refuse it and its layers. Trained with `fit(x, y)`: `x` `(n, 2, T, T, C)`
    pairs of tiles in [0, 1] (centre, neighbour), `y` the position (0-7) of the
    neighbour (`RelativePositionPairs` makes them); both tiles go through the
    one `body` (`residual_body`), their two feature vectors are joined and a
    head of two dense layers classifies them.

    Args:
        channels: image channels (3).
        widths: filters of the stem and of each residual stage.
        hidden: units of the head's hidden layer.
        tile_size, gap, jitter: the geometry of the pairs it is trained on (recorded; `RelativePositionPairs`).
    """

    tracked = ("loss", "accuracy")
    lpips_layers = None  # set in __init__: the stem and every stage

    def __init__(self, channels=3, widths=(32, 64, 128, 128), hidden=256, tile_size=32, gap=16, jitter=4,
                 **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.widths = tuple(int(w) for w in widths)
        self.hidden = int(hidden)
        self.tile_size, self.gap, self.jitter = int(tile_size), int(gap), int(jitter)
        self.body = residual_body(self.channels, self.widths)
        pair = keras.Input((2 * self.widths[-1],))
        x = layers.Dense(self.hidden, activation="relu", name="fc")(pair)
        self.head = keras.Model(pair, layers.Dense(len(POSITIONS), name="logits")(x), name="head")
        self.lpips_layers = ("stem_relu", *(f"stage{s}" for s in range(1, len(self.widths) + 1)))
        self.built = True
        from zoo.metrics.judges import mark_judge  # here: zoo.metrics imports much of the zoo

        mark_judge(self)

    @property
    def min_size(self):
        """The smallest image side `perceptual_distance` takes: the deepest stage keeps 2x2 positions."""
        return 2 ** len(self.widths)

    def call(self, x, training=False):
        height, width = x.shape[2] or self.tile_size, x.shape[3] or self.tile_size
        tiles = ops.reshape(x, (-1, height, width, self.channels))  # centre, neighbour, centre, neighbour, ...
        features = self.body(tiles, training=training)
        return self.head(ops.reshape(features, (-1, 2 * self.widths[-1])), training=training)

    def compute_terms(self, x, y=None, training=False):
        if y is None:
            raise ValueError("the judge trains on pairs and their positions: fit(x, y) with x (n, 2, T, T, C) and "
                             "y (n,) in 0-7 (zoo.models.natural_features.RelativePositionPairs)")
        return classification_terms(self(x, training=training), y)

    # Numpy API ------------------------------------------------------------------------------------------------

    def check_inputs(self, x):
        x = np.asarray(x) if not isinstance(x, np.ndarray) else x
        if x.ndim != 5 or x.shape[1] != 2:
            raise InputError(f"the judge's pretext takes pairs of tiles (n, 2, T, T, {self.channels}) (centre, "
                             f"neighbour); got shape {x.shape}. zoo.models.natural_features.RelativePositionPairs "
                             "makes them.")
        tiles = check_images(x.reshape(-1, *x.shape[2:]), channels=self.channels, name="tiles")
        _check_square(tiles, self.min_size // 2, "tiles")
        return tiles.reshape(x.shape)

    def features(self, x, batch_size=32):
        """The body's globally pooled features `(n, widths[-1])` of images `(n, H, W, C)` of any size of at least
        `min_size`."""
        x = _check_size(check_images(x, channels=self.channels), self.min_size)
        return np.concatenate([ops.convert_to_numpy(self.body(x[i:i + batch_size], training=False))
                               for i in range(0, len(x), batch_size)])

    def predict_positions(self, x, batch_size=64):
        """The position (an index of `POSITIONS`) of each pair's neighbour tile relative to its centre tile."""
        return self.predict(self.check_inputs(x), batch_size=batch_size, verbose=0).argmax(axis=-1)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "widths": list(self.widths),
                "hidden": self.hidden, "tile_size": self.tile_size, "gap": self.gap, "jitter": self.jitter}


# The perceptual distance -----------------------------------------------------------------------------------

_EXTRACTORS = weakref.WeakKeyDictionary()  # judge -> its model of the LPIPS layers (kept off the judge's own layers)


def _extractor(judge):
    if judge not in _EXTRACTORS:
        body = judge.body
        outputs = [body.get_layer(name).output for name in judge.lpips_layers]
        _EXTRACTORS[judge] = keras.Model(body.inputs[0], outputs, name=f"{judge.name}_lpips_layers")
    return _EXTRACTORS[judge]


def _scoring_judge(judge):
    if isinstance(judge, str) or hasattr(judge, "__fspath__"):
        import zoo

        judge = zoo.load(judge, compile=False)
    if not isinstance(judge, NaturalJudge):
        raise InputError(f"perceptual_distance measures on a NaturalJudge (the natural_judge checkpoint, or "
                         f"zoo.models.natural_features.natural_judge()); got {type(judge).__name__} "
                         f"{getattr(judge, 'name', '')!r}. A network that trains models (naturalnet, a perceptual "
                         "loss's) never also scores them.")
    return judge


def _one_image(image, name, channels, minimum):
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise InputError(f"{name} must be an image (H, W, C) or (H, W); got shape {image.shape}.")
    return _images(image[None], name, channels, minimum)


def _images(x, name, channels, minimum):
    """`x` as float32 `(n, H, W, channels)` in [0, 1]: grey replicated, range, NaNs and size checked."""
    x = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if x.ndim in (2, 3):
        return _one_image(x, name, channels, minimum)
    if x.ndim != 4:
        raise InputError(f"{name} must be images (n, H, W, C), one image (H, W, C) or (H, W), or a list of images; "
                         f"got shape {x.shape}.")
    if x.shape[-1] not in (1, channels):
        raise InputError(f"{name} has {x.shape[-1]} channels (shape {x.shape}); expected {channels} (RGB) or 1 "
                         "(grey, replicated to RGB).")
    x = check_images(x, name=name)
    if min(x.shape[1:3]) < minimum:
        raise InputError(f"{name} are {x.shape[1]}x{x.shape[2]}; the perceptual distance needs images of at least "
                         f"{minimum}x{minimum} (the judge's deepest stage must keep 2x2 positions).")
    return np.repeat(x, channels, axis=-1) if x.shape[-1] == 1 and channels != 1 else x


def _pairs(reference, images, judge):
    """The inputs as groups `[(reference (m, H, W, C), images (m, H, W, C))]` of one size each, in order."""
    args = judge.channels, judge.min_size
    listed = isinstance(reference, (list, tuple)) or isinstance(images, (list, tuple))
    if listed:
        refs = list(reference) if isinstance(reference, (list, tuple)) else list(_images(reference, "reference", *args))
        imgs = list(images) if isinstance(images, (list, tuple)) else list(_images(images, "images", *args))
        if not refs or not imgs:
            raise InputError("reference and images must hold at least one image each; got an empty list.")
        if len(refs) != len(imgs):
            raise InputError(f"reference holds {len(refs)} images and images {len(imgs)}; give one reference per "
                             "image (or one reference for all, as an array).")
        groups = [(_one_image(r, f"reference[{i}]", *args), _one_image(m, f"images[{i}]", *args))
                  for i, (r, m) in enumerate(zip(refs, imgs))]
    else:
        ref, img = _images(reference, "reference", *args), _images(images, "images", *args)
        if len(ref) != len(img):
            if len(ref) == 1:
                ref = np.repeat(ref, len(img), axis=0)
            elif len(img) == 1:
                img = np.repeat(img, len(ref), axis=0)
            else:
                raise InputError(f"reference holds {len(ref)} images and images {len(img)}; give one reference per "
                                 "image, or one for all.")
        groups = [(ref, img)]
    for i, (ref, img) in enumerate(groups):
        if ref.shape[1:3] != img.shape[1:3]:
            where = f" (pair {i})" if listed else ""
            raise InputError(f"reference and images differ in size{where}: {ref.shape[1]}x{ref.shape[2]} and "
                             f"{img.shape[1]}x{img.shape[2]}; a perceptual distance compares aligned images of one "
                             "size (crop the SR output's border as its reference's, or both).")
    return groups


def _unit(features):
    """LPIPS' normalize_tensor: each position's feature vector divided by its length (channels last)."""
    return features / (np.sqrt(np.sum(np.square(features), axis=-1, keepdims=True)) + LPIPS_EPSILON)


def perceptual_distance(judge, reference, images, batch_size=16):
    """Per-image perceptual distance (LPIPS-style, no learned weights) between `images` and `reference`.

    d(x, x0) = sum over the judge's layers l of mean over positions (h, w) of
    || u_l(x)[h, w] - u_l(x0)[h, w] ||^2, u_l being the activations of layer l
    divided, at each position, by their length over the channels (Zhang et
    al. 2018, Eq. 1 with w_l = 1). The layers are the judge's stem and the
    output of each residual stage (`NaturalJudge.lpips_layers`), computed in
    inference mode, in float64 from there on. 0 for identical images,
    symmetric; grows as an image is blurred or made noisy. A distance at the
    scale of patches: its numbers belong to this judge, comparable with
    nothing else (not with LPIPS-VGG/Alex).

    Args:
        judge: a `NaturalJudge`, or the name or path of its checkpoint ("natural_judge").
        reference, images: arrays `(n, H, W, C)` (or one image `(H, W, C)`, `(H, W)`) in [0, 1], one size, C
            3 or 1 (grey, replicated); a single image on either side is compared with every image on the
            other. Or lists of images `(H, W, C)` paired in order, each pair of one size (sizes may differ
            across pairs, as a test set's do). At least `judge.min_size` on each side.
        batch_size: images a side per forward pass.

    Returns:
        float64 numpy `(n,)`.

    Raises:
        InputError: not a NaturalJudge, values outside [0, 1], NaN, wrong rank or channels, images too small,
            sizes or counts that do not match.
    """
    judge = _scoring_judge(judge)
    extractor = _extractor(judge)
    distances = []
    for ref, img in _pairs(reference, images, judge):
        for start in range(0, len(ref), batch_size):
            a, b = ref[start:start + batch_size], img[start:start + batch_size]
            # One pass a side, not both sides in one batch: a convolution's result may depend on an image's
            # place in the batch by a rounding, and identical images must give exactly 0.
            total = np.zeros(len(a))
            for features_a, features_b in zip(_layer_outputs(extractor, a), _layer_outputs(extractor, b)):
                difference = _unit(features_a) - _unit(features_b)
                total += np.mean(np.sum(np.square(difference), axis=-1), axis=(1, 2))
            distances.append(total)
    return np.concatenate(distances)


def _layer_outputs(extractor, images):
    """The extractor's outputs for `images` in inference mode, as float64 numpy arrays."""
    outputs = extractor(images, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [ops.convert_to_numpy(features).astype(np.float64) for features in outputs]


def gaussian_blur(images, sigma):
    """`images` `(n, H, W, C)` (or `(H, W, C)`) blurred by a Gaussian of standard deviation `sigma` pixels,
    separably, its kernel cut at 3 sigma, the borders mirrored; sigma 0 returns a copy."""
    images = np.asarray(images, dtype=np.float64)
    if sigma < 0:
        raise InputError(f"sigma must be >= 0; got {sigma!r}")
    if sigma == 0:
        return images.copy()
    radius = max(1, int(np.ceil(3 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    axes = (images.ndim - 3, images.ndim - 2)
    out = images
    for axis in axes:
        pad = [(0, 0)] * images.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="symmetric")
        length = out.shape[axis]
        out = sum(w * np.take(padded, np.arange(i, i + length), axis=axis) for i, w in enumerate(kernel))
    return out


# Builders: the registry's architectures ---------------------------------------------------------------------

def naturalnet(**kwargs):
    """The zoo's natural-image feature network: `RotationNet` with VGG19-BN's first four blocks at widths 32, 64,
    128, 256 (2.6M weights). BatchNorm because the plain stack did not leave chance on the rotation pretext in
    its first 280 steps (Adam 1e-3); Gidaris et al.'s networks have it too."""
    return RotationNet(**{"batch_norm": True, **kwargs})


def natural_judge(**kwargs):
    """The natural-image judge: `NaturalJudge`, a stem and four residual stages of 32, 64, 128, 128 filters,
    trained on 32-pixel tiles 16 pixels apart with 4 pixels of jitter."""
    return NaturalJudge(**kwargs)
