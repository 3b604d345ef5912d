"""Image completion: globally and locally consistent content-aware fill.

Iizuka, Simo-Serra & Ishikawa, "Globally and Locally Consistent Image
Completion", ACM Transactions on Graphics (SIGGRAPH) 2017.

- `completion_network`: the paper's fully convolutional encoder-decoder
  (Table 1): a 5x5 convolution, two stride-2 stages down to a quarter of the
  size, dilated 3x3 convolutions (dilation 2, 4, 8, 16 on 256-pixel images)
  that let each pixel of the hole see far into its surroundings, two
  transposed convolutions back up, and a sigmoid output; BatchNorm and ReLU
  after every layer but the last. Its input is the image with the hole
  filled by the training set's mean pixel, plus the mask as a channel.
- `context_discriminator`: the global discriminator on the whole image and
  the local one on a square patch around the hole (5x5 stride-2
  convolutions down to 4x4, a dense layer each), their two vectors
  concatenated into one logit (Table 2).
- `ImageCompletion`: both players and the paper's three phases (Sec. 3.4):
  `"completion"` trains the completion network alone on the weighted MSE in
  the hole; `"discriminator"` the discriminators alone, the completion
  network fixed; `"joint"` both, the completion network on the MSE plus
  `alpha` (0.0004) x the adversarial loss. `complete(image, mask)` fills holes
  of any image size, numpy in and out.
- `CompletionBatches`: training batches of random crops, one rectangular
  hole each, and where the local discriminator looks (around the hole for
  completed images, anywhere for real ones).

Sizes are the paper's scaled to the image: on 256-pixel crops the paper's
holes have sides 96-128 and the local patch is 128; `ImageCompletion` takes
the image size, the local patch size and the hole sides as arguments and
scales the dilations (`default_dilations`) and the discriminators' depth
(`discriminator_depth`) to them. Widths are `width / 64` of the paper's.
"""

import math

import keras
import numpy as np
from keras import layers, ops

from zoo.data.batches import EpochBatches
from zoo.errors import InputError
from zoo.losses import discriminator_loss, non_saturating_generator_loss
from zoo.trainers import AdversarialModel

PHASES = ("completion", "discriminator", "joint")
PAPER_IMAGE_SIZE = 256  # the size the paper's dilations (2, 4, 8, 16) are for
# The completion network halves the size twice: images are padded to a multiple of this before it runs.
MULTIPLE = 4


