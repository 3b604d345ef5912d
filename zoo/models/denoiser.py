"""DnCNN: Zhang, Zuo, Chen, Meng & Zhang, "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN
for Image Denoising", IEEE Transactions on Image Processing 26(7), 2017 (arXiv:1608.03981).

A plain stack of 3x3 convolutions (conv+ReLU, (depth - 2) x conv+BN+ReLU, conv)
predicts the noise in a noisy image; the denoised image is the noisy image
minus that residual. Trained on clean patches: each step adds Gaussian noise
whose standard deviation is drawn per patch from `sigma_range` (on the 0..255
scale), so one model handles a range of noise levels without being told the
level (the paper's blind DnCNN-B); a fixed sigma (DnCNN-S) is `sigma_range=(s, s)`.
The loss is the paper's: the mean squared error of the predicted residual.

Colour images go through a grey model (`channels=1`) the way CBM3D (Dabov et
al., ICIP 2007) handles colour: an opponent transform with orthogonal rows
(Y = mean of R, G, B; two colour differences, shifted into [0, 1]) keeps
white Gaussian noise white and independent between planes, at a lower level
in each; the blind model denoises the three planes and the transform is
inverted. So one grey checkpoint serves grey and colour images.
"""


import keras
import numpy as np
from keras import layers, ops

from zoo import random as zoo_random
from zoo.data.images import check_image_or_batch
from zoo.errors import InputError
from zoo.trainers import SingleLossModel

# Opponent colour transform: plane = OPPONENT @ rgb + OFFSET, each plane in [0, 1] for RGB in [0, 1].
# The rows are orthogonal, so i.i.d. noise of level s in RGB becomes i.i.d. noise of level
# s * |row| per plane: 0.577 s, 0.707 s and 0.612 s.
OPPONENT = np.array([[1 / 3, 1 / 3, 1 / 3], [1 / 2, 0, -1 / 2], [1 / 4, -1 / 2, 1 / 4]], dtype=np.float64)
OFFSET = np.array([0.0, 0.5, 0.5])
# Values a noisy image in [0, 1] plausibly reaches; beyond them it is on another scale (0..255).
NOISY_RANGE = (-1.5, 2.5)


def dncnn_network(channels=1, depth=17, width=64):
    """Noisy image (n, H, W, channels), any H and W -> predicted noise residual, same shape."""
    inputs = keras.Input((None, None, channels))
    x = layers.Conv2D(width, 3, padding="same", activation="relu", kernel_initializer="he_normal",
                      name="conv_0")(inputs)
    for i in range(1, depth - 1):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer="he_normal",
                          name=f"conv_{i}")(x)
        x = layers.BatchNormalization(name=f"bn_{i}")(x)
        x = layers.ReLU(name=f"relu_{i}")(x)
    # Zero-initialised, so training starts from the identity (residual 0) rather than from random noise.
    residual = layers.Conv2D(channels, 3, padding="same", kernel_initializer="zeros", name=f"conv_{depth - 1}")(x)
    return keras.Model(inputs, residual, name="dncnn")


