"""Progressive growing of GANs.

Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation", ICLR 2018 (arXiv:1710.10196); the layers,
losses and schedule follow the authors' code (tkarras/progressive_growing_of_gans:
networks.py, loss.py, train.py).

- `EqualizedConv2D`, `EqualizedDense` (Sec. 4.1): weights drawn from N(0, 1)
  and multiplied at run time by He's constant gain / sqrt(fan_in) (gain
  sqrt(2), 1 for toRGB and the score, sqrt(2) / 4 for the generator's latent
  projection as the authors' code), so Adam's steps are the same size
  relative to every layer's weights.
- `PixelNormalization` (Sec. 4.2): each pixel's feature vector divided by its
  root mean square, after every generator convolution and on the latent.
- `MinibatchStdDev` (Sec. 3): the standard deviation of each feature over a
  group of 4 examples, averaged into one extra feature map at the critic's
  4x4 block.
- `FadeIn` (Sec. 2, Figure 2): `w * new + (1 - w) * old`, the blend that fades
  a new resolution in.
- `ProGenerator` / `ProCritic`: the paper's Table 2 networks for one final
  `resolution`, with `channels_at(res) = min(fmap_base / (res / 2), fmap_max)`
  feature maps at each resolution (8192 and 512 in the paper: 512 up to 32x32,
  then 256, 128, 64, 32, 16 at 1024x1024).
- `ProGAN`: both players, trained with WGAN-GP (lambda = 10) plus the drift
  term 0.001 E[D(x)^2] (Sec. A.1), one critic update per generator update, and
  Adam(0.001, beta_1 = 0, beta_2 = 0.99, epsilon = 1e-8).
- `GrowthSchedule` and the `Grow` callback: which resolution and fade-in
  weight each step trains at (the paper: 800k images per fade-in and per
  stable phase).

Levels: level 0 is 4x4, level k is 4 * 2^k, level `max_level` the final
resolution. The stage is `(level, alpha)`: at alpha = 1 the network works at
level `level`; while 0 <= alpha < 1 the level's new layers fade in, and the
output is `alpha * new + (1 - alpha) * upsampled(previous level)`.

How one compiled step serves every stage: both networks are built once at
full size, and the stage is two non-trainable variables in each network
(`level`, int32, and `alpha`, float32), so it is part of the JAX state, of the
TensorFlow graph's inputs and of checkpoints, and changing it retraces
nothing. The forward pass is the authors' "linear" structure: every level is
computed, and level i enters through a blend weight
`w_i = clip(level - i + alpha, 0, 1)` (1 below the current level, alpha at
it, 0 above it). The generator's output is
`out_0 = rgb_0; out_i = w_i rgb_i + (1 - w_i) upsample(out_{i-1})`,
nearest-upsampled to the full resolution, so its shape never changes; the
critic mirrors it, each level's fromRGB taking the input average-pooled to
that level. A block above the current level is still computed, but enters
with weight exactly 0: it changes neither the output nor any gradient (its
own are exactly zero, so Adam with beta_1 = 0 leaves it where it is). The
price is compute: at a low level the step costs what the full network
costs, acceptable at the zoo's sizes; the authors' "recursive" structure
(tf.cond per level) would skip those blocks.

Images: users' data and `sample()` are in [0, 1]; the networks work in
[-1, 1] as the paper's (`generator(z)` and `critic(x)` take and give
[-1, 1]). Real images are shown to the critic at the current stage as the
authors' `process_reals` does: average-pooled to the level, blended with
the previous level by the same alpha, nearest-upsampled back.

Where this differs from the authors' code (for a recipe to decide):
- They reset both Adams' state when a fade-in starts and when it ends
  (`reset_opt_for_new_lod`); here the optimizers run on (their step count
  is what `Grow` reads). With beta_1 = 0 a block out of use takes no step,
  but a block coming into use starts with zero second moments while Adam's
  bias correction is that of a late step, so its first steps are up to
  1 / sqrt(1 - beta_2) = 10 times the learning rate, falling back over some
  hundred steps.
- They sample and evaluate with an exponential moving average of the
  generator's weights (Gs, beta 0.999); so does `ProGAN` (its
  `average_generator`, `ema_beta=0.999`; 0 samples the trained generator).
- Their batch size falls at high resolutions (16 up to 128x128, then 14, 6,
  3); `Grow` counts images as steps x one batch size.
- Their "recursive" networks skip the blocks above the current level (see
  above); their fused upsample-convolution is the same function as the
  nearest upsampling and 3x3 convolution here.
"""

import math

import keras
import numpy as np
from keras import ops

from zoo.data import check_images
from zoo.errors import InputError
from zoo.losses import gradient_penalty, wasserstein_critic_loss, wasserstein_generator_loss
from zoo.models.gan import latent_walk
from zoo.trainers import AdversarialModel

LEAKY_SLOPE = 0.2  # the paper's leaky ReLU
PAPER_IMAGES_PER_PHASE = 800_000  # images per fade-in and per stable phase (Sec. A.1)


def _whole(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_resolution(resolution):
    """`resolution` as an int, or a ValueError: a power of two >= 8 (4x4 is where the networks start)."""
    if not _whole(resolution) or resolution < 8 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 8 (8, 16, 32, ..., 1024): the final image side, "
                         f"grown from 4x4; got {resolution!r}")
    return int(resolution)


