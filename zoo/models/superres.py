"""Super-resolution: SRResNet and SRGAN.

Ledig, Theis, Huszar, Caballero, Cunningham, Acosta, Aitken, Tejani, Totz,
Wang & Shi, "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network", CVPR 2017 (arXiv:1609.04802).

- `srresnet_generator`: the paper's generator (Figure 4): a 9x9 convolution
  and PReLU, B residual blocks (conv-BN-PReLU-conv-BN plus a skip), conv-BN
  plus a long skip, log2(scale) upsampling stages (conv to 4 x width,
  `PixelShuffle(2)`, PReLU; Shi et al., CVPR 2016), a 9x9 convolution to the
  image's channels. Fully convolutional: any input size.
- `SRResNet`: that generator trained with the mean squared error (Sec. 3).
- `SRGAN`: the same generator against the paper's discriminator
  (`srgan_discriminator`), trained with the perceptual loss of Eq. 3: a
  content loss on the features of a frozen network (`PerceptualLoss`, the
  paper's VGG54) plus 1e-3 x the non-saturating adversarial loss (Eq. 6); the
  discriminator with the standard GAN loss (Eq. 2). `SRGAN.from_srresnet`
  starts it from a trained SRResNet, as the paper does.
- `residual=True` (both models; not the paper's): the generator's output is
  added to the bicubic upsampling of its input (`BicubicUpsampling`), so the
  network learns only what bicubic misses, as VDSR's global residual (Kim,
  Lee & Lee, CVPR 2016). The paper's generator, trained for 4750 CPU steps,
  had not yet matched bicubic on its own training crops (results/
  srresnet_x4_paper_architecture_4750_steps.json); a residual one starts there.
- `SRPairs` / `sr_pairs`: training batches of aligned random crops, the LR
  made by MATLAB's bicubic downscaling of each whole image, once.

Images are floats in [0, 1], channels last, LR and HR alike. The paper maps
the HR images to [-1, 1] and ends in tanh; here the last convolution is
linear (EDSR and BasicSR's MSRResNet do the same) and `upscale` clips to
[0, 1]. A tanh on [-1, 1] is a sigmoid on [0, 1], which saturates at black
and white and slows the MSE fit of exactly those pixels; a linear output
has no such region and loses nothing once clipped.
"""


import keras
import numpy as np
from keras import layers, ops

from zoo.data import check_images
from zoo.data.images import check_image_or_batch
from zoo.data.batches import EpochBatches
from zoo.data.natural import dihedral
from zoo.data.resize import bicubic_pair, cubic, to_uint8
from zoo.errors import InputError
from zoo.layers.blur import Blur
from zoo.losses import PerceptualLoss, non_saturating_generator_loss
from zoo.losses import discriminator_loss as gan_discriminator_loss
from zoo.trainers import AdversarialModel, SingleLossModel

# The smallest LR side `upscale` takes: the first 9x9 convolution sees one whole window, no padding in it.
MIN_SIZE = 9
# Values an LR image in [0, 1] may reach after a float resize (bicubic overshoot); beyond them it is another scale.
LR_RANGE = (-0.1, 1.1)
# ITU-R BT.601 luma, Pillow's RGB -> "L" (zoo.data.natural.read_image): a grey image's colour output made grey again.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# BatchNorm momentum (torch's and TensorLayer's 0.1 / 0.9): the moving statistics settle in tens of steps.
BN_MOMENTUM = 0.9


class _Upsampling(layers.Layer):
    """A weightless layer that makes images `scale` times larger in each side."""

    def __init__(self, scale=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 2:
            raise ValueError(f"{type(self).__name__}'s scale must be an integer >= 2; got {scale!r}")
        self.scale = int(scale)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="zoo")
class PixelShuffle(_Upsampling):
    """Sub-pixel upsampling (Shi et al., CVPR 2016): `(n, H, W, C * r^2)` -> `(n, r H, r W, C)`, channels last.

    Output pixel `(r h + i, r w + j)`, channel `c`, is input pixel `(h, w)`,
    channel `(i r + j) C + c`: TensorFlow's `depth_to_space`, which
    `keras.ops.depth_to_space` computes on every backend.
    """

    def call(self, x):
        return ops.depth_to_space(x, self.scale)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.scale
        if c is not None and c % (r * r):
            raise ValueError(f"PixelShuffle({r}) needs channels divisible by {r * r}; got {c}")
        return n, None if h is None else h * r, None if w is None else w * r, None if c is None else c // (r * r)


