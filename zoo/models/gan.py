"""GANs: one model whose loss is a choice, and DCGAN-style networks for 28x28 images.

The losses (`zoo.losses.gan`) and their papers:
`mm` and `ns` (Goodfellow et al. 2014), `wgan` (Arjovsky et al. 2017: weight
clipping, RMSprop), `wgan_gp` (Gulrajani et al. 2017: gradient penalty on
interpolates), `lsgan` (Mao et al. 2017), `dragan` (Kodali et al. 2017:
gradient penalty around real data) and `began` (Berthelot et al. 2017:
autoencoder discriminator with the k_t equilibrium term).

The networks follow DCGAN: Radford, Metz & Chintala, "Unsupervised
Representation Learning with Deep Convolutional GANs", ICLR 2016
(arXiv:1511.06434).

Each step makes `n_critic` critic updates on the step's batch of real data,
each with fresh noise (as in the keras-io WGAN-GP example), then one
generator update.

`packing=m` is PacGAN (Lin, Khetan, Fanti & Oh, "PacGAN: The power of two
samples in generative adversarial networks", NeurIPS 2018): the critic judges
m samples at once, concatenated on the channel axis, so a generator that
repeats itself is easier to tell from the data; the loss is unchanged.
"""

import keras
import numpy as np
from keras import layers, ops

from zoo.data import check_images
from zoo.errors import InputError
from zoo.losses import (
    SCORE_LOSSES,
    began_convergence,
    began_discriminator_loss,
    began_k_update,
    dragan_penalty,
    gradient_penalty,
    reconstruction_loss,
)
from zoo.trainers import AdversarialModel

LOSSES = ("mm", "ns", "wgan", "wgan_gp", "lsgan", "dragan", "began")
PENALISED = ("wgan_gp", "dragan")

# loss -> the terms its GAN logs.
TRACKED = {
    "mm": ("critic_loss", "generator_loss"),
    "ns": ("critic_loss", "generator_loss"),
    "wgan": ("critic_loss", "generator_loss"),
    "wgan_gp": ("critic_loss", "gradient_penalty", "generator_loss"),
    "lsgan": ("critic_loss", "generator_loss"),
    "dragan": ("critic_loss", "gradient_penalty", "generator_loss"),
    "began": ("critic_loss", "generator_loss", "real_reconstruction", "k", "m_global"),
}

def _adam(learning_rate, beta_2=0.999):
    return lambda player: keras.optimizers.Adam(learning_rate, beta_1=0.5, beta_2=beta_2)


# loss -> (player name -> that player's optimizer, critic updates per generator update), as each paper trains.
PAPER_TRAINING = {
    "mm": (_adam(2e-4), 1),  # DCGAN
    "ns": (_adam(2e-4), 1),  # DCGAN
    "wgan": (lambda player: keras.optimizers.RMSprop(5e-5), 5),  # Algorithm 1
    "wgan_gp": (_adam(1e-4, beta_2=0.9), 5),  # the authors' MNIST code
    "lsgan": (_adam(2e-4), 1),  # DCGAN settings
    "dragan": (_adam(1e-4, beta_2=0.9), 1),  # the authors' code
    # BEGAN's Section 4.1 uses 1e-4 for both; on MNIST that let the generator settle on black images before
    # the autoencoder critic learned to push back, so the zoo gives the critic the larger step.
    "began": (lambda player: keras.optimizers.Adam(2e-4 if player == "generator" else 5e-4, beta_1=0.5), 1),
}


def mlp(input_dim, output_dim, hidden=(128, 128, 128), name=None):
    """A ReLU MLP, the networks of the 2-D toy experiments."""
    inputs = keras.Input((input_dim,))
    x = inputs
    for i, units in enumerate(hidden):
        x = layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    outputs = layers.Dense(output_dim, name="out")(x)
    return keras.Model(inputs, outputs, name=name)