def levels_for(resolution):
    """The highest level of a network for `resolution`: log2(resolution) - 2 (level 0 is 4x4)."""
    return int(resolution).bit_length() - 3


def resolution_at(level):
    """The image side at `level`: 4 * 2^level."""
    return 4 * 2 ** int(level)


def channels_at(resolution, fmap_base=8192, fmap_max=512):
    """Feature maps at `resolution`: min(fmap_base / 2^stage, fmap_max), stage = log2(resolution) - 1 (the
    authors' `nf(stage)`); `channels_at(2)` is their nf(0), the critic's last dense layer and default latent size."""
    stage = int(resolution).bit_length() - 2
    return min(int(fmap_base / 2.0 ** stage), int(fmap_max))


def _check_channels(resolution, fmap_base, fmap_max):
    if not (_whole(fmap_base) and _whole(fmap_max)) or fmap_base < 1 or fmap_max < 1:
        raise ValueError(f"fmap_base and fmap_max must be positive integers; got {fmap_base!r}, {fmap_max!r}")
    if channels_at(resolution, fmap_base, fmap_max) < 1:
        raise ValueError(f"fmap_base={fmap_base} leaves no feature maps at {resolution}x{resolution} "
                         f"(fmap_base / (resolution / 2) < 1); use fmap_base >= {resolution // 2}")