@keras.saving.register_keras_serializable(package="zoo")
class BicubicUpsampling(_Upsampling):
    """x`scale` bicubic upsampling as MATLAB's `imresize(lr, scale)` computes it (zoo.data.resize.imresize):
    Keys' cubic (a = -0.5) and mirrored borders, with no weights.

    HR pixel `scale i + p` lies at LR coordinate `i + (p + 1/2) / scale - 1/2`;
    its value is the cubic-weighted sum of the 4 LR pixels around it. All
    `scale`^2 phases are one fixed 5x5 convolution to `scale^2 x C` channels,
    put in place by a pixel shuffle; the borders are padded by 2 pixels
    mirrored as MATLAB's (`[x1, x0 | x0, x1, ...]`), not by `ops.pad`, whose
    "symmetric" mode is edge replication on torch.
    """

    def __init__(self, scale=4, **kwargs):
        super().__init__(scale, **kwargs)

    def kernel(self, channels):
        """The fixed `(5, 5, channels, scale^2 channels)` kernel, in depth_to_space's channel order."""
        r = self.scale
        offsets = (np.arange(r) + 0.5) / r - 0.5  # of each phase's HR pixel from its LR pixel
        taps = cubic(offsets[:, None] - np.arange(-2, 3)[None, :])  # (phase, tap at LR -2..2)
        taps /= taps.sum(axis=1, keepdims=True)
        kernel = np.zeros((5, 5, channels, r * r * channels), np.float32)
        for i in range(r):
            for j in range(r):
                for c in range(channels):
                    kernel[:, :, c, (i * r + j) * channels + c] = np.outer(taps[i], taps[j])
        return kernel

    def build(self, input_shape):
        if any(side is not None and side < 2 for side in input_shape[1:3]):
            raise ValueError(f"BicubicUpsampling mirrors 2 pixels at each border: images need sides of at least 2; "
                             f"got {tuple(input_shape[1:3])}")
        self._kernel = self.kernel(input_shape[-1])  # made once, not at every call

    def call(self, x):
        x = ops.concatenate([x[:, 1:2], x[:, :1], x, x[:, -1:], x[:, -2:-1]], axis=1)
        x = ops.concatenate([x[:, :, 1:2], x[:, :, :1], x, x[:, :, -1:], x[:, :, -2:-1]], axis=2)
        kernel = ops.convert_to_tensor(self._kernel, dtype=x.dtype)
        return ops.depth_to_space(ops.conv(x, kernel, padding="valid"), self.scale)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.scale
        return n, None if h is None else h * r, None if w is None else w * r, c


def upsampling_stages(scale):
    """log2(scale): the x2 stages of a generator for `scale`, a power of two >= 2."""
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 2 or scale & (scale - 1):
        raise ValueError(f"scale must be a power of two >= 2 (2, 4, 8); got {scale!r}")
    return int(scale).bit_length() - 1


def _prelu(name):
    # One slope per channel, starting at He et al.'s 0.25 (Keras' default would start as a ReLU).
    return layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25), shared_axes=[1, 2], name=name)


def _batch_norm(name):
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=name)


def srresnet_generator(channels=3, width=64, blocks=16, scale=4, residual=False, name="generator"):
    """LR images `(n, H, W, channels)`, any H and W -> `(n, scale H, scale W, channels)`: the paper's generator.

    k9n64s1 + PReLU; `blocks` x (k3n64s1, BN, PReLU, k3n64s1, BN, sum); k3n64s1,
    BN, sum with the first layer's output; log2(scale) x (k3n256s1,
    PixelShuffle x2, PReLU); k9n3s1 (Figure 4, with n64 = `width`). The last
    layer is linear: outputs are meant in [0, 1] but not bounded (see the
    module docstring); it starts at zero weights and a bias of 1/2, so a new
    generator outputs mid-grey, as DnCNN's zero last layer starts it at the
    identity. `residual=True` adds the output to `BicubicUpsampling(scale)`
    of the input (the last layer's bias then starts at 0: a new generator
    is bicubic upsampling).
    """
    stages = upsampling_stages(scale)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (colour); got {channels!r}")
    if int(width) < 1 or int(blocks) < 0:
        raise ValueError(f"width must be >= 1 and blocks >= 0; got width={width!r}, blocks={blocks!r}")
    inputs = keras.Input((None, None, channels))
    x = layers.Conv2D(width, 9, padding="same", name="conv_in")(inputs)
    x = skip = _prelu("prelu_in")(x)
    for i in range(blocks):
        y = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"res_{i}_conv_0")(x)
        y = _prelu(f"res_{i}_prelu")(_batch_norm(f"res_{i}_bn_0")(y))
        y = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"res_{i}_conv_1")(y)
        x = layers.Add(name=f"res_{i}_sum")([x, _batch_norm(f"res_{i}_bn_1")(y)])
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name="conv_mid")(x)
    x = layers.Add(name="long_skip")([skip, _batch_norm("bn_mid")(x)])
    for k in range(stages):
        x = layers.Conv2D(4 * width, 3, padding="same", name=f"up_{k}_conv")(x)
        x = _prelu(f"up_{k}_prelu")(PixelShuffle(2, name=f"up_{k}_shuffle")(x))
    # Zero kernel, bias 1/2: training starts from a flat mid-grey image, not from noise of the images' size
    # (the MSE after 400 CPU steps was 0.016 against 0.025 from Keras' default initialisation).
    outputs = layers.Conv2D(channels, 9, padding="same", kernel_initializer="zeros",
                            bias_initializer=keras.initializers.Constant(0.0 if residual else 0.5), name="conv_out")(x)
    if residual:
        outputs = layers.Add(name="residual_sum")([BicubicUpsampling(scale, name="bicubic")(inputs), outputs])
    return keras.Model(inputs, outputs, name=name)


