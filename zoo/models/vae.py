"""Variational autoencoder: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.

A convolutional encoder gives a diagonal Gaussian posterior q(z|x); a
convolutional decoder gives Bernoulli logits p(x|z). Training maximises the
ELBO with the reparameterization trick on dynamically binarized images (each
batch is re-sampled as x_bin ~ Bernoulli(x), as in Burda et al. 2016).
`beta` weighs the KL term (beta-VAE, Higgins et al. 2017; beta = 1 is the VAE). `kl_warmup` steps of KL
warm-up (Bowman et al. 2016; Sonderby et al. 2016) raise that weight linearly from 0 to beta, against the
posterior collapse a small dataset invites (the Olivetti faces: the VAE's KL fell to 0 within an epoch).

`DFCVAE` swaps the per-pixel term for a perceptual one: Hou, Shen, Sun & Qiu,
"Deep Feature Consistent Variational Autoencoder", WACV 2017 (arXiv:1610.00291).
"""

import keras
import numpy as np
from keras import ops

from zoo import random as zoo_random
from zoo.data import check_images
from zoo.layers import conv_decoder, conv_encoder
from zoo.losses import PerceptualLoss, bernoulli_log_likelihood, gaussian_kl
from zoo.models.common import batched, check_codes, sigmoid
from zoo.trainers import SingleLossModel


@keras.saving.register_keras_serializable(package="zoo")
class VAE(SingleLossModel):
    """A VAE (or beta-VAE) on images in [0, 1] with a Bernoulli decoder.

    Numpy in, numpy out: `encode(x) -> (mean, log_var)`, `decode_logits(z)`,
    `decode(z)` (pixel probabilities), `sample(n, seed)`, `reconstruct(x)`.
    """

    tracked = ("loss", "reconstruction", "kl")

    def __init__(self, image_shape=(28, 28, 1), latent_dim=32, filters=(32, 64), hidden=256,
                 beta=1.0, binarize=True, seed=None, kl_warmup=0, **kwargs):
        super().__init__(**kwargs)
        if int(kl_warmup) != kl_warmup or kl_warmup < 0:
            raise ValueError(f"kl_warmup is a number of training steps (0: none); got {kl_warmup!r}")
        self.kl_warmup = int(kl_warmup)
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
            x = ops.cast(zoo_random.uniform(ops.shape(x), seed=self.seed_generator) < x, x.dtype)
        # float32 from here on: the posterior's samples and the ELBO, whatever precision the networks compute in
        mean, log_var = (ops.cast(t, "float32") for t in self.encoder(x, training=training))
        eps = zoo_random.normal(ops.shape(mean), seed=self.seed_generator)
        z = mean + ops.exp(0.5 * log_var) * eps
        logits = self.decoder(z, training=training)
        reconstruction = -ops.mean(bernoulli_log_likelihood(x, logits))
        kl = ops.mean(ops.sum(gaussian_kl(mean, log_var), axis=1))
        return {"loss": reconstruction + self.kl_weight(training) * kl, "reconstruction": reconstruction, "kl": kl}

    def kl_weight(self, training=False):
        """beta; while training, times min(1, step / kl_warmup) during the warm-up."""
        if not (training and self.kl_warmup and self.optimizer is not None):
            return self.beta
        step = ops.cast(self.optimizer.iterations, "float32")
        return self.beta * ops.minimum(1.0, step / float(self.kl_warmup))

    # Numpy API for users -----------------------------------------------------------------

    def check_inputs(self, x):
        return check_images(x, shape=self.image_shape[:2], channels=self.image_shape[2])

    def encode(self, x, batch_size=1000):
        """Posterior `(mean, log_var)` for images `x` (n, H, W, C) in [0, 1]."""
        x = self.check_inputs(x)
        return batched(lambda b: self.encoder(b, training=False), x, batch_size)

    def decode_logits(self, z, batch_size=1000):
        """Bernoulli logits (n, H, W, C) of p(x|z) for codes `z` (n, latent_dim)."""
        z = check_codes(z, self.latent_dim)
        return batched(lambda b: self.decoder(b, training=False), z, batch_size)

    def decode(self, z, batch_size=1000):
        """Pixel probabilities in [0, 1]: the mean of p(x|z)."""
        return sigmoid(self.decode_logits(z, batch_size))

    def sample(self, n, seed=None):
        """`n` images in [0, 1] decoded from z ~ N(0, I); the same `seed` gives the same images."""
        z = np.random.default_rng(seed).standard_normal((int(n), self.latent_dim)).astype("float32")
        return self.decode(z)

    def reconstruct(self, x):
        """Decode the posterior mean of each image."""
        mean, _ = self.encode(x)
        return self.decode(mean)

    def kl_per_dimension(self, x):
        """Mean KL(q(z_j|x) || N(0, 1)) of each latent dimension over `x`, in nats.

        Dimensions near 0 are inactive: the decoder ignores them (Burda et al.
        2016 count "active units" this way; Higgins et al. 2017 read beta-VAE
        factors off the active ones).
        """
        mean, log_var = self.encode(x)
        return (0.5 * (np.square(mean) + np.exp(log_var) - 1.0 - log_var)).mean(axis=0)

    def traverse(self, x, dims=None, values=(-3.0, -2.25, -1.5, -0.75, 0.0, 0.75, 1.5, 2.25, 3.0)):
        """Latent traversal: one row per dimension in `dims`, one column per value.

        Starts from the posterior mean of the single image `x` and sets one
        dimension at a time to each value; returns images (len(dims) * len(values), H, W, C)
        in row order, ready for `zoo.viz.save_image_grid(..., nrow=len(values))`.
        """
        mean, _ = self.encode(x)
        if len(mean) != 1:
            raise ValueError(f"traverse starts from one image; got {len(mean)}")
        dims = range(self.latent_dim) if dims is None else dims
        codes = []
        for d in dims:
            if not 0 <= d < self.latent_dim:
                raise ValueError(f"dimension {d} is outside 0..{self.latent_dim - 1}")
            row = np.repeat(mean, len(values), axis=0)
            row[:, d] = np.asarray(values, dtype="float32")
            codes.append(row)
        return self.decode(np.concatenate(codes))

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
            "kl_warmup": self.kl_warmup,
        }