@keras.saving.register_keras_serializable(package="zoo")
class DnCNN(SingleLossModel):
    """A residual denoiser for additive Gaussian noise on images in [0, 1].

    `model(noisy)` on tensors returns `noisy - residual` for any H x W (not
    clipped); `model(noisy)` / `model.denoise(noisy)` on numpy arrays checks the
    input and returns the denoised image(s) clipped to [0, 1]. A grey model
    (`channels=1`) also takes RGB images, through the opponent transform
    described in the module docstring. `fit(clean_images)` trains it.

    Args:
        channels: image channels the network sees (1: grey, 3: colour).
        depth: convolution layers (17 in the paper, 20 for its blind model).
        width: feature maps per hidden layer (64 in the paper).
        sigma_range: `(low, high)` noise standard deviation on the 0..255 scale;
            training draws one per patch, uniformly.
        seed: seed of the training noise.
    """

    tracked = ("loss",)

    def __init__(self, channels=1, depth=17, width=64, sigma_range=(0.0, 55.0), seed=None, **kwargs):
        super().__init__(**kwargs)
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (colour), got {channels!r}")
        if depth < 2:
            raise ValueError(f"depth must be at least 2 convolutions, got {depth!r}")
        low, high = (float(s) for s in sigma_range)
        if not 0 <= low <= high:
            raise ValueError(f"sigma_range must be (low, high) with 0 <= low <= high, got {sigma_range!r}")
        self.channels = channels
        self.depth = depth
        self.width = width
        self.sigma_range = (low, high)
        self.seed = seed
        self.network = dncnn_network(channels, depth, width)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    @property
    def accepted_channels(self):
        """Channel counts `call` takes: the network's, and RGB for a grey model."""
        return (1, 3) if self.channels == 1 else (self.channels,)

    def residual(self, noisy, training=False):
        """The predicted noise: the network's output."""
        return self.network(noisy, training=training)

    def call(self, noisy, training=False):
        channels = noisy.shape[-1]
        if channels == self.channels:
            return noisy - self.residual(noisy, training=training)
        if channels == 3 and self.channels == 1:
            return self._denoise_opponent(noisy, training)
        raise InputError(
            f"this DnCNN takes images with {' or '.join(map(str, self.accepted_channels))} channels; got "
            f"shape {tuple(noisy.shape)}. (An unknown channel size comes from a traced function that saw "
            "several; call model.denoise(x), which runs eagerly.)"
        )

    def _denoise_opponent(self, rgb, training):
        matrix = ops.convert_to_tensor(OPPONENT.T, dtype=rgb.dtype)  # (rgb, plane)
        offset = ops.convert_to_tensor(OFFSET, dtype=rgb.dtype)
        planes = ops.matmul(rgb, matrix) + offset
        # The three planes become three grey images of one batch: (3n, H, W, 1).
        stacked = ops.concatenate([planes[..., k:k + 1] for k in range(3)], axis=0)
        clean = stacked - self.residual(stacked, training=training)
        clean = ops.concatenate(ops.split(clean, 3, axis=0), axis=-1)
        inverse = ops.convert_to_tensor(np.linalg.inv(OPPONENT).T, dtype=rgb.dtype)
        return ops.matmul(clean - offset, inverse)

    def add_noise(self, clean):
        """Clean patches plus Gaussian noise of a per-patch level drawn from `sigma_range`."""
        low, high = self.sigma_range
        shape = ops.shape(clean)
        sigma = zoo_random.uniform((shape[0], 1, 1, 1), low / 255.0, high / 255.0, seed=self.seed_generator)
        return clean + sigma * zoo_random.normal(shape, seed=self.seed_generator)

    def compute_terms(self, x, y=None, training=False):
        noisy = self.add_noise(x)
        residual = ops.cast(self.residual(noisy, training=training), "float32")  # the loss in float32
        # The paper's loss: the residual should equal the noise, noisy - clean.
        return {"loss": ops.mean(ops.square(residual - (noisy - x)))}

    # Numpy API for users -----------------------------------------------------------------

    def __call__(self, *args, **kwargs):
        # Numpy in, numpy out, with checks; tensors (fit, predict, saving) go straight to Keras.
        if len(args) == 1 and not kwargs and isinstance(args[0], np.ndarray):
            return self.denoise(args[0])
        return super().__call__(*args, **kwargs)

    def check_inputs(self, x):
        """Clean training images: float32 (n, H, W, C) in [0, 1] with the network's channels."""
        from zoo.data import check_images

        return check_images(x, channels=self.channels)

    def denoise(self, noisy, batch_size=8):
        """Denoised image(s) in [0, 1], the same shape as `noisy`.

        Args:
            noisy: floats on the [0, 1] scale (noise may push values a little
                outside it; do not clip them first): one image `(H, W)` or
                `(H, W, C)`, or a batch `(n, H, W, C)`, of any size. `C` is the
                model's channels, or 3 for a grey model.
            batch_size: images per forward pass.

        Raises:
            InputError: wrong rank or channels, uint8 or 0..255 values, NaN/inf.
        """
        batch, layout = check_noisy(noisy, self.accepted_channels)
        out = np.concatenate([
            ops.convert_to_numpy(self(ops.convert_to_tensor(batch[i:i + batch_size]), training=False))
            for i in range(0, len(batch), batch_size)
        ])
        return np.clip(out, 0.0, 1.0).reshape(layout)

    def get_config(self):
        return {
            **super().get_config(),
            "channels": self.channels,
            "depth": self.depth,
            "width": self.width,
            "sigma_range": list(self.sigma_range),
            "seed": self.seed,
        }


def check_noisy(x, channels=(1, 3), name="noisy"):
    """Validates noisy images; returns `(float32 batch (n, H, W, C), shape to give the output)`."""
    return check_image_or_batch(x, channels=channels, value_range=NOISY_RANGE, name=name,
                                range_note=" (noise may take them a little outside)")


def dae_bsd(depth=17, width=32):
    """The `dae_bsd` architecture: the paper's depth at half its width, blind over sigma 0..55, grey.

    Half the width because training gets ~35 CPU minutes: on 2 cores it runs about twice as many
    patches per second as depth 12 x width 48, with the paper's 35x35 receptive field.
    """
    return DnCNN(channels=1, depth=depth, width=width, sigma_range=(0.0, 55.0))