# Layers ---------------------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="zoo")
class UnitNormal(keras.initializers.Initializer):
    """N(0, 1) weights drawn by numpy: from numpy's global state (which `keras.utils.set_random_seed` seeds) or,
    with `seed`, from `numpy.random.default_rng(seed)`. On JAX, `keras.initializers.RandomNormal` compiles
    one random program per weight shape (about a second each on a CPU); numpy draws at once."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        rng = np.random if self.seed is None else np.random.default_rng(self.seed)
        return ops.convert_to_tensor(rng.standard_normal(tuple(shape)).astype("float32"), dtype=dtype or "float32")

    def get_config(self):
        return {"seed": self.seed}


def _leaky_relu(x):
    return ops.maximum(x, x * LEAKY_SLOPE)  # as the authors' leaky_relu


@keras.saving.register_keras_serializable(package="zoo")
class EqualizedConv2D(keras.layers.Layer):
    """A stride-1 'same' convolution with the equalized learning rate (Karras et al. 2018, Sec. 4.1).

    The kernel is drawn from N(0, 1) and multiplied by `gain / sqrt(fan_in)`
    (fan_in = kernel_size^2 x input channels) at every call; the bias starts
    at zero. `scale` holds that constant once built.
    """

    def __init__(self, filters, kernel_size=3, gain=math.sqrt(2.0), use_bias=True, **kwargs):
        super().__init__(**kwargs)
        if not _whole(filters) or filters < 1 or not _whole(kernel_size) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"EqualizedConv2D needs filters >= 1 and an odd kernel_size; got {filters!r}, "
                             f"{kernel_size!r}")
        self.filters, self.kernel_size = int(filters), int(kernel_size)
        self.gain, self.use_bias = float(gain), bool(use_bias)
        self.scale = None

    def build(self, input_shape):
        fan_in = self.kernel_size ** 2 * int(input_shape[-1])
        self.scale = self.gain / math.sqrt(fan_in)
        self.kernel = self.add_weight(shape=(self.kernel_size, self.kernel_size, int(input_shape[-1]), self.filters),
                                      initializer=UnitNormal(), name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias") if self.use_bias else None

    def call(self, x):
        y = ops.conv(x, self.kernel * self.scale, padding="same")
        return y + self.bias if self.use_bias else y

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size, "gain": self.gain,
                "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="zoo")
class EqualizedDense(keras.layers.Layer):
    """A dense layer with the equalized learning rate: N(0, 1) kernel times `gain / sqrt(fan_in)` at every call.

    Inputs of rank > 2 are flattened first (as the authors' `dense`)."""

    def __init__(self, units, gain=math.sqrt(2.0), use_bias=True, **kwargs):
        super().__init__(**kwargs)
        if not _whole(units) or units < 1:
            raise ValueError(f"EqualizedDense needs units >= 1; got {units!r}")
        self.units, self.gain, self.use_bias = int(units), float(gain), bool(use_bias)
        self.scale = None

    def build(self, input_shape):
        fan_in = int(np.prod(input_shape[1:]))
        self.scale = self.gain / math.sqrt(fan_in)
        self.kernel = self.add_weight(shape=(fan_in, self.units), initializer=UnitNormal(), name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias") if self.use_bias else None

    def call(self, x):
        if len(x.shape) > 2:
            x = ops.reshape(x, (-1, int(np.prod(x.shape[1:]))))
        y = ops.matmul(x, self.kernel * self.scale)
        return y + self.bias if self.use_bias else y

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gain": self.gain, "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="zoo")
class PixelNormalization(keras.layers.Layer):
    """Pixelwise feature vector normalization (Sec. 4.2): `x / sqrt(mean(x^2 over channels) + epsilon)`."""

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        x32 = ops.cast(x, "float32")
        y = x32 * ops.rsqrt(ops.mean(ops.square(x32), axis=-1, keepdims=True) + self.epsilon)
        return ops.cast(y, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="zoo")
class MinibatchStdDev(keras.layers.Layer):
    """Minibatch standard deviation (Sec. 3): one more feature map, each group's mean feature standard deviation.

    The batch of N is split into N / G groups of G = `group_size` examples
    (example n in group n mod N/G, as the authors' reshape); within each group
    the standard deviation of every feature at every position is taken
    (over the group, sqrt(variance + 1e-8)), averaged over features and
    positions, and appended as a constant channel to the group's examples.
    When N is smaller than G or not a multiple of it, the whole batch is one
    group (the authors' code takes min(G, N) and needs N divisible by it).
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        if not _whole(group_size) or group_size < 2:
            raise ValueError(f"group_size must be an integer >= 2; got {group_size!r}")
        self.group_size = int(group_size)

    def call(self, x):
        n = ops.shape(x)[0]
        g = self.group_size
        if isinstance(n, (int, np.integer)):
            groups = g if n >= g and n % g == 0 else int(n)
        else:  # a symbolic batch size (TensorFlow retraced for a last, smaller batch)
            groups = ops.where(ops.logical_and(n >= g, n % g == 0), g, n)
        h, w, c = x.shape[1], x.shape[2], x.shape[3]
        y = ops.reshape(ops.cast(x, "float32"), (groups, -1, h, w, c))  # (G, M, H, W, C)
        y = y - ops.mean(y, axis=0, keepdims=True)
        std = ops.sqrt(ops.mean(ops.square(y), axis=0) + 1e-8)  # (M, H, W, C)
        std = ops.mean(std, axis=(1, 2, 3), keepdims=True)  # (M, 1, 1, 1)
        feature = ops.zeros_like(y[..., :1]) + std[None]  # (G, M, H, W, 1)
        feature = ops.reshape(feature, (-1, h, w, 1))
        return ops.concatenate([x, ops.cast(feature, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


def fade_in(new, old, weight):
    """`weight * new + (1 - weight) * old`; weight 0 gives `old` and 1 gives `new` exactly."""
    weight = ops.cast(weight, new.dtype)
    return weight * new + (1.0 - weight) * old


@keras.saving.register_keras_serializable(package="zoo")
class FadeIn(keras.layers.Layer):
    """The fade-in between resolutions (Figure 2): `layer(new, old, weight=w) = w * new + (1 - w) * old`, `w` a
    scalar in [0, 1] (tensor or float; the stage's alpha at the level fading in)."""

    def call(self, new, old, weight=1.0):
        return fade_in(new, old, weight)

    def compute_output_shape(self, new_shape, old_shape=None, weight_shape=None):
        return new_shape


def upsample(x, factor=2):
    """Nearest-neighbour upscaling of NHWC images by an integer `factor` (the authors' `upscale2d`)."""
    if factor == 1:
        return x
    return ops.repeat(ops.repeat(x, factor, axis=1), factor, axis=2)


def downsample(x):
    """2x2 average pooling of NHWC images (the authors' `downscale2d`)."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    return ops.mean(ops.reshape(x, (-1, h // 2, 2, w // 2, 2, c)), axis=(2, 4))


def level_weight(level, alpha, index):
    """How much level `index`'s own output counts at stage (level, alpha): clip(level - index + alpha, 0, 1)."""
    return ops.clip(ops.cast(level, "float32") - float(index) + ops.cast(alpha, "float32"), 0.0, 1.0)


def pyramid(images, max_level):
    """`[images at level 0, ..., level max_level]`: `images` (at level max_level) average-pooled down, 2x2 at a time."""
    out = [images]
    for _ in range(max_level):
        out.append(downsample(out[-1]))
    return out[::-1]


def blend_levels(per_level, level, alpha):
    """One image per example at the full resolution from `per_level` (level i at 4 * 2^i): the generator's output
    rule, `out_i = w_i x_i + (1 - w_i) upsample(out_{i-1})` with `w_i = level_weight(level, alpha, i)`."""
    out = per_level[0]
    for i in range(1, len(per_level)):
        out = fade_in(per_level[i], upsample(out), level_weight(level, alpha, i))
    return out


class _Staged(keras.Model):
    """What both networks share: the sizes, and the stage variables `level` (int32) and `alpha` (float32)."""

    def __init__(self, resolution, image_channels=3, fmap_base=8192, fmap_max=512, **kwargs):
        super().__init__(**kwargs)
        self.resolution = check_resolution(resolution)
        if not _whole(image_channels) or image_channels not in (1, 3):
            raise ValueError(f"image_channels must be 1 (grey) or 3 (colour); got {image_channels!r}")
        _check_channels(self.resolution, fmap_base, fmap_max)
        self.image_channels, self.fmap_base, self.fmap_max = int(image_channels), int(fmap_base), int(fmap_max)
        self.max_level = levels_for(self.resolution)
        self.level = self.add_weight(shape=(), dtype="int32", trainable=False, name="level",
                                     initializer=keras.initializers.Constant(self.max_level))
        self.alpha = self.add_weight(shape=(), dtype="float32", trainable=False, name="alpha", autocast=False,
                                     initializer=keras.initializers.Constant(1.0))

    def channels(self, level):
        """Feature maps at `level` (resolution 4 * 2^level)."""
        return channels_at(resolution_at(level), self.fmap_base, self.fmap_max)

    def weight(self, index):
        return level_weight(self.level, self.alpha, index)

    def get_config(self):
        return {**super().get_config(), "resolution": self.resolution, "image_channels": self.image_channels,
                "fmap_base": self.fmap_base, "fmap_max": self.fmap_max}


@keras.saving.register_keras_serializable(package="zoo")
class ProGenerator(_Staged):
    """z (n, latent_dim) -> images (n, resolution, resolution, image_channels) in about [-1, 1] (linear output).

    The paper's generator (Table 2): the latent pixel-normalized, an
    equalized dense layer to 4x4 x channels_at(4) (gain sqrt(2) / 4) and a
    3x3 convolution; then per level a nearest upsampling and two 3x3
    convolutions; leaky ReLU (0.2) and pixel normalization after each; a 1x1
    toRGB (gain 1) per level. The current stage picks and blends the levels
    (`blend_levels`); the output is always at the full resolution.
    """

    def __init__(self, resolution, image_channels=3, latent_dim=None, fmap_base=8192, fmap_max=512, name="generator",
                 **kwargs):
        super().__init__(resolution, image_channels, fmap_base, fmap_max, name=name, **kwargs)
        latent_dim = channels_at(2, fmap_base, fmap_max) if latent_dim is None else latent_dim
        if not _whole(latent_dim) or latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}")
        self.latent_dim = int(latent_dim)
        c0 = self.channels(0)
        self.latent_norm = PixelNormalization(name="latent_norm")
        self.norm = PixelNormalization(name="pixel_norm")
        self.project = EqualizedDense(16 * c0, gain=math.sqrt(2.0) / 4, use_bias=False, name="project")
        self.project_bias = self.add_weight(shape=(c0,), initializer="zeros", name="project_bias")
        self.conv_4 = EqualizedConv2D(c0, 3, name="conv_4x4")
        self.convs = []
        for level in range(1, self.max_level + 1):
            side = resolution_at(level)
            self.convs.append((EqualizedConv2D(self.channels(level), 3, name=f"conv_{side}x{side}_0"),
                               EqualizedConv2D(self.channels(level), 3, name=f"conv_{side}x{side}_1")))
        self.to_rgb = [EqualizedConv2D(self.image_channels, 1, gain=1.0, name=f"to_rgb_{resolution_at(level)}")
                       for level in range(self.max_level + 1)]
        self.fade = FadeIn(name="fade_in")
        self._build_layers()

    def _build_layers(self):
        self.latent_norm.build((None, self.latent_dim))
        self.norm.build((None, None, None, None))
        self.fade.build((None, None, None, self.image_channels))
        self.project.build((None, self.latent_dim))
        self.conv_4.build((None, 4, 4, self.channels(0)))
        previous = self.channels(0)
        for level, (conv_0, conv_1) in enumerate(self.convs, start=1):
            side = resolution_at(level)
            conv_0.build((None, side, side, previous))
            conv_1.build((None, side, side, self.channels(level)))
            previous = self.channels(level)
        for level, layer in enumerate(self.to_rgb):
            side = resolution_at(level)
            layer.build((None, side, side, self.channels(level)))
        self.built = True

    def _act(self, x):
        return self.norm(_leaky_relu(x))

    def level_outputs(self, z, training=False):
        """Every level's toRGB output at its own resolution: `[rgb_0 (n, 4, 4, C), ..., rgb_max (full)]`."""
        x = self.project(self.latent_norm(z))
        x = ops.reshape(x, (-1, 4, 4, self.channels(0))) + ops.cast(self.project_bias, x.dtype)
        x = self._act(self.conv_4(self._act(x)))
        outputs = [self.to_rgb[0](x)]
        for level, (conv_0, conv_1) in enumerate(self.convs, start=1):
            x = self._act(conv_1(self._act(conv_0(upsample(x)))))
            outputs.append(self.to_rgb[level](x))
        return outputs

    def call(self, z, training=False):
        outputs = self.level_outputs(z, training=training)
        out = outputs[0]
        for level in range(1, len(outputs)):
            out = self.fade(outputs[level], upsample(out), weight=self.weight(level))
        return out

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.resolution, self.resolution, self.image_channels)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