def dcgan_generator(latent_dim, channels=1, width=64, normalization="batch", output="sigmoid", head="deconv",
                    name="generator"):
    """z -> (28, 28, channels) images.

    A dense projection to 7x7x(2 width), then two stride-2 transposed
    convolutions, with ReLU between them and, with `normalization="batch"`,
    BatchNorm before each ReLU (DCGAN). `head="deconv"` (DCGAN): the second
    transposed convolution writes the image. `head="conv"`: it writes width / 2
    feature maps (BatchNorm, ReLU) and a 3x3 convolution writes the image, one
    more layer at full resolution; on MNIST this took `dcgan_mnist` from
    fid_mnistnet 138.7 to 76.4 after one epoch and 30.9 to 22.5 after four.
    `output="sigmoid"` gives images in [0, 1]; `"linear"` leaves the last layer
    unbounded (BEGAN's generator, whose L1 reconstruction loss gets no gradient
    through a saturated sigmoid), and `GAN.sample` clips its images to [0, 1].
    """
    if normalization not in ("batch", None):
        raise ValueError(f"normalization must be 'batch' or None; got {normalization!r}")
    if output not in ("sigmoid", "linear"):
        raise ValueError(f"output must be 'sigmoid' or 'linear'; got {output!r}")
    if head not in ("deconv", "conv"):
        raise ValueError(f"head must be 'deconv' or 'conv'; got {head!r}")
    if head == "conv" and int(width) < 2:
        raise ValueError(f"head='conv' writes width / 2 feature maps, so width must be at least 2; got {width!r}")
    batch_norm = normalization == "batch"

    def up(x, filters, layer_name):  # stride-2 transposed convolution, [BatchNorm,] ReLU
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=not batch_norm, name=layer_name)(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"{layer_name}_norm")(x)
        return layers.ReLU()(x)

    inputs = keras.Input((latent_dim,))
    x = layers.Dense(7 * 7 * 2 * width, use_bias=not batch_norm, name="project")(inputs)
    if batch_norm:
        x = layers.BatchNormalization(name="project_norm")(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((7, 7, 2 * width))(x)
    x = up(x, width, "deconv")
    activation = "sigmoid" if output == "sigmoid" else None
    if head == "deconv":
        outputs = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation=activation, name="image")(x)
    else:
        x = up(x, int(width) // 2, "deconv_2")
        outputs = layers.Conv2D(channels, 3, padding="same", activation=activation, name="image")(x)
    return keras.Model(inputs, outputs, name=name)


def dcgan_critic(channels=1, width=64, normalization=None, depth=2, name="critic"):
    """(28, 28, channels) images -> one raw score (logit) each.

    `depth` stride-2 4x4 convolutions (width, 2 width, 4 width, ...) with
    LeakyReLU(0.2) (DCGAN), then a linear score. Two reach 7x7; a third (4x4,
    4 width channels) is the stronger critic of `dcgan_mnist`. `normalization` after
    every convolution but the first: "batch" (DCGAN), "layer" (what WGAN-GP
    uses, since a gradient penalty is per example and BatchNorm mixes the
    examples of a batch) or None.
    """
    if normalization not in ("batch", "layer", None):
        raise ValueError(f"normalization must be 'batch', 'layer' or None; got {normalization!r}")
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or not 1 <= depth <= 4:
        raise ValueError(f"depth must be an integer from 1 to 4 (stride-2 convolutions on 28x28); got {depth!r}")
    inputs = keras.Input((28, 28, channels))
    x = inputs
    for i in range(int(depth)):
        x = layers.Conv2D(width * 2**i, 4, strides=2, padding="same", name=f"conv_{i}")(x)
        norm_name = "norm" if i == 1 else f"norm_{i}"  # "norm": the name two-convolution checkpoints carry
        if i and normalization == "batch":
            x = layers.BatchNormalization(name=norm_name)(x)
        elif i and normalization == "layer":
            x = layers.LayerNormalization(axis=(1, 2, 3), name=norm_name)(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(1, name="score")(x)
    return keras.Model(inputs, outputs, name=name)


def began_autoencoder(channels=1, width=64, code_dim=64, name="critic"):
    """(28, 28, channels) images -> their reconstructions: BEGAN's discriminator.

    The paper's encoder/decoder (Figure 1) scaled to 28x28: ELU convolutions,
    stride-2 down to 7x7, a `code_dim` bottleneck, nearest-neighbour upsampling
    back up, and a linear output.
    """
    inputs = keras.Input((28, 28, channels))
    x = layers.Conv2D(width, 3, padding="same", activation="elu", name="conv_0")(inputs)
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="elu", name="conv_1")(x)
    x = layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="elu", name="conv_2")(x)
    x = layers.Flatten()(x)
    code = layers.Dense(code_dim, name="code")(x)
    x = layers.Dense(7 * 7 * width, activation="elu", name="expand")(code)
    x = layers.Reshape((7, 7, width))(x)
    for i in range(2):
        x = layers.UpSampling2D(2)(x)
        x = layers.Conv2D(width, 3, padding="same", activation="elu", name=f"up_conv_{i}")(x)
    outputs = layers.Conv2D(channels, 3, padding="same", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name=name)