def upsampler_layers(generator):
    """The layers of `srresnet_generator`'s output end, at HR resolution: its sub-pixel stages and last
    convolution. Their filters differ for each of the scale^2 output phases, and in the zoo's SRGAN runs the
    `scale`-pixel grid sat in their weights (recipes/srgan_artifacts.py measures it)."""
    return [layer for layer in generator.layers if layer.name.startswith("up_") or layer.name == "conv_out"]


def receptive_radius(blocks, scale):
    """How many LR pixels beyond its own an output pixel of `srresnet_generator(blocks=, scale=)` sees, each way.

    Walks back from the `scale` x `scale` HR pixels of one LR pixel: the last
    9x9 convolution (4 HR pixels), then each x2 stage (a pixel shuffle
    halves, flooring; its 3x3 convolution adds 1), then at LR the middle
    convolution (1), two per block, and the first 9x9 (4). Tiles that overlap
    by this margin give the untiled output (the network's BatchNorm is affine
    at inference).
    """
    low, high = -4, scale - 1 + 4
    for _ in range(upsampling_stages(scale)):
        low, high = low // 2 - 1, high // 2 + 1
    return max(-low, high) + 1 + 2 * int(blocks) + 4


def srgan_discriminator(channels=3, width=64, image_size=96, antialias=False, name="discriminator"):
    """HR images -> one logit each (D(x) = sigmoid(logit)): the paper's discriminator.

    k3n64s1 + LeakyReLU(0.2), then seven conv-BN-LeakyReLU blocks (n64s2,
    n128s1, n128s2, n256s1, n256s2, n512s1, n512s2; n64 = `width`), dense
    1024 + LeakyReLU, dense 1 (Figure 4; the sigmoid is in the loss).
    `image_size` is the HR patch it takes, as the paper's (96): its last
    feature map is flattened into the dense layer. `image_size=None` takes
    any size and averages the last feature map over positions instead
    (global average pooling), a change from the paper. `antialias=True`
    blurs before each stride-2 convolution (`zoo.layers.Blur`, Zhang 2019),
    so that the adversarial loss's gradient carries no checkerboard (also a
    change from the paper; recipes/srgan_artifacts.py measures why).
    """
    if image_size is not None and (isinstance(image_size, bool) or int(image_size) < 1):
        raise ValueError(f"image_size must be a positive integer or None (any size); got {image_size!r}")
    size = None if image_size is None else int(image_size)
    inputs = keras.Input((size, size, channels))
    x = layers.LeakyReLU(0.2, name="lrelu_0")(layers.Conv2D(width, 3, padding="same", name="conv_0")(inputs))
    plan = [(width, 2), (2 * width, 1), (2 * width, 2), (4 * width, 1), (4 * width, 2), (8 * width, 1), (8 * width, 2)]
    for i, (filters, stride) in enumerate(plan, start=1):
        if antialias and stride > 1:
            x = Blur(name=f"blur_{i}")(x)
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"conv_{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"lrelu_{i}")(_batch_norm(f"bn_{i}")(x))
    x = layers.Flatten(name="flatten")(x) if size is not None else layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.LeakyReLU(0.2, name="lrelu_dense")(layers.Dense(1024, name="dense")(x))
    outputs = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, outputs, name=name)