@keras.saving.register_keras_serializable(package="zoo")
class DFCVAE(VAE):
    """Deep Feature Consistent VAE (Hou et al. 2017): the VAE's networks, trained to reconstruct features.

    The loss (Sec. 3.3) is `beta * KL(q(z|x) || N(0, I)) + feature_weight * sum_l w_l * perceptual_l(x, x_hat)`,
    `perceptual_l` the mean squared difference of the activations of layer l of a frozen feature network
    (`zoo.losses.PerceptualLoss`) between the image x and its reconstruction x_hat = sigmoid(decoder(z)),
    z ~ q(z|x). The paper's 1/2 in front of each layer's term and its alpha = 1, beta = 0.5 are a
    `feature_weight` of 0.25 here, with the KL summed over the latent dimensions as in the VAE. An optional
    per-pixel term, `pixel_weight` times the VAE's Bernoulli negative log-likelihood (nats per image), keeps the
    colours that features alone may not pin down; `pixel_weight=1, feature_weight=0` is the VAE.

    Args:
        feature_model: any functional Keras feature network taking images of `image_shape` in [0, 1] (a zoo
            classifier such as mnistnet or fashionnet, `zoo.losses.vgg19_features(...)`, or a zoo name); it is
            frozen, and a judge is refused. Its architecture and weights are saved with the model.
        feature_layers: the names of its layers compared (VGG19's relu1_1, relu2_1, relu3_1 in the paper).
        layer_weights: weight of each layer's term (one per layer, or {name: weight}); default 1 each.
        binarize: whether the encoder sees (and the pixel term scores) images binarized as the VAE does; the
            feature term always compares with the image itself. Default False: the paper's faces are grey.

    `encode`, `decode`, `sample`, `reconstruct`, `traverse` are the VAE's.
    """

    tracked = ("loss", "perceptual", "pixel", "kl")

    def __init__(self, feature_model, feature_layers, image_shape=(28, 28, 1), latent_dim=32, filters=(32, 64),
                 hidden=256, beta=1.0, feature_weight=1.0, layer_weights=None, pixel_weight=0.0, binarize=False,
                 seed=None, **kwargs):
        super().__init__(image_shape=image_shape, latent_dim=latent_dim, filters=filters, hidden=hidden, beta=beta,
                         binarize=binarize, seed=seed, **kwargs)
        self.perceptual = PerceptualLoss(feature_model, feature_layers, weights=layer_weights)
        self.perceptual.check_input_shape(self.image_shape)
        self.feature_weight = float(feature_weight)
        self.pixel_weight = float(pixel_weight)

    def compute_terms(self, x, y=None, training=False):
        image = x
        if self.binarize:
            x = ops.cast(zoo_random.uniform(ops.shape(x), seed=self.seed_generator) < x, x.dtype)
        mean, log_var = (ops.cast(t, "float32") for t in self.encoder(x, training=training))
        z = mean + ops.exp(0.5 * log_var) * zoo_random.normal(ops.shape(mean), seed=self.seed_generator)
        logits = self.decoder(z, training=training)
        reconstruction = ops.sigmoid(ops.cast(logits, "float32"))  # the mean of p(x|z), an image in [0, 1]
        perceptual = self.perceptual(image, reconstruction)
        pixel = -ops.mean(bernoulli_log_likelihood(x, logits))
        kl = ops.mean(ops.sum(gaussian_kl(mean, log_var), axis=1))
        loss = self.feature_weight * perceptual + self.pixel_weight * pixel + self.kl_weight(training) * kl
        return {"loss": loss, "perceptual": perceptual, "pixel": pixel, "kl": kl}

    def get_config(self):
        return {
            **super().get_config(),
            "feature_model": keras.saving.serialize_keras_object(self.perceptual.extractor),
            "feature_layers": list(self.perceptual.layer_names),
            "layer_weights": list(self.perceptual.layer_weights),
            "feature_weight": self.feature_weight,
            "pixel_weight": self.pixel_weight,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("feature_model"), dict):
            config["feature_model"] = keras.saving.deserialize_keras_object(config["feature_model"])
        return cls(**config)