def latent_walk(generate, z0, z1, steps, shape):
    """`generate`'s images along the straight lines from `z0` to `z1` in `steps` steps (DCGAN, Section 6.1):
    codes of shape (latent_dim,) give (steps, *shape); of shape (n, latent_dim) a grid (n, steps, *shape)."""
    z0, z1 = np.asarray(z0, dtype="float32"), np.asarray(z1, dtype="float32")
    if z0.shape != z1.shape:
        raise InputError(f"z0 and z1 must have one shape; got {z0.shape} and {z1.shape}")
    pairs = np.atleast_2d(z0), np.atleast_2d(z1)
    t = np.linspace(0.0, 1.0, int(steps), dtype="float32")[None, :, None]
    z = (1.0 - t) * pairs[0][:, None] + t * pairs[1][:, None]  # (n, steps, latent_dim)
    grid = generate(z.reshape(-1, z.shape[-1])).reshape(z.shape[:2] + tuple(shape))
    return grid if z0.ndim == 2 else grid[0]


@keras.saving.register_keras_serializable(package="zoo")
class GAN(AdversarialModel):
    """A GAN trained with one of `LOSSES`; `generator` maps z to data, `critic` scores data.

    - `wgan` clips every critic weight to [-clip_value, clip_value] after each
      critic update.
    - `wgan_gp` and `dragan` add `penalty_weight` times a gradient penalty to
      the critic loss, so the critic must not use BatchNorm.
    - `began` needs an autoencoder critic (data -> reconstruction) and keeps
      k_t in a non-trainable variable `k`, updated every step with `gamma` and
      `lambda_k`; it logs k and the convergence measure `m_global`.
    - `packing=m` (PacGAN) feeds the critic packs of m real or m fake samples
      concatenated on the last (channel) axis, so its input has m times the
      data's channels; a batch's last `batch % m` examples are left out.

    `compile()` with no arguments trains as the loss's paper did
    (`PAPER_TRAINING`). Numpy in, numpy out: `generate(z)`, `sample(n, seed)`,
    `interpolate(z0, z1, steps)`.
    """

    def __init__(self, generator, critic, latent_dim, loss="ns", penalty_weight=10.0, clip_value=0.01,
                 gamma=0.5, lambda_k=0.001, packing=1, seed=None, **kwargs):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
        if isinstance(packing, bool) or not isinstance(packing, (int, np.integer)) or packing < 1:
            raise ValueError(f"packing must be an integer >= 1 (samples per critic input); got {packing!r}")
        if packing > 1 and loss == "began":
            raise ValueError("packing (PacGAN) needs a critic that scores packs; BEGAN's autoencoder critic "
                             "reconstructs single images, so use packing=1 with loss='began'")
        _check_players(generator, critic, latent_dim, loss, int(packing))
        self.tracked = TRACKED[loss]  # read by ZooModel.__init__, which makes the trackers
        super().__init__(latent_dim=latent_dim, seed=seed, **kwargs)
        self.generator = generator
        self.critic = critic
        self.gan_loss = loss
        self.penalty_weight = penalty_weight
        self.clip_value = clip_value
        self.gamma = gamma
        self.lambda_k = lambda_k
        self.packing = int(packing)
        if loss == "began":
            self.k = self.add_weight(shape=(), initializer="zeros", trainable=False, name="k")
        self.built = True

    @property
    def data_shape(self):
        """The shape of one generated example, e.g. (28, 28, 1)."""
        return tuple(self.generator.output_shape[1:])

    @property
    def image_shape(self):
        """(H, W, C) of the generated images; only image GANs have one."""
        if len(self.data_shape) != 3:
            raise AttributeError(f"this GAN makes data of shape {self.data_shape}, not images")
        return self.data_shape

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def compile(self, optimizers=None, n_critic=None, **kwargs):
        make_optimizer, paper_n_critic = PAPER_TRAINING[self.gan_loss]
        if optimizers is None:
            optimizers = {name: make_optimizer(name) for name in self.players}
        super().compile(optimizers=optimizers, n_critic=paper_n_critic if n_critic is None else n_critic,
                        **kwargs)

    def compile_for_finetuning(self):
        self.compile()  # the paper's optimizer: Adam would unsettle a weight-clipped WGAN critic

    # Training -----------------------------------------------------------------------------

    def pack(self, x):
        """PacGAN: (B, ..., C) -> (B // m, ..., m C), each row m consecutive samples on the channel axis."""
        m = self.packing
        if m == 1:
            return x
        x = x[: (ops.shape(x)[0] // m) * m]
        x = ops.reshape(x, (-1, m) + self.data_shape)
        x = ops.moveaxis(x, 1, -2)  # (B // m, ..., m, C)
        return ops.reshape(x, (-1,) + _packed_shape(self.data_shape, m))

    def critic_loss(self, real, z, noise, training=True):
        fake = ops.stop_gradient(self.generator(z, training=training))
        if self.gan_loss == "began":
            real_loss = reconstruction_loss(real, self.critic(real, training=training))
            fake_loss = reconstruction_loss(fake, self.critic(fake, training=training))
            loss = began_discriminator_loss(real_loss, fake_loss, self.k)
            return loss, {"critic_loss": loss, "real_reconstruction": real_loss}
        real, fake = self.pack(real), self.pack(fake)
        loss_fn, _ = SCORE_LOSSES[self.gan_loss]
        loss = loss_fn(self.critic(real, training=training), self.critic(fake, training=training))
        if self.gan_loss not in PENALISED:
            return loss, {"critic_loss": loss}
        critic = lambda x: self.critic(x, training=training)
        if self.gan_loss == "wgan_gp":
            penalty = gradient_penalty(critic, real, fake, noise)
        else:
            penalty = dragan_penalty(critic, real, noise)
        loss = loss + self.penalty_weight * penalty
        return loss, {"critic_loss": loss, "gradient_penalty": penalty}

    def generator_loss(self, z, training=True):
        fake = self.generator(z, training=training)
        if self.gan_loss == "began":
            loss = reconstruction_loss(fake, self.critic(fake, training=training))
        else:
            loss = SCORE_LOSSES[self.gan_loss][1](self.critic(self.pack(fake), training=training))
        return loss, {"generator_loss": loss}

    def penalty_noise(self, real):
        """U(0, 1) noise of a penalty: one interpolation weight per example (wgan_gp), or one per value (dragan).

        With packing, the penalty is on the critic's inputs, so an example is a pack."""
        packs = ops.shape(real)[0] // self.packing
        if self.gan_loss == "wgan_gp":
            return self.sample_uniform((packs,))
        if self.gan_loss == "dragan":
            return self.sample_uniform((packs,) + _packed_shape(self.data_shape, self.packing))
        return None

    def clip_critic(self):
        """WGAN (Arjovsky et al. 2017, Algorithm 1): clip every critic weight to [-c, c]."""
        for variable in self.critic.trainable_variables:
            variable.assign(ops.clip(variable, -self.clip_value, self.clip_value))

    def update_k(self, real_loss, fake_loss):
        """BEGAN's k_t step; returns the logged k and M_global."""
        k = began_k_update(self.k, real_loss, fake_loss, self.gamma, self.lambda_k)
        self.k.assign(k)
        return {"k": k, "m_global": began_convergence(real_loss, fake_loss, self.gamma)}

    def train_step(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real = ops.convert_to_tensor(real)  # torch's train_on_batch hands over numpy arrays
        batch_size = ops.shape(real)[0]
        for _ in range(self.n_critic):
            terms = self.player_step("critic", self.critic_loss, real,
                                     self.sample_latent(batch_size), self.penalty_noise(real))
            if self.gan_loss == "wgan":
                self.clip_critic()
        terms.update(self.player_step("generator", self.generator_loss, self.sample_latent(batch_size)))
        if self.gan_loss == "began":
            terms.update(self.update_k(terms["real_reconstruction"], terms["generator_loss"]))
        return self.update_trackers(terms)

    def test_step(self, data):
        """Both players' losses on held-out data, no updates (BatchNorm uses its moving statistics).

        What `evaluate`, `fit(validation_data=...)` and fine-tuning log; for
        BEGAN, M_global on held-out data is the paper's convergence measure.
        """
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real = ops.convert_to_tensor(real)
        z = self.sample_latent(ops.shape(real)[0])
        _, terms = self.critic_loss(real, z, self.penalty_noise(real), training=False)
        terms.update(self.generator_loss(z, training=False)[1])
        if self.gan_loss == "began":
            terms["k"] = ops.convert_to_tensor(self.k)
            terms["m_global"] = began_convergence(terms["real_reconstruction"], terms["generator_loss"], self.gamma)
        return self.update_trackers(terms)

    @property
    def generator_batchnorms(self):
        """The generator's BatchNorm layers that normalize with batch statistics in training."""
        return [layer for layer in _layers(self.generator)
                if isinstance(layer, layers.BatchNormalization) and layer.trainable]

    def set_standing_statistics(self, batches=500, batch_size=64, seed=0):
        """Set the generator's BatchNorm moving statistics to their averages over `batches` fresh batches.

        "Standing statistics" (Brock, Donahue & Simonyan, "Large Scale GAN
        Training for High Fidelity Natural Image Synthesis", ICLR 2019,
        Appendix C.1). During training each BatchNorm normalizes with the
        statistics of its batch; the moving averages that `sample()` uses trail
        a generator that keeps changing, so its samples are not those it was
        trained to make. Running it in training mode on `batches` batches of
        `batch_size` codes (the training batch size) and averaging each batch's
        mean and variance gives the statistics of the final generator:
        `dcgan_mnist`'s fid_mnistnet went from 7.83 to 6.05. Call it after
        training, with a `seed` other than the one of the codes it will be
        measured on; it changes nothing but the moving statistics (and leaves
        them as they were if it fails). Returns how many BatchNorm layers it set
        (0 for a generator without BatchNorm).
        """
        def whole(value):
            return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

        if not whole(batches) or batches < 1:
            raise ValueError(f"batches must be an integer >= 1; got {batches!r}")
        if not whole(batch_size) or batch_size < 2:
            raise ValueError("batch_size must be an integer >= 2 (a batch of one has no variance to average); "
                             f"got {batch_size!r}")
        norms = self.generator_batchnorms
        momenta = [norm.momentum for norm in norms]
        saved = [(norm.moving_mean.numpy(), norm.moving_variance.numpy()) for norm in norms]
        rng = np.random.default_rng(seed)
        try:
            for i in range(int(batches) if norms else 0):
                for norm in norms:  # moving = moving * i / (i + 1) + batch / (i + 1): the running mean
                    norm.momentum = i / (i + 1)
                z = rng.standard_normal((int(batch_size), self.latent_dim)).astype("float32")
                self.generator(z, training=True)
        except BaseException:
            for norm, (mean, variance) in zip(norms, saved):
                norm.moving_mean.assign(mean)
                norm.moving_variance.assign(variance)
            raise
        finally:
            for norm, momentum in zip(norms, momenta):
                norm.momentum = momentum
        return len(norms)

    @property
    def selection_metric(self):
        """What picks the best epoch when fine-tuning: BEGAN's M_global; other losses have none
        (a GAN's losses do not measure sample quality), so the last epoch is kept."""
        return "m_global" if self.gan_loss == "began" else None

    # Numpy API for users ------------------------------------------------------------------

    def check_inputs(self, x):
        if len(self.data_shape) == 3:
            return check_images(x, shape=self.data_shape[:2], channels=self.data_shape[2])
        x = np.asarray(x, dtype="float32")
        if x.ndim < 1 or x.shape[1:] != self.data_shape or len(x) == 0:
            raise InputError(f"x must have shape (n, {', '.join(map(str, self.data_shape))}) with n >= 1; "
                             f"got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise InputError("x contains NaN or infinite values")
        return x

    def generate(self, z, batch_size=256):
        """Generator outputs for codes `z` (n, latent_dim), as numpy; images are clipped to [0, 1]."""
        z = np.asarray(z, dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise InputError(f"expected codes of shape (n, {self.latent_dim}); got {z.shape}")
        if not np.all(np.isfinite(z)):
            raise InputError("codes contain NaN or infinite values")
        out = self.generator.predict(z, batch_size=batch_size, verbose=0)
        # Images are in [0, 1]: a sigmoid generator's already are; a linear one's (BEGAN) are clipped
        return np.clip(out, 0.0, 1.0) if len(self.data_shape) == 3 else out

    def sample(self, n, seed=None):
        """`n` samples from z ~ N(0, I) (images in [0, 1]).

        The noise comes from numpy, so a `seed` gives the same samples on every backend.
        """
        return self.generate(np.random.default_rng(seed).standard_normal((int(n), self.latent_dim)))

    def interpolate(self, z0, z1, steps=8):
        """Samples along the straight line from `z0` to `z1` (DCGAN, Section 6.1).

        `z0`, `z1` of shape (latent_dim,) give (steps, *data_shape); of shape
        (n, latent_dim) they give a grid (n, steps, *data_shape), one row per
        pair, ready for `zoo.viz.save_rows`.
        """
        return latent_walk(self.generate, z0, z1, steps, self.data_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "critic": keras.saving.serialize_keras_object(self.critic),
            "latent_dim": self.latent_dim,
            "loss": self.gan_loss,
            "penalty_weight": self.penalty_weight,
            "clip_value": self.clip_value,
            "gamma": self.gamma,
            "lambda_k": self.lambda_k,
            "packing": self.packing,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "critic"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


@keras.saving.register_keras_serializable(package="zoo")
class WGANGP(GAN):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017): `GAN(loss="wgan_gp")`.

    Kept for its constructor and config keys (`gp_weight`).
    """

    def __init__(self, generator, critic, latent_dim, gp_weight=10.0, seed=None, **kwargs):
        super().__init__(generator, critic, latent_dim, loss="wgan_gp", penalty_weight=gp_weight, seed=seed,
                         **kwargs)

    def get_config(self):
        config = super().get_config()
        for key in ("loss", "clip_value", "gamma", "lambda_k"):
            del config[key]
        config["gp_weight"] = config.pop("penalty_weight")
        return config


def _layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _layers(layer)


def _packed_shape(data_shape, packing):
    """The critic's input shape for one pack of `packing` examples of `data_shape`: channels times `packing`."""
    return tuple(data_shape[:-1]) + (packing * data_shape[-1],)


def _check_players(generator, critic, latent_dim, loss, packing=1):
    """Clear errors for networks that cannot play this loss."""
    data_shape = tuple(generator.output_shape[1:])
    if tuple(generator.input_shape[1:]) != (latent_dim,):
        raise ValueError(f"the generator takes inputs of shape {generator.input_shape}; "
                         f"expected (None, {latent_dim}) for latent_dim={latent_dim}")
    packed_shape = _packed_shape(data_shape, packing)
    if tuple(critic.input_shape[1:]) != packed_shape:
        packs = f" (packing={packing}: {packing} samples on the last axis)" if packing > 1 else ""
        raise ValueError(f"the critic takes inputs of shape {critic.input_shape}, but the generator "
                         f"makes {generator.output_shape}; expected (None, {', '.join(map(str, packed_shape))})"
                         f"{packs}")
    scores = tuple(critic.output_shape[1:])
    if loss == "began" and scores != data_shape:
        raise ValueError(f"loss='began' needs an autoencoder critic whose output has the data's shape "
                         f"{data_shape} (began_autoencoder builds one); the critic outputs {scores}")
    if loss != "began" and scores != (1,):
        raise ValueError(f"loss={loss!r} needs a critic with one score per example, output shape (None, 1); "
                         f"the critic outputs {critic.output_shape}")
    if loss in PENALISED and any(isinstance(layer, layers.BatchNormalization) for layer in _layers(critic)):
        raise ValueError(
            f"loss={loss!r} adds a per-example gradient penalty to the critic, which must not use "
            "BatchNormalization: batch statistics couple the examples, so the penalised gradient is not "
            "the critic's gradient at one point (Gulrajani et al. 2017, Section 4). Build the critic with "
            "dcgan_critic(normalization='layer') or normalization=None."
        )