def default_dilations(image_size):
    """The paper's dilations (2, 4, 8, 16) on 256-pixel images, scaled to `image_size` (at least 1 each): the
    hole-to-context reach stays the same fraction of the image."""
    return tuple(max(1, d * int(image_size) // PAPER_IMAGE_SIZE) for d in (2, 4, 8, 16))


def discriminator_depth(size):
    """The stride-2 convolutions that take a `size` square down to 4x4 or less: 6 for the paper's 256-pixel
    global view, 5 for its 128-pixel local patch."""
    return max(1, math.ceil(math.log2(int(size) / 4)))


def _conv_block(x, filters, kernel, name, strides=1, dilation=1, transpose=False):
    conv = layers.Conv2DTranspose if transpose else layers.Conv2D
    kwargs = {} if transpose else {"dilation_rate": dilation}
    x = conv(filters, kernel, strides=strides, padding="same", use_bias=False, name=f"{name}_conv", **kwargs)(x)
    return layers.ReLU(name=f"{name}_relu")(layers.BatchNormalization(name=f"{name}_bn")(x))


def completion_network(channels=3, width=64, dilations=(2, 4, 8, 16), name="completion"):
    """`(n, H, W, channels + 1)` (the image, its hole filled with a constant, and the mask) -> `(n, H, W,
    channels)` in [0, 1], H and W multiples of 4: the paper's Table 1 with 64 = `width`."""
    w = int(width)
    inputs = keras.Input((None, None, channels + 1))
    x = _conv_block(inputs, w, 5, "down_0")
    x = _conv_block(x, 2 * w, 3, "down_1", strides=2)
    x = _conv_block(x, 2 * w, 3, "down_2")
    x = _conv_block(x, 4 * w, 3, "down_3", strides=2)
    x = _conv_block(x, 4 * w, 3, "mid_0")
    x = _conv_block(x, 4 * w, 3, "mid_1")
    for k, d in enumerate(dilations):
        x = _conv_block(x, 4 * w, 3, f"dilated_{k}", dilation=int(d))
    x = _conv_block(x, 4 * w, 3, "mid_2")
    x = _conv_block(x, 4 * w, 3, "mid_3")
    x = _conv_block(x, 2 * w, 4, "up_0", strides=2, transpose=True)
    x = _conv_block(x, 2 * w, 3, "up_1")
    x = _conv_block(x, w, 4, "up_2", strides=2, transpose=True)
    x = _conv_block(x, max(1, w // 2), 3, "up_3")
    outputs = layers.Conv2D(channels, 3, padding="same", activation="sigmoid", name="out", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def _view(x, size, width, name):
    """One discriminator branch: stride-2 5x5 convolutions (64, 128, 256, 512, 512, ... x width / 64) down to
    4x4, then a dense layer of 16 x width (the paper's 1024)."""
    for k in range(discriminator_depth(size)):
        x = layers.Conv2D(width * min(2 ** k, 8), 5, strides=2, padding="same", use_bias=False,
                          name=f"{name}_conv_{k}")(x)
        x = layers.ReLU(name=f"{name}_relu_{k}")(layers.BatchNormalization(name=f"{name}_bn_{k}")(x))
    x = layers.Flatten(name=f"{name}_flatten")(x)
    return layers.ReLU(name=f"{name}_dense_relu")(layers.Dense(16 * width, name=f"{name}_dense")(x))


def context_discriminator(channels=3, image_size=128, local_size=64, width=64, name="discriminator"):
    """`[whole image (n, image_size, image_size, C), local patch (n, local_size, local_size, C)]` -> one logit
    each (D = sigmoid(logit)): the global and local discriminators, concatenated (the paper's Table 2)."""
    whole = keras.Input((image_size, image_size, channels), name="whole")
    local = keras.Input((local_size, local_size, channels), name="local")
    joined = layers.Concatenate(name="concat")([_view(whole, image_size, width, "global"),
                                               _view(local, local_size, width, "local")])
    outputs = layers.Dense(1, name="logit", dtype="float32")(joined)
    return keras.Model([whole, local], outputs, name=name)


def crop_patches(images, corners, size):
    """`(n, size, size, C)` squares of `images` `(n, H, W, C)` whose top-left corners are `corners` `(n, 2)`
    (int, row and column), one per image, by gathering rows then columns (any backend, inside a step)."""
    n, channels = ops.shape(images)[0], ops.shape(images)[-1]
    width = ops.shape(images)[2]
    offsets = ops.arange(size, dtype="int32")
    rows = ops.cast(corners[:, 0:1], "int32") + offsets[None, :]  # (n, size)
    cols = ops.cast(corners[:, 1:2], "int32") + offsets[None, :]
    rows = ops.broadcast_to(rows[:, :, None, None], (n, size, width, channels))
    x = ops.take_along_axis(images, rows, axis=1)  # (n, size, W, C)
    cols = ops.broadcast_to(cols[:, None, :, None], (n, size, size, channels))
    return ops.take_along_axis(x, cols, axis=2)


@keras.saving.register_keras_serializable(package="zoo")
class ImageCompletion(AdversarialModel):
    """A completion network and its global + local discriminators (Iizuka et al. 2017).

    Train with `fit(CompletionBatches(...))` or `fit(images)` (random holes),
    one phase at a time: `set_phase("completion")` (the paper's T_C steps),
    `set_phase("discriminator")` (T_D), `set_phase("joint")` (the rest).
    Losses (Sec. 3.3): the weighted MSE `mean(M * (C(x, M) - x)^2)` over all
    pixels (M the hole; as GLCIC-PyTorch normalises it), the discriminator's
    `-log D(x, patch) - log(1 - D(completed, patch around the hole))`, and in
    the joint phase the completion network's `MSE + alpha * -log D(completed)`
    (the non-saturating form of the paper's `alpha log(1 - D)`).

    Args:
        channels: 1 (grey) or 3 (colour).
        image_size: the square training crops (the global discriminator's input).
        local_size: the local discriminator's patch; the largest hole must fit in it.
        hole_sides: `(min, max)` sides of the training holes (default a quarter to half the image).
        width, discriminator_width: 64 in the paper.
        dilations: of the four dilated layers (default: the paper's, scaled to `image_size`).
        fill: the value the hole is filled with at the input, per channel (the training set's mean pixel).
        alpha: the adversarial term's weight in the joint phase (0.0004).
        phase: one of `PHASES`.
    """

    players = ("completion", "discriminator")
    selection_metric = None  # a GAN's losses do not measure the fills: fine-tuning keeps the last epoch

    def __init__(self, channels=3, image_size=128, local_size=64, hole_sides=None, width=64, discriminator_width=64,
                 dilations=None, fill=0.5, alpha=4e-4, phase="completion", seed=None, **kwargs):
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (colour); got {channels!r}")
        image_size, local_size = int(image_size), int(local_size)
        if image_size % MULTIPLE or not 4 <= local_size <= image_size:
            raise ValueError(f"image_size must be a multiple of {MULTIPLE} and local_size within 4..image_size; "
                             f"got image_size={image_size}, local_size={local_size}")
        hole_sides = (image_size // 4, image_size // 2) if hole_sides is None else tuple(int(s) for s in hole_sides)
        if len(hole_sides) != 2 or not 1 <= hole_sides[0] <= hole_sides[1] <= local_size:
            raise ValueError(f"hole_sides must be (min, max) with 1 <= min <= max <= local_size ({local_size}); "
                             f"got {hole_sides}")
        fill = np.broadcast_to(np.asarray(fill, np.float32), (channels,))
        if not np.all((fill >= 0) & (fill <= 1)):
            raise ValueError(f"fill must be in [0, 1] (a mean pixel); got {fill.tolist()}")
        if float(alpha) < 0:
            raise ValueError(f"alpha must be >= 0; got {alpha}")
        self.tracked = ("completion_loss", "adversarial_loss", "discriminator_loss")
        super().__init__(latent_dim=None, seed=seed, **kwargs)
        self.channels, self.image_size, self.local_size, self.hole_sides = int(channels), image_size, local_size, \
            hole_sides
        self.width, self.discriminator_width = int(width), int(discriminator_width)
        self.dilations = default_dilations(image_size) if dilations is None else tuple(int(d) for d in dilations)
        self.fill, self.alpha = [float(v) for v in fill], float(alpha)
        self.completion = completion_network(self.channels, self.width, self.dilations)
        self.discriminator = context_discriminator(self.channels, image_size, local_size, self.discriminator_width)
        self.phase = None
        self.set_phase(phase)
        self.built = True

    def set_phase(self, phase):
        """Which players the next `fit` trains (`PHASES`); a new phase traces a new train step."""
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}; got {phase!r}")
        if phase != self.phase:
            self.phase = phase
            self.train_function = None  # the step branches on the phase: trace it again
        return self

    def compile(self, optimizers=None, learning_rate=None, **kwargs):
        """Both players get `optimizers` or Adadelta (the paper's; Keras' default rho 0.95, learning rate 1.0)."""
        if optimizers is None:
            optimizers = {name: keras.optimizers.Adadelta(1.0 if learning_rate is None else learning_rate)
                          for name in self.players}
        super().compile(optimizers=optimizers, n_critic=1, **kwargs)

    def compile_for_finetuning(self):
        self.compile(optimizers={name: keras.optimizers.Adam(1e-4) for name in self.players})

    # The networks ---------------------------------------------------------------------------------------------

    def network_input(self, images, masks):
        """The completion network's input: the hole filled with `fill`, and the mask as the last channel."""
        fill = ops.convert_to_tensor(np.asarray(self.fill, np.float32)[None, None, None, :])
        return ops.concatenate([images * (1.0 - masks) + fill * masks, masks], axis=-1)

    def fill_holes(self, images, masks, training=False):
        """Completed images: the known pixels kept, the network's output in the hole."""
        output = ops.cast(self.completion(self.network_input(images, masks), training=training), images.dtype)
        return images * (1.0 - masks) + output * masks, output

    def call(self, inputs, training=False):
        """`[images, masks]` (tensors, masks 1 in the hole, `(n, H, W, 1)`) -> completed images."""
        images, masks = inputs
        return self.fill_holes(ops.convert_to_tensor(images), ops.convert_to_tensor(masks), training)[0]

    # Training -------------------------------------------------------------------------------------------------

    def completion_terms(self, x, training=True):
        images, masks = x["images"], x["masks"]
        completed, output = self.fill_holes(images, masks, training=training)
        mse = ops.mean(masks * ops.square(ops.cast(output, "float32") - ops.cast(images, "float32")))
        if self.phase != "joint":
            return mse, {"completion_loss": mse}
        logits = self.discriminator([completed, crop_patches(completed, x["hole_corners"], self.local_size)],
                                    training=training)
        adversarial = non_saturating_generator_loss(ops.cast(logits, "float32"))
        return mse + self.alpha * adversarial, {"completion_loss": mse, "adversarial_loss": adversarial}

    def discriminator_terms(self, x, training=True):
        images, masks = x["images"], x["masks"]
        completed = ops.stop_gradient(self.fill_holes(images, masks, training=False)[0])
        real = self.discriminator([images, crop_patches(images, x["real_corners"], self.local_size)],
                                  training=training)
        fake = self.discriminator([completed, crop_patches(completed, x["hole_corners"], self.local_size)],
                                  training=training)
        loss = discriminator_loss(ops.cast(real, "float32"), ops.cast(fake, "float32"))
        return loss, {"discriminator_loss": loss}

    def train_step(self, data):
        x = self._step_inputs(data)
        terms = {"completion_loss": 0.0, "adversarial_loss": 0.0, "discriminator_loss": 0.0}
        if self.phase in ("discriminator", "joint"):
            terms.update(self.player_step("discriminator", self.discriminator_terms, x))
        if self.phase in ("completion", "joint"):
            terms.update(self.player_step("completion", self.completion_terms, x))
        if self.phase == "discriminator":  # the completion network's MSE, for the log
            terms["completion_loss"] = self.completion_terms(x, training=False)[1]["completion_loss"]
        return self.update_trackers(terms)

    def test_step(self, data):
        x = self._step_inputs(data)
        terms = {"adversarial_loss": 0.0, **self.discriminator_terms(x, training=False)[1]}
        terms.update(self.completion_terms(x, training=False)[1])
        return self.update_trackers(terms)

    def _step_inputs(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not isinstance(x, dict) or set(x) != {"images", "masks", "hole_corners", "real_corners"}:
            raise ValueError("ImageCompletion trains on CompletionBatches (or fit(images), which makes them); got "
                             f"{type(x).__name__}")
        return {k: ops.convert_to_tensor(v) for k, v in x.items()}

    def fit(self, x=None, y=None, batch_size=None, epochs=1, *args, seed=0, **kwargs):
        """`fit(CompletionBatches(...))`, or `fit(images)`: float images `(n, image_size, image_size, C)` in
        [0, 1], each batch given random holes of `hole_sides` (seeded by `seed`)."""
        if hasattr(x, "__array__"):
            x = CompletionBatches(self.check_training_images(x), self.image_size, self.local_size, self.hole_sides,
                                  batch_size=batch_size or 16, seed=seed)
            batch_size = None
        return super().fit(x, y, batch_size, epochs, *args, **kwargs)

    def check_training_images(self, x):
        from zoo.data import check_images

        x = check_images(x, channels=self.channels, name="images")
        if min(x.shape[1:3]) < self.image_size:
            raise InputError(f"training images are {x.shape[1]}x{x.shape[2]}; this model trains on "
                             f"{self.image_size}x{self.image_size} crops of them.")
        return x

    # Completing images -----------------------------------------------------------------------------------------

    def complete(self, image, mask, postprocess=False, batch_size=16):
        """Fill the hole of `image` where `mask` is True; numpy in and out.

        Args:
            image: floats in [0, 1]: one image `(H, W)` or `(H, W, C)`, or a batch `(n, H, W, C)`; any size
                (padded to a multiple of 4 by reflection inside, then cropped back). A grey image through a
                colour model is completed in colour and returned grey.
            mask: bool or 0/1, `(H, W)` (one for every image) or `(n, H, W)`: True in the hole. An empty mask
                gives the image back unchanged; one covering the whole image is refused (nothing to complete
                from).
            postprocess: blend the fill into its surroundings as the paper does (Telea's fast marching, then
                Poisson blending; `zoo.models.classical_fill.postprocess`).

        Returns:
            The completed image(s), float32 in [0, 1], the input's layout; known pixels exactly as given.
        """
        from zoo.data.images import check_image_or_batch
        from zoo.data.masks import check_mask

        batch, layout = check_image_or_batch(image, channels=(1, 3) if self.channels == 3 else (1,), name="image")
        shape = np.shape(mask)
        if len(shape) == 2 or (len(shape) == 3 and shape[-1] == 1 and shape[:2] == batch.shape[1:3]):
            masks = np.broadcast_to(check_mask(mask, batch.shape[1:3]), batch.shape[:3])  # one for every image
        elif len(shape) >= 3 and shape[0] != len(batch):
            raise InputError(f"{shape[0]} masks for {len(batch)} images; give one mask (H, W) for all, or one "
                             "per image (n, H, W).")
        else:
            masks = check_mask(mask, batch.shape[:3], batch=True)
        grey = batch.shape[-1] == 1 and self.channels == 3
        x = np.repeat(batch, 3, axis=-1) if grey else batch
        height, width = x.shape[1:3]
        pad = ((0, 0), (0, -height % MULTIPLE), (0, -width % MULTIPLE), (0, 0))
        padded = np.pad(x, pad, mode="reflect" if min(height, width) > MULTIPLE else "edge")
        m = np.pad(masks.astype(np.float32)[..., None], pad, mode="constant")
        out = []
        for start in range(0, len(x), batch_size):
            stop = start + batch_size
            out.append(ops.convert_to_numpy(self([padded[start:stop], m[start:stop]], training=False)))
        out = np.concatenate(out)[:, :height, :width].astype(np.float32)
        out = np.where(masks[..., None], np.clip(out, 0, 1), x)  # known pixels exactly as given
        if postprocess:
            from zoo.models.classical_fill import postprocess as blend

            out = np.stack([blend(xi, oi, mi) if mi.any() else oi for xi, oi, mi in zip(x, out, masks)])
        if grey:
            out = out.mean(axis=-1, keepdims=True)  # the repeated grey comes back as one channel
            out = np.where(masks[..., None], out, batch)
        return out.reshape(layout).astype(np.float32)

    def sample(self, n, seed=None):
        raise NotImplementedError("ImageCompletion fills holes and draws nothing from noise: use complete().")

    def get_config(self):
        return {
            **super().get_config(),
            "channels": self.channels, "image_size": self.image_size, "local_size": self.local_size,
            "hole_sides": list(self.hole_sides), "width": self.width, "discriminator_width": self.discriminator_width,
            "dilations": list(self.dilations), "fill": list(self.fill), "alpha": self.alpha, "phase": self.phase,
            "seed": self.seed,
        }


# Training batches ------------------------------------------------------------------------------------------------


def local_corners(boxes, local_size, image_size):
    """Top-left corners `(n, 2)` of `local_size` squares centred on the boxes `(n, 4)` (top, left, bottom, right;
    bottom/right exclusive), moved inside the image."""
    centre = (boxes[:, :2] + boxes[:, 2:]) // 2
    return np.clip(centre - local_size // 2, 0, image_size - local_size).astype(np.int32)


class CompletionBatches(EpochBatches):
    """Batches of random `image_size` crops, each with one rectangular hole, for `ImageCompletion.fit`.

    Each crop comes from an image drawn in proportion to its crop positions,
    at a uniform position, mirrored left-right at random (`mirror`). The
    hole's sides are drawn uniformly from `hole_sides`, independently, and it
    is placed uniformly inside the crop (the paper's random holes). The local
    discriminator looks at the `local_size` square centred on the hole
    (completed images) or at a uniformly placed one (real images). Batch `i`
    of epoch `e` depends only on `(seed, e, i)`.

    Args:
        images: a sequence of images `(H, W, C)` (sizes may differ, each at least `image_size`), uint8 or floats
            in [0, 1], or one array `(n, H, W, C)`.
    """

    def __init__(self, images, image_size, local_size, hole_sides, batch_size=16, steps=None, seed=0, mirror=True,
                 **kwargs):
        images = list(images)
        if not images:
            raise InputError("CompletionBatches needs at least one training image; got none.")
        self.image_size, self.local_size, self.batch_size = int(image_size), int(local_size), int(batch_size)
        self.hole_sides, self.seed, self.mirror = tuple(int(s) for s in hole_sides), int(seed), mirror
        for k, image in enumerate(images):
            if np.ndim(image) != 3 or min(np.shape(image)[:2]) < self.image_size:
                raise InputError(f"image {k} has shape {np.shape(image)}; expected (H, W, C) of at least "
                                 f"{self.image_size}x{self.image_size}.")
        if len({np.shape(image)[-1] for image in images}) != 1:
            raise InputError("CompletionBatches needs images of one channel count; got a mix.")
        self.images = images
        positions = np.array([(im.shape[0] - image_size + 1) * (im.shape[1] - image_size + 1) for im in images],
                             np.float64)
        self.weights = positions / positions.sum()
        super().__init__(steps or max(1, math.ceil(len(images) / self.batch_size)), **kwargs)

    def batch(self, index, epoch=0):
        rng = np.random.default_rng([self.seed, epoch, index])
        n, size = self.batch_size, self.image_size
        which = rng.choice(len(self.images), size=n, p=self.weights)
        crops = []
        for k in which:
            image = self.images[k]
            top, left = rng.integers(0, image.shape[0] - size + 1), rng.integers(0, image.shape[1] - size + 1)
            crop = image[top:top + size, left:left + size]
            crops.append(crop[:, ::-1] if self.mirror and rng.random() < 0.5 else crop)
        crops = np.stack(crops)
        crops = crops.astype(np.float32) / np.float32(255) if crops.dtype == np.uint8 else crops.astype(np.float32)
        sides = rng.integers(self.hole_sides[0], self.hole_sides[1] + 1, size=(n, 2))
        tops = rng.integers(0, size - sides[:, 0] + 1)
        lefts = rng.integers(0, size - sides[:, 1] + 1)
        boxes = np.stack([tops, lefts, tops + sides[:, 0], lefts + sides[:, 1]], axis=1)
        rows, cols = np.arange(size)[None, :], np.arange(size)[None, :]
        masks = (((rows >= boxes[:, 0:1]) & (rows < boxes[:, 2:3]))[:, :, None]
                 & ((cols >= boxes[:, 1:2]) & (cols < boxes[:, 3:4]))[:, None, :])
        real = rng.integers(0, size - self.local_size + 1, size=(n, 2)).astype(np.int32)
        return ({"images": crops, "masks": masks[..., None].astype(np.float32),
                 "hole_corners": local_corners(boxes, self.local_size, size), "real_corners": real},)