@keras.saving.register_keras_serializable(package="zoo")
class ProCritic(_Staged):
    """Images (n, resolution, resolution, image_channels) in [-1, 1] -> one unbounded score each (n, 1).

    The paper's discriminator (Table 2), the generator mirrored: a 1x1
    fromRGB (leaky ReLU) per level; per level two 3x3 convolutions (the second
    to the next level's feature maps) and a 2x2 average pooling; at 4x4 the
    minibatch standard deviation, a 3x3 convolution, a dense layer of
    channels_at(2) and a linear score (gain 1). At stage (level, alpha) the
    input is average-pooled to each level for its fromRGB, and
    `h <- w_i h + (1 - w_i) fromRGB_{i-1}(input at level i - 1)` after block i
    (`w_i = level_weight(level, alpha, i)`): levels above the current one
    enter with weight 0.
    """

    def __init__(self, resolution, image_channels=3, fmap_base=8192, fmap_max=512, mbstd_group_size=4,
                 name="critic", **kwargs):
        super().__init__(resolution, image_channels, fmap_base, fmap_max, name=name, **kwargs)
        if not _whole(mbstd_group_size) or mbstd_group_size < 0 or mbstd_group_size == 1:
            raise ValueError(f"mbstd_group_size must be 0 (no minibatch standard deviation) or an integer >= 2; "
                             f"got {mbstd_group_size!r}")
        self.mbstd_group_size = int(mbstd_group_size)
        self.from_rgb = [EqualizedConv2D(self.channels(level), 1, name=f"from_rgb_{resolution_at(level)}")
                         for level in range(self.max_level + 1)]
        self.convs = []
        for level in range(1, self.max_level + 1):
            side = resolution_at(level)
            self.convs.append((EqualizedConv2D(self.channels(level), 3, name=f"conv_{side}x{side}_0"),
                               EqualizedConv2D(self.channels(level - 1), 3, name=f"conv_{side}x{side}_1")))
        self.mbstd = MinibatchStdDev(self.mbstd_group_size, name="minibatch_stddev") if self.mbstd_group_size else None
        self.conv_4 = EqualizedConv2D(self.channels(0), 3, name="conv_4x4")
        self.dense = EqualizedDense(channels_at(2, self.fmap_base, self.fmap_max), name="dense")
        self.score = EqualizedDense(1, gain=1.0, name="score")
        self.fade = FadeIn(name="fade_in")
        self._build_layers()

    def _build_layers(self):
        for level, layer in enumerate(self.from_rgb):
            side = resolution_at(level)
            layer.build((None, side, side, self.image_channels))
        for level, (conv_0, conv_1) in enumerate(self.convs, start=1):
            side = resolution_at(level)
            conv_0.build((None, side, side, self.channels(level)))
            conv_1.build((None, side, side, self.channels(level)))
        c0 = self.channels(0)
        if self.mbstd is not None:
            self.mbstd.build((None, 4, 4, c0))
        self.fade.build((None, None, None, None))
        self.conv_4.build((None, 4, 4, c0 + (1 if self.mbstd else 0)))
        self.dense.build((None, 4, 4, c0))
        self.score.build((None, self.dense.units))
        self.built = True

    def call(self, images, training=False):
        inputs = pyramid(images, self.max_level)
        h = _leaky_relu(self.from_rgb[-1](inputs[-1]))
        for level in range(self.max_level, 0, -1):
            conv_0, conv_1 = self.convs[level - 1]
            h = downsample(_leaky_relu(conv_1(_leaky_relu(conv_0(h)))))
            lower = _leaky_relu(self.from_rgb[level - 1](inputs[level - 1]))
            h = self.fade(h, lower, weight=self.weight(level))
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = _leaky_relu(self.conv_4(h))
        h = _leaky_relu(self.dense(h))
        return self.score(h)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "mbstd_group_size": self.mbstd_group_size}


