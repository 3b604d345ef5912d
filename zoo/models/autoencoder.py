"""Autoencoders with a bottleneck, plain and denoising.

Hinton & Salakhutdinov, "Reducing the Dimensionality of Data with Neural
Networks", Science 2006 (the bottleneck autoencoder); Vincent, Larochelle,
Bengio & Manzagol, "Extracting and Composing Robust Features with Denoising
Autoencoders", ICML 2008 (the denoising criterion: reconstruct the clean image
from a corrupted one). With `code_dim=2` the code itself is a picture: the
test set scattered in the plane, coloured by label.

The decoder outputs Bernoulli logits and the loss is the per-image cross-entropy
to the clean image (pixels in [0, 1] are treated as probabilities).
"""

import keras
from keras import ops

from zoo import random as zoo_random
from zoo.data import check_images
from zoo.layers import conv_decoder, conv_encoder
from zoo.losses import bernoulli_log_likelihood
from zoo.models.common import batched, check_codes, sigmoid
from zoo.trainers import SingleLossModel

NOISES = (None, "gaussian", "masking")


@keras.saving.register_keras_serializable(package="zoo")
class Autoencoder(SingleLossModel):
    """A convolutional autoencoder on images in [0, 1]; `noise` makes it a denoising one.

    `noise="gaussian"` adds N(0, noise_level^2) to each pixel, `noise="masking"`
    sets a random `noise_level` share of the pixels to 0 (Vincent et al. 2008).
    Corruption is applied during training only. Numpy in, numpy out:
    `encode(x)`, `decode(z)`, `reconstruct(x)`.
    """

    tracked = ("loss",)

    def __init__(self, image_shape=(28, 28, 1), code_dim=32, filters=(32, 64), hidden=256,
                 noise=None, noise_level=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}; got {noise!r}")
        if noise and not noise_level > 0:
            raise ValueError(f"noise={noise!r} needs noise_level > 0; got {noise_level}")
        if noise == "masking" and not noise_level < 1:
            raise ValueError(f"masking noise_level is the share of pixels dropped, in (0, 1); got {noise_level}")
        self.image_shape = tuple(image_shape)
        self.code_dim = code_dim
        self.filters = tuple(filters)
        self.hidden = hidden
        self.noise = noise
        self.noise_level = noise_level
        self.seed = seed
        self.encoder = conv_encoder(self.image_shape, code_dim, self.filters, hidden, heads=("code",))
        self.decoder = conv_decoder(self.image_shape, code_dim, self.filters, hidden)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def corrupt(self, x):
        """The training-time corruption of a batch (the identity for a plain autoencoder)."""
        if self.noise == "gaussian":
            return x + self.noise_level * zoo_random.normal(ops.shape(x), seed=self.seed_generator)
        if self.noise == "masking":
            keep = zoo_random.uniform(ops.shape(x), seed=self.seed_generator) >= self.noise_level
            return x * ops.cast(keep, x.dtype)
        return x

    def call(self, x, training=False):
        return self.decoder(self.encoder(x, training=training), training=training)

    def compute_terms(self, x, y=None, training=False):
        logits = self(self.corrupt(x) if training else x, training=training)
        return {"loss": -ops.mean(bernoulli_log_likelihood(x, logits))}

    # Numpy API for users -----------------------------------------------------------------

    def check_inputs(self, x):
        return check_images(x, shape=self.image_shape[:2], channels=self.image_shape[2])

    def encode(self, x, batch_size=1000):
        """Codes (n, code_dim) of images `x` (n, H, W, C) in [0, 1]."""
        x = self.check_inputs(x)
        return batched(lambda b: self.encoder(b, training=False), x, batch_size)

    def decode(self, z, batch_size=1000):
        """Images in [0, 1] (n, H, W, C) for codes `z` (n, code_dim)."""
        z = check_codes(z, self.code_dim)
        return sigmoid(batched(lambda b: self.decoder(b, training=False), z, batch_size))

    def reconstruct(self, x):
        return self.decode(self.encode(x))

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": list(self.image_shape),
            "code_dim": self.code_dim,
            "filters": list(self.filters),
            "hidden": self.hidden,
            "noise": self.noise,
            "noise_level": self.noise_level,
            "seed": self.seed,
        }