# The numpy API both models share -------------------------------------------------------------------------------


class Upscaler:
    """What SRResNet and SRGAN share around their `generator`: numpy `upscale` (tiled or not), input checks, and
    `fit` on (LR, HR) pairs. Needs `generator`, `channels`, `width`, `blocks`, `scale` and `residual`."""

    @property
    def accepted_channels(self):
        """Channel counts `upscale` takes: the model's, and grey for a colour model."""
        return (1, 3) if self.channels == 3 else (1,)

    @property
    def margin(self):
        """The overlap (LR pixels) that makes tiled output equal the untiled one: `receptive_radius`."""
        return receptive_radius(self.blocks, self.scale)

    def call(self, lr, training=False):
        return self.generator(lr, training=training)

    def __call__(self, *args, **kwargs):
        # Numpy in, numpy out, with checks; tensors (fit, predict, saving) go straight to Keras.
        numpy = isinstance(args[0], np.ndarray) or (
            isinstance(args[0], list) and all(isinstance(a, np.ndarray) for a in args[0])) if args else False
        if len(args) == 1 and not kwargs and numpy:
            return self.upscale(args[0])
        return super().__call__(*args, **kwargs)

    def upscale(self, images, tile=None, batch_size=8, margin=None):
        """Super-resolved image(s) in [0, 1], `scale` times larger; numpy in, numpy out.

        Args:
            images: floats in [0, 1]: one image `(H, W)` or `(H, W, C)`, a batch
                `(n, H, W, C)`, or a list of images of different sizes (a list
                comes back). `C` is the model's channels; a colour model also
                takes grey images (their channel repeated; the output's luma
                returned, grey). Sides of at least `MIN_SIZE`.
            tile: None: the whole image in one pass. An int: LR tiles of
                `tile` x `tile` pixels, each run with `margin` pixels of its
                neighbours around it, for images too large for memory at once.
            batch_size: images per forward pass.
            margin: LR pixels of context around each tile; default the
                generator's receptive radius (`self.margin`), with which the
                tiled output equals the untiled one up to float rounding.

        Raises:
            InputError: wrong rank or channels (an alpha channel too), uint8 or
                0..255 values, NaN/inf, an image smaller than `MIN_SIZE`.
        """
        if isinstance(images, (list, tuple)):
            return [self.upscale(image, tile, batch_size, margin) for image in images]
        batch, layout = check_low_resolution(images, self.accepted_channels)
        grey = batch.shape[-1] == 1 and self.channels == 3
        if grey:
            batch = np.repeat(batch, 3, axis=-1)
        if tile is not None and (isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 1):
            raise InputError(f"tile must be a positive int (LR pixels) or None; got {tile!r}")
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
        margin = self.margin if margin is None else int(margin)
        out = np.clip(self._tiled(batch, tile, margin, int(batch_size)), 0.0, 1.0)
        if grey:
            out = out @ LUMA[:, None]
        s = self.scale
        shape = (*layout[:-3], layout[-3] * s, layout[-2] * s, layout[-1]) if len(layout) >= 3 \
            else (layout[0] * s, layout[1] * s)
        return out.reshape(shape)

    def _tiled(self, batch, tile, margin, batch_size):
        n, h, w, _ = batch.shape
        if tile is None or (tile >= h and tile >= w):
            return self._forward(batch, batch_size)
        s = self.scale
        out = np.empty((n, h * s, w * s, self.channels), np.float32)
        for top in range(0, h, tile):
            for left in range(0, w, tile):
                bottom, right = min(top + tile, h), min(left + tile, w)
                t, l = max(top - margin, 0), max(left - margin, 0)
                sr = self._forward(batch[:, t:min(bottom + margin, h), l:min(right + margin, w)], batch_size)
                out[:, top * s:bottom * s, left * s:right * s] = \
                    sr[:, (top - t) * s:(bottom - t) * s, (left - l) * s:(right - l) * s]
        return out

    def _forward(self, batch, batch_size):
        return np.concatenate([
            ops.convert_to_numpy(ops.cast(self.generator(ops.convert_to_tensor(batch[i:i + batch_size]),
                                                         training=False), "float32"))
            for i in range(0, len(batch), batch_size)])

    # Training data -----------------------------------------------------------------------------------------

    def check_inputs(self, x):
        """LR training images: float32 `(n, H, W, channels)` in [0, 1]."""
        return check_images(x, channels=self.channels, name="x (the low-resolution images)")

    def check_training_size(self, hr_shape):
        """Raise `InputError` unless the model can train on HR patches of `hr_shape` (H, W); SRGAN checks."""

    def fit(self, x=None, y=None, *args, **kwargs):
        if hasattr(x, "__array__"):
            if y is None:
                raise InputError(f"{type(self).__name__} trains on (low-resolution, high-resolution) pairs: "
                                 "fit(lr, hr), or fit(sr_pairs(images, ...)); got LR images only.")
            x = self.check_inputs(x)
            y = check_images(y, channels=self.channels, name="y (the high-resolution images)")
            expected = (len(x), x.shape[1] * self.scale, x.shape[2] * self.scale)
            if (len(y), *y.shape[1:3]) != expected:
                raise InputError(f"y must hold one HR image {self.scale} times the size of each LR image: "
                                 f"(n, H, W) = {expected}; got {y.shape[:3]} for LR {x.shape[:3]}.")
            self.check_training_size(y.shape[1:3])
        elif getattr(x, "patch_size", None) is not None:  # SRPairs
            if getattr(x, "scale", self.scale) != self.scale:
                raise InputError(f"these pairs are for x{x.scale}; this model upscales x{self.scale}.")
            self.check_training_size((x.patch_size, x.patch_size))
        return super().fit(x, y, *args, **kwargs)

    def _architecture(self):
        return {"channels": self.channels, "width": self.width, "blocks": self.blocks, "scale": self.scale,
                "residual": self.residual}