# The model -------------------------------------------------------------------------------------------------------


def _check_stage(level, alpha, max_level):
    if not _whole(level) or not 0 <= level <= max_level:
        raise ValueError(f"level must be an integer from 0 (4x4) to {max_level} "
                         f"({resolution_at(max_level)}x{resolution_at(max_level)}); got {level!r}")
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha must be a number in [0, 1]; got {alpha!r}") from None
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1] (0: the previous level only, 1: this level only); got {alpha!r}")
    return int(level), alpha


@keras.saving.register_keras_serializable(package="zoo")
class ProGAN(AdversarialModel):
    """A progressively grown GAN (Karras et al. 2018): `generator` and `critic` for a final `resolution`.

    Train with `fit(images)` (float NHWC in [0, 1] at the full resolution)
    and a `Grow(GrowthSchedule(resolution), batch_size)` callback, which sets
    the stage before every batch; or set it yourself with
    `set_stage(level, alpha)`. A new model stands at the full resolution
    (level `max_level`, alpha 1); the stage is saved with the weights.

    Each step: one critic update (n_critic = 1) on
    `E[D(G(z))] - E[D(x)] + 10 E[(||grad D(x^)|| - 1)^2] + 0.001 E[D(x)^2]`
    (WGAN-GP plus the drift term, Sec. A.1 and the authors' `D_wgangp_acgan`)
    and one generator update on `-E[D(G(z))]`, each with fresh z ~ N(0, I).
    Real images are shown at the current stage (see the module docstring).

    After each generator update, `average_generator` moves towards it:
    w_avg <- ema_beta * w_avg + (1 - ema_beta) * w (the authors' Gs, beta
    0.999); it is what `generate`, `sample` and `interpolate` draw from.

    Numpy in, numpy out: `generate(z)`, `sample(n, seed)`, `interpolate(z0,
    z1, steps)`, images in [0, 1] at the full resolution.

    Args:
        resolution: final image side, a power of two >= 8.
        image_channels: 1 (grey) or 3 (colour).
        latent_dim: size of z (default channels_at(2): 512 in the paper).
        fmap_base, fmap_max: feature maps `channels_at(res) = min(fmap_base / (res / 2), fmap_max)`.
        mbstd_group_size: the minibatch standard deviation's group (4; 0 leaves it out).
        gp_weight: lambda of the gradient penalty (10).
        drift_weight: epsilon_drift (0.001).
        ema_beta: the average generator's decay per step (0.999; 0: no average, sample the generator itself).
    """

    players = ("generator", "critic")
    tracked = ("critic_loss", "gradient_penalty", "drift", "generator_loss")
    selection_metric = None  # a GAN's losses do not measure its pictures: fine-tuning keeps the last epoch

    def __init__(self, resolution=32, image_channels=3, latent_dim=None, fmap_base=8192, fmap_max=512,
                 mbstd_group_size=4, gp_weight=10.0, drift_weight=1e-3, crop=None, ema_beta=0.999, seed=None,
                 **kwargs):
        resolution = check_resolution(resolution)
        if crop is not None and (not _whole(crop) or not 1 <= crop <= resolution):
            raise ValueError(f"crop must be None or a side from 1 to the resolution ({resolution}); got {crop!r}")
        if not _whole(image_channels) or image_channels not in (1, 3):
            raise ValueError(f"image_channels must be 1 (grey) or 3 (colour); got {image_channels!r}")
        if not float(gp_weight) >= 0 or not float(drift_weight) >= 0:
            raise ValueError(f"gp_weight and drift_weight must be >= 0; got {gp_weight!r}, {drift_weight!r}")
        if not 0.0 <= float(ema_beta) < 1.0:
            raise ValueError(f"ema_beta must be in [0, 1) (0: no average generator); got {ema_beta!r}")
        generator = ProGenerator(resolution, image_channels, latent_dim, fmap_base, fmap_max)
        critic = ProCritic(resolution, image_channels, fmap_base, fmap_max, mbstd_group_size)
        super().__init__(latent_dim=generator.latent_dim, seed=seed, **kwargs)
        self.generator, self.critic = generator, critic
        self.ema_beta = float(ema_beta)
        self.average_generator = None
        if self.ema_beta:
            self.average_generator = ProGenerator(resolution, image_channels, latent_dim, fmap_base, fmap_max,
                                                  name="average_generator")
            self.average_generator.trainable = False
            for average, weight in zip(self.average_generator.weights, generator.weights, strict=True):
                average.assign(ops.convert_to_numpy(weight))  # a copy: on JAX one buffer may not be two variables
        self.resolution, self.image_channels = resolution, int(image_channels)
        self.fmap_base, self.fmap_max = int(fmap_base), int(fmap_max)
        self.mbstd_group_size = critic.mbstd_group_size
        self.gp_weight, self.drift_weight = float(gp_weight), float(drift_weight)
        self.max_level = generator.max_level
        self.crop = None if crop is None else int(crop)
        self.built = True

    @property
    def image_shape(self):
        """(H, W, C) of the images `sample` gives: the full resolution, or its centre `crop` (e.g. 28x28 digits
        trained padded to 32x32)."""
        side = self.crop or self.resolution
        return (side, side, self.image_channels)

    @property
    def data_shape(self):
        """(H, W, C) of the training images: the full resolution."""
        return (self.resolution, self.resolution, self.image_channels)

    def channels_at(self, resolution):
        """Feature maps of both networks at `resolution`."""
        return channels_at(resolution, self.fmap_base, self.fmap_max)

    def call(self, z, training=False):
        return self.generator(z, training=training)

    # The stage ------------------------------------------------------------------------------------------------

    def _sync(self):
        # On JAX, fit keeps the variables' values in its own state: write them back before reading or setting
        # any, so the next step starts from them (Keras re-reads the state after a sync).
        if getattr(self, "_jax_state", None) is not None:
            self.jax_state_sync()

    def set_stage(self, level, alpha=1.0):
        """Train and sample at `level` (0: 4x4, ..., `max_level`: full), fading it in with weight `alpha`.

        Assigns both networks' stage variables; safe between batches of a
        running `fit` on every backend (what `Grow` does). At level 0 alpha
        has no effect. Returns the model.
        """
        level, alpha = _check_stage(level, alpha, self.max_level)
        self._sync()
        for network in self._staged_networks():
            network.level.assign(level)
            network.alpha.assign(alpha)
        return self

    def _staged_networks(self):
        return [n for n in (self.generator, self.critic, self.average_generator) if n is not None]

    @property
    def stage(self):
        """The current `(level, alpha)` (read from the device)."""
        self._sync()
        return (int(ops.convert_to_numpy(self.generator.level)), float(ops.convert_to_numpy(self.generator.alpha)))

    @property
    def current_resolution(self):
        """The image side of the current level (the detail the networks work at; outputs stay full size)."""
        return resolution_at(self.stage[0])

    # Training -------------------------------------------------------------------------------------------------

    def compile(self, optimizers=None, n_critic=1, learning_rate=1e-3, **kwargs):
        """Both players get the paper's Adam(learning_rate, beta_1=0, beta_2=0.99, epsilon=1e-8) unless
        `optimizers` says otherwise; one critic update per generator update, as the paper."""
        if optimizers is None:
            optimizers = {name: keras.optimizers.Adam(learning_rate, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
                          for name in self.players}
        super().compile(optimizers=optimizers, n_critic=n_critic, **kwargs)

    def compile_for_finetuning(self):
        self.compile()

    def faded_reals(self, images):
        """Real images in [-1, 1] at full size as the critic sees them at the current stage: average-pooled to
        each level and blended like the generator's output (the authors' `process_reals`)."""
        images = ops.cast(images, self.compute_dtype)
        return blend_levels(pyramid(images, self.max_level), self.critic.level, self.critic.alpha)

    def critic_loss(self, real, z, mix, training=True):
        """WGAN-GP with the drift term; `real` already in [-1, 1] at the stage, `mix` the U(0, 1) weights."""
        fake = ops.stop_gradient(self.generator(z, training=training))
        real_scores = self.critic(real, training=training)
        fake_scores = self.critic(fake, training=training)
        penalty = gradient_penalty(lambda x: self.critic(x, training=training), real, fake, mix)
        drift = ops.mean(ops.square(ops.cast(real_scores, "float32")))
        loss = (wasserstein_critic_loss(real_scores, fake_scores) + self.gp_weight * penalty
                + self.drift_weight * drift)
        return loss, {"critic_loss": loss, "gradient_penalty": penalty, "drift": drift}

    def generator_loss(self, z, training=True):
        loss = wasserstein_generator_loss(self.critic(self.generator(z, training=training), training=training))
        return loss, {"generator_loss": loss}

    def _reals(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real = ops.cast(ops.convert_to_tensor(real), "float32")  # torch's train_on_batch hands over numpy arrays
        return self.faded_reals(real * 2.0 - 1.0)

    def train_step(self, data):
        real = self._reals(data)
        batch_size = ops.shape(real)[0]
        for _ in range(self.n_critic):
            terms = self.player_step("critic", self.critic_loss, real, self.sample_latent(batch_size),
                                     self.sample_uniform((batch_size,)))
        terms.update(self.player_step("generator", self.generator_loss, self.sample_latent(batch_size)))
        self.update_average()
        return self.update_trackers(terms)

    def update_average(self):
        """w_avg <- ema_beta * w_avg + (1 - ema_beta) * w for each of the generator's trainable weights."""
        if self.average_generator is None:
            return
        for average, weight in zip(self.average_generator.weights, self.generator.weights, strict=True):
            if weight.trainable:
                average.assign(self.ema_beta * average + (1.0 - self.ema_beta) * ops.cast(weight, average.dtype))

    def test_step(self, data):
        """Both players' losses on held-out images at the current stage, no updates."""
        real = self._reals(data)
        batch_size = ops.shape(real)[0]
        z = self.sample_latent(batch_size)
        _, terms = self.critic_loss(real, z, self.sample_uniform((batch_size,)), training=False)
        terms.update(self.generator_loss(z, training=False)[1])
        return self.update_trackers(terms)

    # Numpy API for users --------------------------------------------------------------------------------------

    def check_inputs(self, x):
        return check_images(x, shape=(self.resolution, self.resolution), channels=self.image_channels)

    @property
    def sampling_generator(self):
        """The network samples come from: the average generator, or the generator where there is none."""
        return self.generator if self.average_generator is None else self.average_generator

    def generate(self, z, batch_size=64):
        """Images in [0, 1] (n, resolution, resolution, C) for codes `z` (n, latent_dim), at the current stage."""
        z = np.asarray(z, dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise InputError(f"expected codes of shape (n, {self.latent_dim}); got {z.shape}")
        if not np.all(np.isfinite(z)):
            raise InputError("codes contain NaN or infinite values")
        if len(z) == 0:
            return np.zeros((0,) + self.image_shape, np.float32)
        self._sync()
        generator = self.sampling_generator
        out = np.concatenate([
            ops.convert_to_numpy(ops.cast(generator(ops.convert_to_tensor(z[i:i + batch_size]), training=False),
                                          "float32"))
            for i in range(0, len(z), int(batch_size))])
        out = np.clip((out + 1.0) / 2.0, 0.0, 1.0)
        if self.crop:
            top = (self.resolution - self.crop) // 2
            out = out[:, top:top + self.crop, top:top + self.crop]
        return out

    def sample(self, n, seed=None):
        """`n` images in [0, 1] from z ~ N(0, I); the noise comes from numpy, so a `seed` gives the same
        images on every backend."""
        return self.generate(np.random.default_rng(seed).standard_normal((int(n), self.latent_dim)))

    def interpolate(self, z0, z1, steps=8):
        """Samples along the straight line from `z0` to `z1`, as `GAN.interpolate`: codes of shape
        (latent_dim,) give (steps, H, W, C); of shape (n, latent_dim) a grid (n, steps, H, W, C)."""
        return latent_walk(self.generate, z0, z1, steps, self.image_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "resolution": self.resolution,
            "image_channels": self.image_channels,
            "latent_dim": self.latent_dim,
            "fmap_base": self.fmap_base,
            "fmap_max": self.fmap_max,
            "mbstd_group_size": self.mbstd_group_size,
            "gp_weight": self.gp_weight,
            "drift_weight": self.drift_weight,
            "crop": self.crop,
            "ema_beta": self.ema_beta,
            "seed": self.seed,
        }


# The growth schedule ---------------------------------------------------------------------------------------------


class GrowthSchedule:
    """Which stage `(level, alpha)` training is at after a number of real images, as the paper grows.

    From `start_resolution` (4x4), each resolution trains `stable_images`
    images at alpha = 1, then the next one fades in over `fade_images`
    images (alpha rising linearly from 0 to 1), and so on up to
    `resolution`, which then trains for good (the authors' TrainingSchedule:
    lod_training_kimg then lod_transition_kimg per phase). The paper shows
    800k images in each (`PAPER_IMAGES_PER_PHASE`); `scale` multiplies both
    (0.01 for a quick run). An image counts once per step whatever n_critic
    is (the critic sees the step's batch each time).

    `total_images` (optional): the length of the training; a schedule that
    would not have faded the last resolution fully in by then is refused.
    """

    def __init__(self, resolution, stable_images=PAPER_IMAGES_PER_PHASE, fade_images=PAPER_IMAGES_PER_PHASE,
                 scale=1.0, start_resolution=4, total_images=None):
        self.resolution = check_resolution(resolution)
        if not _whole(start_resolution) or start_resolution < 4 or start_resolution & (start_resolution - 1) \
                or start_resolution > self.resolution:
            raise ValueError(f"start_resolution must be a power of two from 4 to the resolution "
                             f"({self.resolution}); got {start_resolution!r}")
        try:
            scale, stable, fade = float(scale), float(stable_images), float(fade_images)
        except (TypeError, ValueError):
            raise ValueError(f"scale, stable_images and fade_images must be numbers; got {scale!r}, "
                             f"{stable_images!r}, {fade_images!r}") from None
        if not scale > 0 or not math.isfinite(scale):
            raise ValueError(f"scale must be a positive number; got {scale!r}")
        if not (math.isfinite(stable) and math.isfinite(fade)) or stable < 0 or fade < 0 or stable + fade <= 0:
            raise ValueError(f"stable_images and fade_images must be >= 0, not both 0; got {stable_images!r}, "
                             f"{fade_images!r}")
        self.start_resolution = int(start_resolution)
        self.stable_images, self.fade_images = stable * scale, fade * scale
        self.max_level = levels_for(self.resolution)
        self.start_level = levels_for(self.start_resolution)
        self.total_images = None
        if total_images is not None:
            self.check_reaches(float(total_images))
            self.total_images = float(total_images)

    @property
    def images_to_full_resolution(self):
        """Real images shown when the last resolution has faded fully in (alpha reaches 1)."""
        return (self.max_level - self.start_level) * (self.stable_images + self.fade_images)

    def steps_to_full_resolution(self, batch_size):
        """Steps of `batch_size` images until the last resolution has faded fully in."""
        return math.ceil(self.images_to_full_resolution / _check_batch_size(batch_size))

    def check_reaches(self, images):
        """Raise ValueError unless `images` real images reach the full resolution with alpha = 1."""
        needed = self.images_to_full_resolution
        if images < needed:
            level, alpha = self.at_images(images)
            side = resolution_at(level)
            raise ValueError(
                f"this schedule reaches {self.resolution}x{self.resolution} after {needed:,.0f} images "
                f"({self.max_level - self.start_level} resolutions after {self.start_resolution}x"
                f"{self.start_resolution}, {self.stable_images:,.0f} stable + {self.fade_images:,.0f} fade-in "
                f"images each); {images:,.0f} images stop at {side}x{side} (alpha {alpha:.2f}). Train longer or "
                f"lower `scale`.")

    def at_images(self, images):
        """The stage `(level, alpha)` after `images` real images."""
        if not images >= 0:
            raise ValueError(f"images must be >= 0; got {images!r}")
        period = self.stable_images + self.fade_images
        phase = int(images // period)
        into = images - phase * period
        level = self.start_level + phase
        if level >= self.max_level:
            return self.max_level, 1.0
        if into < self.stable_images:
            return level, 1.0
        return level + 1, min(1.0, (into - self.stable_images) / self.fade_images) if self.fade_images else 1.0

    def stage(self, step, batch_size):
        """The stage `(level, alpha)` at optimizer step `step` (0-based) with `batch_size` images a step."""
        if not _whole(step) or step < 0:
            raise ValueError(f"step must be an integer >= 0; got {step!r}")
        return self.at_images(int(step) * _check_batch_size(batch_size))

    __call__ = stage

    def __repr__(self):
        return (f"GrowthSchedule(resolution={self.resolution}, stable_images={self.stable_images:g}, "
                f"fade_images={self.fade_images:g}, start_resolution={self.start_resolution})")


def _check_batch_size(batch_size):
    if not _whole(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    return int(batch_size)


class Grow(keras.callbacks.Callback):
    """Sets a `ProGAN`'s stage before every batch from `schedule` (a `GrowthSchedule`).

    The step is the generator optimizer's iteration count, read once at each
    epoch's start (when Keras has the variables in hand on every backend),
    plus the batch's index in the epoch: a run resumed mid-growth from a
    training state (`zoo.resume`) lands on the stage the uninterrupted run
    would have had. The images a step shows are `batch_size` (constant, as
    fit's batch). The stage is assigned only when it changes (every step of
    a fade-in; on JAX each assignment first writes fit's state back to the
    variables, as Keras lets callbacks do); nothing is read from the device
    per step, and batch-end callbacks may still run off the training thread.
    With `steps_per_execution` > 1 the stage is set per execution, and under
    loss scaling a skipped (overflowed) step is not counted.
    """

    async_safe = True  # it only acts at batch starts, which Keras always runs on the training thread

    def __init__(self, schedule, batch_size, player="generator"):
        super().__init__()
        if not isinstance(schedule, GrowthSchedule):
            raise TypeError(f"Grow needs a GrowthSchedule; got {type(schedule).__name__}")
        self.schedule, self.batch_size, self.player = schedule, _check_batch_size(batch_size), player
        self.first_step, self.current = 0, None

    def on_train_begin(self, logs=None):
        model = self.model
        if not hasattr(model, "set_stage") or getattr(model, "resolution", None) is None:
            raise TypeError(f"Grow sets the stage of a ProGAN; got {type(model).__name__}")
        if self.schedule.resolution != model.resolution:
            raise ValueError(f"the schedule grows to {self.schedule.resolution}x{self.schedule.resolution} but the "
                             f"model's resolution is {model.resolution}x{model.resolution}: build the schedule with "
                             f"GrowthSchedule({model.resolution}, ...)")
        self.current = None

    def on_epoch_begin(self, epoch, logs=None):
        self.first_step = int(ops.convert_to_numpy(self.model.optimizer[self.player].iterations))

    def on_train_batch_begin(self, batch, logs=None):
        stage = self.schedule.stage(self.first_step + int(batch), self.batch_size)
        if stage != self.current:
            self.model.set_stage(*stage)
            self.current = stage
