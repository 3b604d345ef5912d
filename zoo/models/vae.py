"""Variational autoencoder: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.

A convolutional encoder gives a diagonal Gaussian posterior q(z|x); a
convolutional decoder gives Bernoulli logits p(x|z). Training maximises the
ELBO with the reparameterization trick on dynamically binarized images (each
batch is re-sampled as x_bin ~ Bernoulli(x), as in Burda et al. 2016).
`beta` weighs the KL term (beta-VAE, Higgins et al. 2017; beta = 1 is the VAE).
"""

import numpy as np

import keras
from keras import layers, ops

from zoo.data import check_images
from zoo.losses import bernoulli_log_likelihood, gaussian_kl
from zoo.trainers import SingleLossModel


def conv_encoder(image_shape, latent_dim, filters=(32, 64), hidden=256):
    """x -> (mean, log_var) of q(z|x): strided 3x3 convolutions, then dense layers."""
    inputs = keras.Input(image_shape)
    x = inputs
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"conv_{i}")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(hidden, activation="relu", name="hidden")(x)
    mean = layers.Dense(latent_dim, name="mean")(x)
    log_var = layers.Dense(latent_dim, name="log_var")(x)
    return keras.Model(inputs, [mean, log_var], name="encoder")


def conv_decoder(image_shape, latent_dim, filters=(32, 64), hidden=256):
    """z -> Bernoulli logits of p(x|z): the encoder mirrored with transposed convolutions."""
    height, width, channels = image_shape
    scale = 2 ** len(filters)
    if height % scale or width % scale:
        raise ValueError(f"image height and width must be multiples of {scale}; got {image_shape}")
    inputs = keras.Input((latent_dim,))
    x = layers.Dense(hidden, activation="relu", name="hidden")(inputs)
    x = layers.Dense((height // scale) * (width // scale) * filters[-1], activation="relu", name="project")(x)
    x = layers.Reshape((height // scale, width // scale, filters[-1]))(x)
    for i, f in enumerate(reversed(filters)):
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu", name=f"deconv_{i}")(x)
    logits = layers.Conv2D(channels, 3, padding="same", name="logits")(x)
    return keras.Model(inputs, logits, name="decoder")


@keras.saving.register_keras_serializable(package="zoo")
class VAE(SingleLossModel):
    """A VAE (or beta-VAE) on images in [0, 1] with a Bernoulli decoder.

    Numpy in, numpy out: `encode(x) -> (mean, log_var)`, `decode_logits(z)`,
    `decode(z)` (pixel probabilities), `sample(n, seed)`, `reconstruct(x)`.
    """

    tracked = ("loss", "reconstruction", "kl")

    def __init__(self, image_shape=(28, 28, 1), latent_dim=32, filters=(32, 64), hidden=256,
                 beta=1.0, binarize=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.filters = tuple(filters)
        self.hidden = hidden
        self.beta = beta
        self.binarize = binarize
        self.seed = seed
        self.encoder = conv_encoder(self.image_shape, latent_dim, self.filters, hidden)
        self.decoder = conv_decoder(self.image_shape, latent_dim, self.filters, hidden)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def call(self, x, training=False):
        mean, _ = self.encoder(x, training=training)
        return self.decoder(mean, training=training)

    def compute_terms(self, x, y=None, training=False):
        if self.binarize:
            x = ops.cast(keras.random.uniform(ops.shape(x), seed=self.seed_generator) < x, x.dtype)
        mean, log_var = self.encoder(x, training=training)
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        z = mean + ops.exp(0.5 * log_var) * eps
        logits = self.decoder(z, training=training)
        reconstruction = -ops.mean(bernoulli_log_likelihood(x, logits))
        kl = ops.mean(ops.sum(gaussian_kl(mean, log_var), axis=1))
        return {"loss": reconstruction + self.beta * kl, "reconstruction": reconstruction, "kl": kl}

    # Numpy API for users -----------------------------------------------------------------

    def check_inputs(self, x):
        return check_images(x, shape=self.image_shape[:2], channels=self.image_shape[2])

    def _check_codes(self, z):
        z = np.asarray(z, dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected codes of shape (n, {self.latent_dim}); got {z.shape}")
        if not np.all(np.isfinite(z)):
            raise ValueError("codes contain NaN or infinite values")
        return z

    def _batched(self, fn, x, batch_size):
        outputs = [fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        if isinstance(outputs[0], (tuple, list)):
            return tuple(np.concatenate([ops.convert_to_numpy(o[j]) for o in outputs])
                         for j in range(len(outputs[0])))
        return np.concatenate([ops.convert_to_numpy(o) for o in outputs])

    def encode(self, x, batch_size=1000):
        """Posterior `(mean, log_var)` for images `x` (n, H, W, C) in [0, 1]."""
        x = self.check_inputs(x)
        return self._batched(lambda b: self.encoder(b, training=False), x, batch_size)

    def decode_logits(self, z, batch_size=1000):
        """Bernoulli logits (n, H, W, C) of p(x|z) for codes `z` (n, latent_dim)."""
        z = self._check_codes(z)
        return self._batched(lambda b: self.decoder(b, training=False), z, batch_size)

    def decode(self, z, batch_size=1000):
        """Pixel probabilities in [0, 1]: the mean of p(x|z)."""
        return _sigmoid(self.decode_logits(z, batch_size))

    def sample(self, n, seed=None):
        """`n` images in [0, 1] decoded from z ~ N(0, I); the same `seed` gives the same images."""
        z = np.random.default_rng(seed).standard_normal((int(n), self.latent_dim)).astype("float32")
        return self.decode(z)

    def reconstruct(self, x):
        """Decode the posterior mean of each image."""
        mean, _ = self.encode(x)
        return self.decode(mean)

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": list(self.image_shape),
            "latent_dim": self.latent_dim,
            "filters": list(self.filters),
            "hidden": self.hidden,
            "beta": self.beta,
            "binarize": self.binarize,
            "seed": self.seed,
        }


def _sigmoid(logits):
    return (1.0 / (1.0 + np.exp(-logits))).astype("float32")