def check_low_resolution(x, channels=(1, 3), name="images"):
    """Validates LR images; returns `(float32 batch (n, H, W, C), the input's shape)`."""
    return check_image_or_batch(x, channels=channels, value_range=LR_RANGE, min_size=MIN_SIZE, name=name,
                                min_size_note=" (its first layer is a 9x9 convolution: below that, every output "
                                              "pixel is mostly zero padding)")


# The models ------------------------------------------------------------------------------------------------


def _sizes(channels, width, blocks, scale):
    upsampling_stages(scale)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (colour); got {channels!r}")
    return int(channels), int(width), int(blocks), int(scale)


@keras.saving.register_keras_serializable(package="zoo")
class SRResNet(Upscaler, SingleLossModel):
    """The paper's generator trained with the pixel-wise MSE (Ledig et al. 2017, Sec. 3; their SRResNet).

    Train with `fit(lr, hr)` (arrays, HR `scale` times the LR's size) or
    `fit(sr_pairs(images, scale, patch_size=96))`; the paper used batches of
    16 crops of 96x96 HR and Adam(1e-4), what `compile_for_finetuning` sets.
    `model(lr)` on tensors is the generator's (unclipped) output;
    `model.upscale(images)` / `model(images)` on numpy checks and clips.

    Args:
        channels: 3 (RGB, the paper's) or 1 (grey).
        width: feature maps of the body (64 in the paper).
        blocks: residual blocks (16 in the paper).
        scale: upscaling factor, a power of two (4 in the paper).
        residual: learn only what bicubic upsampling misses (see the module
            docstring; False is the paper's generator).
    """

    tracked = ("loss",)

    def __init__(self, channels=3, width=64, blocks=16, scale=4, residual=False, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.width, self.blocks, self.scale = _sizes(channels, width, blocks, scale)
        self.residual = bool(residual)
        self.generator = srresnet_generator(self.channels, self.width, self.blocks, self.scale, self.residual)
        self.built = True

    def compute_terms(self, x, y=None, training=False):
        if y is None:
            raise InputError("SRResNet trains on (low-resolution, high-resolution) pairs; got no HR images.")
        sr = ops.cast(self.generator(x, training=training), "float32")  # the loss in float32
        return {"loss": ops.mean(ops.square(sr - ops.cast(ops.convert_to_tensor(y), "float32")))}

    def get_config(self):
        return {**super().get_config(), **self._architecture()}


@keras.saving.register_keras_serializable(package="zoo")
class SRGAN(Upscaler, AdversarialModel):
    """SRResNet's generator trained against a discriminator with a perceptual loss (Ledig et al. 2017).

    Generator loss (Eq. 3): `content_weight x content + pixel_weight x MSE +
    adversarial_weight x -log D(G(lr))`, the content loss the mean squared
    difference of the frozen `feature_model`'s activations at
    `feature_layers` (`zoo.losses.PerceptualLoss`). The paper's SRGAN-VGG54 is
    `feature_model=vgg19_features()`, `feature_layers="block5_conv4"` (the 4th
    convolution, after its ReLU, before the 5th pooling) and, as its features
    are divided by 12.75, `content_weight=1 / 12.75**2`; its SRGAN-MSE is
    `content_weight=0, pixel_weight=1`. Discriminator loss (Eq. 2):
    `-log D(hr) - log(1 - D(G(lr)))`. Each step updates the discriminator,
    then the generator (Goodfellow et al.'s k = 1). `compile()` gives both
    the paper's Adam(1e-4, beta_1 = 0.9); the paper then trains as many steps
    again at 1e-5 (`compile(learning_rate=1e-5)` for the second stage).

    Args:
        feature_model, feature_layers, layer_weights: the content loss's
            network (taking HR images in [0, 1]), its layers, and a weight
            each. The network is frozen and saved with the model.
        channels, width, blocks, scale, residual: the generator's (`SRResNet`'s).
        discriminator_width: the discriminator's first width (64).
        discriminator_size: the HR patch side the discriminator takes (96,
            the paper's crops); None: any size, through global average
            pooling (see `srgan_discriminator`).
        antialias: blur before the discriminator's strided convolutions
            (Zhang 2019; not in the paper), so its gradient carries no
            checkerboard into the generator.
        fixed_upsampler: train only the generator's LR-resolution trunk,
            keeping the sub-pixel stages and last convolution it started
            with (`upsampler_layers`; not in the paper): the zoo's CPU runs
            put a 4-pixel grid there; kept fixed, the trunk learned half as
            much grid through them (recipes/srgan_artifacts.py).
        content_weight, pixel_weight, adversarial_weight: the loss weights.
    """

    players = ("generator", "discriminator")
    selection_metric = None  # a GAN's losses do not measure the pictures: fine-tuning keeps the last epoch

    def __init__(self, feature_model, feature_layers, channels=3, width=64, blocks=16, scale=4, discriminator_width=64,
                 discriminator_size=96, layer_weights=None, content_weight=1.0, pixel_weight=0.0,
                 adversarial_weight=1e-3, seed=None, residual=False, antialias=False, fixed_upsampler=False,
                 **kwargs):
        weights = {"content_weight": content_weight, "pixel_weight": pixel_weight,
                   "adversarial_weight": adversarial_weight}
        bad = {k: v for k, v in weights.items() if not float(v) >= 0}
        if bad:
            raise ValueError(f"loss weights must be >= 0; got {bad}")
        self.tracked = ("generator_loss", "content_loss", "adversarial_loss") + (
            ("pixel_loss",) if float(pixel_weight) > 0 else ()) + ("discriminator_loss",)
        super().__init__(latent_dim=None, seed=seed, **kwargs)
        self.channels, self.width, self.blocks, self.scale = _sizes(channels, width, blocks, scale)
        self.residual = bool(residual)
        self.discriminator_width = int(discriminator_width)
        self.discriminator_size = None if discriminator_size is None else int(discriminator_size)
        self.antialias = bool(antialias)
        self.content_weight, self.pixel_weight, self.adversarial_weight = (float(v) for v in weights.values())
        self.generator = srresnet_generator(self.channels, self.width, self.blocks, self.scale, self.residual)
        self.fixed_upsampler = bool(fixed_upsampler)
        for layer in upsampler_layers(self.generator) if self.fixed_upsampler else ():
            layer.trainable = False
        self.discriminator = srgan_discriminator(self.channels, self.discriminator_width, self.discriminator_size,
                                                 self.antialias)
        self.perceptual = PerceptualLoss(feature_model, feature_layers, weights=layer_weights)
        self.perceptual.check_input_shape((self.discriminator_size, self.discriminator_size, self.channels))
        self.built = True

    @classmethod
    def from_srresnet(cls, srresnet, feature_model, feature_layers, **kwargs):
        """An SRGAN whose generator starts from a trained `SRResNet`'s weights (the paper's initialisation)."""
        model = cls(feature_model, feature_layers, **srresnet._architecture(), **kwargs)
        model.generator.set_weights(srresnet.generator.get_weights())
        return model

    def compile(self, optimizers=None, learning_rate=1e-4, n_critic=1, **kwargs):
        if int(n_critic) != 1:
            raise ValueError(f"SRGAN updates each network once a step; n_critic must be 1, got {n_critic}")
        if optimizers is None:
            optimizers = {name: keras.optimizers.Adam(learning_rate, beta_1=0.9) for name in self.players}
        super().compile(optimizers=optimizers, n_critic=1, **kwargs)

    def compile_for_finetuning(self):
        self.compile()

    def check_training_size(self, hr_shape):
        size = self.discriminator_size
        if size is not None and tuple(int(d) for d in hr_shape) != (size, size):
            raise InputError(f"this SRGAN's discriminator takes {size}x{size} HR patches; got "
                             f"{hr_shape[0]}x{hr_shape[1]}. Train on {size}-pixel crops (sr_pairs(..., "
                             f"patch_size={size})), or build it with discriminator_size=None (any size).")
        self.perceptual.check_input_shape((*hr_shape, self.channels))

    # Training -----------------------------------------------------------------------------------------------

    def generator_loss(self, lr, hr, training=True):
        """Eq. 3: the content loss plus 1e-3 x the adversarial loss -log D(G(lr)) (plus an optional pixel MSE)."""
        sr = self.generator(lr, training=training)
        content = self.perceptual(hr, sr)
        adversarial = non_saturating_generator_loss(self.discriminator(sr, training=training))
        loss = self.content_weight * content + self.adversarial_weight * adversarial
        terms = {"content_loss": content, "adversarial_loss": adversarial}
        if self.pixel_weight > 0:
            pixel = ops.mean(ops.square(ops.cast(sr, "float32") - ops.cast(hr, "float32")))
            loss = loss + self.pixel_weight * pixel
            terms["pixel_loss"] = pixel
        terms["generator_loss"] = loss
        return loss, terms

    def discriminator_loss(self, lr, hr, training=True):
        """Eq. 2: -log D(hr) - log(1 - D(G(lr))), G held fixed."""
        sr = ops.stop_gradient(self.generator(lr, training=training))
        loss = gan_discriminator_loss(self.discriminator(hr, training=training),
                                      self.discriminator(sr, training=training))
        return loss, {"discriminator_loss": loss}

    def train_step(self, data):
        lr, hr, _ = keras.utils.unpack_x_y_sample_weight(data)
        if hr is None:
            raise ValueError("SRGAN trains on (low-resolution, high-resolution) pairs; got LR images only.")
        lr, hr = ops.convert_to_tensor(lr), ops.convert_to_tensor(hr)
        terms = self.player_step("discriminator", self.discriminator_loss, lr, hr)
        terms.update(self.player_step("generator", self.generator_loss, lr, hr))
        return self.update_trackers(terms)

    def test_step(self, data):
        """Both losses on held-out pairs, no updates (BatchNorm uses its moving statistics)."""
        lr, hr, _ = keras.utils.unpack_x_y_sample_weight(data)
        lr, hr = ops.convert_to_tensor(lr), ops.convert_to_tensor(hr)
        terms = self.discriminator_loss(lr, hr, training=False)[1]
        terms.update(self.generator_loss(lr, hr, training=False)[1])
        return self.update_trackers(terms)

    def sample(self, n, seed=None):
        raise NotImplementedError("An SRGAN upscales images and draws none from noise: use upscale(images).")

    def get_config(self):
        return {
            **super().get_config(),
            **self._architecture(),
            "feature_model": keras.saving.serialize_keras_object(self.perceptual.extractor),
            "feature_layers": list(self.perceptual.layer_names),
            "layer_weights": list(self.perceptual.layer_weights),
            "discriminator_width": self.discriminator_width,
            "discriminator_size": self.discriminator_size,
            "antialias": self.antialias,
            "fixed_upsampler": self.fixed_upsampler,
            "content_weight": self.content_weight,
            "pixel_weight": self.pixel_weight,
            "adversarial_weight": self.adversarial_weight,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("feature_model"), dict):
            config["feature_model"] = keras.saving.deserialize_keras_object(config["feature_model"])
        return cls(**config)


# Training pairs ------------------------------------------------------------------------------------------------


def low_resolution_pairs(images, scale=4):
    """`[(lr, hr)]` as uint8: each HR image cropped to multiples of `scale` and downscaled by MATLAB's bicubic
    `imresize(hr, 1/scale)` on its 8-bit pixels (`zoo.data.resize.bicubic_pair`), once per whole image."""
    pairs = []
    for image in images:
        lr, hr = bicubic_pair(image, scale)
        pairs.append((to_uint8(lr), to_uint8(hr)))
    return pairs


class SRPairs(EpochBatches):
    """Batches `(lr, hr)` of aligned random crops: LR `patch_size / scale` square, HR `patch_size` square.

    The LR of each whole training image is made once (`low_resolution_pairs`);
    a crop at LR position `(i, j)` goes with the HR crop at `(scale i, scale
    j)`, so each LR patch is exactly MATLAB's bicubic LR of the image there
    (not of the crop, whose borders would be mirrored). Each crop comes from an
    image drawn in proportion to its number of positions, at a uniform
    position, then one of the 8 flips/rotations (`augment`) is applied to both
    (MATLAB's LR commutes with them up to the 8-bit rounding between its two
    passes). Batch `i` of epoch `e` depends only on `(seed, e, i)`.

    Args:
        pairs: `low_resolution_pairs(images, scale)`: `[(lr, hr)]`, uint8 or
            floats in [0, 1], HR `scale` times the LR in each side.
        scale: the upscaling factor.
        patch_size: HR crop side, a multiple of `scale` (96 in the paper).
        batch_size: crops per batch (16 in the paper).
        steps: batches per epoch.
    """

    def __init__(self, pairs, scale=4, patch_size=96, batch_size=16, steps=1000, seed=0, augment=True, **kwargs):
        super().__init__(steps, **kwargs)
        if not pairs:
            raise InputError("SRPairs needs at least one (lr, hr) image pair; got none.")
        if int(patch_size) < scale or int(patch_size) % scale:
            raise InputError(f"patch_size (HR) must be a positive multiple of the scale {scale}; got {patch_size!r}")
        self.scale, self.patch_size, self.batch_size = int(scale), int(patch_size), int(batch_size)
        self.seed, self.augment = int(seed), augment
        p = self.patch_size // self.scale
        for k, (lr, hr) in enumerate(pairs):
            if np.ndim(lr) != 3 or np.shape(hr) != (lr.shape[0] * scale, lr.shape[1] * scale, lr.shape[2]):
                raise InputError(f"pair {k}: HR of shape {np.shape(hr)} is not {scale} x its LR {np.shape(lr)}.")
            if min(lr.shape[:2]) < p:
                raise InputError(f"pair {k}: its LR image of {lr.shape[0]}x{lr.shape[1]} pixels is smaller than an "
                                 f"LR patch ({p} = {patch_size} / {scale}); leave it out or use smaller patches.")
        if len({lr.shape[-1] for lr, _ in pairs}) != 1:
            raise InputError("SRPairs needs images of one channel count; got a mix.")
        self.pairs = pairs
        positions = np.array([(lr.shape[0] - p + 1) * (lr.shape[1] - p + 1) for lr, _ in pairs], np.float64)
        self.weights = positions / positions.sum()

    def batch(self, index, epoch=0):
        """Batch `index` of epoch `epoch`: float32 `(lr (b, p, p, C), hr (b, scale p, scale p, C))`."""
        rng = np.random.default_rng([self.seed, epoch, index])
        s, p = self.scale, self.patch_size // self.scale
        which = rng.choice(len(self.pairs), size=self.batch_size, p=self.weights)
        transforms = rng.integers(0, 8, size=self.batch_size) if self.augment else np.zeros(self.batch_size, int)
        lrs, hrs = [], []
        for k, t in zip(which, transforms):
            lr, hr = self.pairs[k]
            top, left = rng.integers(0, lr.shape[0] - p + 1), rng.integers(0, lr.shape[1] - p + 1)
            lrs.append(dihedral(lr[top:top + p, left:left + p], t))
            hrs.append(dihedral(hr[s * top:s * (top + p), s * left:s * (left + p)], t))
        return _as_float(np.stack(lrs)), _as_float(np.stack(hrs))


def _as_float(x):
    return x.astype(np.float32) / np.float32(255) if x.dtype == np.uint8 else x.astype(np.float32, copy=False)


def sr_pairs(images, scale=4, patch_size=96, batch_size=16, steps=1000, seed=0, augment=True):
    """`SRPairs(low_resolution_pairs(images, scale), ...)`: what `SRResNet.fit` / `SRGAN.fit` train on.

    `images` are HR images `(H, W, C)`, uint8 or floats in [0, 1] (e.g.
    `zoo.data.natural.training_images(channels=3)`).
    """
    return SRPairs(low_resolution_pairs(images, scale), scale=scale, patch_size=patch_size, batch_size=batch_size,
                   steps=steps, seed=seed, augment=augment)


def srresnet_x4(width=64, blocks=16, residual=False):
    """The paper's SRResNet x4 on RGB images (width 64, 16 blocks), or a narrower/shallower one for CPU runs;
    `residual=True` adds bicubic upsampling to its output."""
    return SRResNet(channels=3, width=width, blocks=blocks, scale=4, residual=residual)
