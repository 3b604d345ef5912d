"""CycleGAN: unpaired translation between two image domains A and B.

Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017 (arXiv:1703.10593).

Two generators, G: A -> B (`generator_ab`) and F: B -> A (`generator_ba`), and
two discriminators, D_A (real A vs F(b)) and D_B (real B vs G(a)). As in the
paper (Section 4 and 7):

- LSGAN adversarial losses (Mao et al. 2017): D minimises
  1/2 E[(D(y) - 1)^2] + 1/2 E[D(G(x))^2] (the paper halves D's objective),
  G minimises E[(D(G(x)) - 1)^2];
- cycle consistency ||F(G(a)) - a||_1 + ||G(F(b)) - b||_1 weighted by
  lambda = 10, and an optional identity loss ||G(b) - b||_1 + ||F(a) - a||_1
  weighted by 0.5 lambda;
- the discriminators see a pool of the 50 last fakes (Shrivastava et al.
  2017): `ImagePool`;
- Adam(2e-4, beta_1 = 0.5) for every network, constant for the first half of
  training and then linearly decayed to zero: `LinearDecay`.

Each step updates both generators on one joint loss (their optimizers are
separate but Adam is per-parameter, so this is the paper's joint Adam), then
each discriminator on fakes drawn from its pool. The generators are the
paper's ResNet generator and the discriminators its PatchGAN, scaled down to
28x28 images in [0, 1] (a sigmoid output instead of tanh on [-1, 1]).
"""


import keras
import numpy as np
from keras import layers, ops

from zoo.data import check_images
from zoo.data.batches import EpochBatches
from zoo.data.shuffle import shuffled_passes
from zoo.errors import InputError
from zoo.losses import (
    cycle_consistency_loss,
    identity_loss,
    least_squares_discriminator_loss,
)
from zoo.trainers import AdversarialModel

DIRECTIONS = ("a2b", "b2a")


def _instance_norm(name):
    # Instance normalization (Ulyanov et al. 2016) is group normalization with one channel per group.
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def resnet_generator(channels=1, width=16, n_blocks=3, image_size=28, name="generator"):
    """(image_size, image_size, channels) in [0, 1] -> the same shape in [0, 1]: the paper's ResNet generator.

    c7s1-w, d2w, `n_blocks` residual blocks of 2w channels at half resolution,
    u w, c7s1-channels (Appendix 7.2 names), with instance normalization and
    ReLU; one down/up-sampling stage instead of two, since the images are 28x28.
    Zero padding replaces reflection padding: the digit backgrounds are zero.
    """
    inputs = keras.Input((image_size, image_size, channels))
    x = layers.Conv2D(width, 7, padding="same", name="c7s1")(inputs)
    x = layers.ReLU()(_instance_norm("c7s1_norm")(x))
    x = layers.Conv2D(2 * width, 3, strides=2, padding="same", name="down")(x)
    x = layers.ReLU()(_instance_norm("down_norm")(x))
    for i in range(n_blocks):
        y = layers.Conv2D(2 * width, 3, padding="same", name=f"res_{i}_conv_0")(x)
        y = layers.ReLU()(_instance_norm(f"res_{i}_norm_0")(y))
        y = layers.Conv2D(2 * width, 3, padding="same", name=f"res_{i}_conv_1")(y)
        x = layers.Add()([x, _instance_norm(f"res_{i}_norm_1")(y)])
    x = layers.Conv2DTranspose(width, 3, strides=2, padding="same", name="up")(x)
    x = layers.ReLU()(_instance_norm("up_norm")(x))
    outputs = layers.Conv2D(channels, 7, padding="same", activation="sigmoid", name="image")(x)
    return keras.Model(inputs, outputs, name=name)


def patch_discriminator(channels=1, width=32, image_size=28, name="discriminator"):
    """(image_size, image_size, channels) -> a 7x7 map of raw LSGAN scores: a PatchGAN for 28x28 images.

    C w (no norm), C 2w with stride 2, C 4w with stride 1, then a 4x4
    convolution to one score per patch (the paper's 70x70 PatchGAN with one
    stride-2 layer fewer); each score sees 34x34 pixels, about a whole digit.
    """
    inputs = keras.Input((image_size, image_size, channels))
    x = layers.Conv2D(width, 4, strides=2, padding="same", name="conv_0")(inputs)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(2 * width, 4, strides=2, padding="same", name="conv_1")(x)
    x = layers.LeakyReLU(0.2)(_instance_norm("norm_1")(x))
    x = layers.Conv2D(4 * width, 4, padding="same", name="conv_2")(x)
    x = layers.LeakyReLU(0.2)(_instance_norm("norm_2")(x))
    outputs = layers.Conv2D(1, 4, padding="same", name="scores")(x)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="zoo")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`learning_rate` for `constant_steps` steps, then linearly down to 0 over `decay_steps` (the paper, Section 7)."""

    def __init__(self, learning_rate, constant_steps, decay_steps):
        if int(constant_steps) < 0 or int(decay_steps) < 1:
            raise ValueError(f"constant_steps must be >= 0 and decay_steps >= 1; got {constant_steps}, {decay_steps}")
        self.learning_rate = float(learning_rate)
        self.constant_steps = int(constant_steps)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        progress = (ops.cast(step, "float32") - self.constant_steps) / self.decay_steps
        return self.learning_rate * (1.0 - ops.clip(progress, 0.0, 1.0))

    def get_config(self):
        return {"learning_rate": self.learning_rate, "constant_steps": self.constant_steps,
                "decay_steps": self.decay_steps}


@keras.saving.register_keras_serializable(package="zoo")
class ImagePool(layers.Layer):
    """A buffer of `pool_size` past fakes shown to a discriminator (Shrivastava et al. 2017; CycleGAN Section 4).

    Until the pool is full, each new image is stored and passed through. Then
    each image, with probability 1/2, is swapped for a stored one (returned, and
    replaced in the pool by the new image), else passed through. The images of
    one batch draw distinct slots, so no slot is taken twice; past the first
    `pool_size` images of a batch, images pass through. The pool and its fill
    count are non-trainable variables and the draws come from a SeedGenerator,
    so the update runs inside a compiled step on every backend.
    """

    def __init__(self, pool_size=50, image_shape=(28, 28, 1), seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(pool_size) < 1:
            raise ValueError(f"pool_size must be a positive integer; got {pool_size!r}")
        self.pool_size = int(pool_size)
        self.image_shape = tuple(image_shape)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.images = self.add_weight(shape=(self.pool_size, *self.image_shape), initializer="zeros",
                                      trainable=False, name="images")
        self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False, name="count")
        self.built = True

    def call(self, images):
        images = ops.cast(images, self.images.dtype)
        size = self.pool_size
        index = ops.arange(ops.shape(images)[0], dtype="int32")
        count = ops.convert_to_tensor(self.count)
        filling = ops.less(count, size)
        fill_slot = count + index
        fills = ops.logical_and(filling, ops.less(fill_slot, size))
        swap_slot = ops.take(keras.random.shuffle(ops.arange(size, dtype="int32"), seed=self.seed_generator),
                             ops.minimum(index, size - 1))
        coin = ops.less(keras.random.uniform(ops.shape(index), seed=self.seed_generator), 0.5)
        swaps = ops.logical_and(ops.logical_and(ops.logical_not(filling), coin), ops.less(index, size))
        slot = ops.where(fills, fill_slot, swap_slot)
        writes = ops.cast(ops.logical_or(fills, swaps), images.dtype)
        targets = ops.one_hot(ops.minimum(slot, size - 1), size, dtype=images.dtype) * writes[:, None]  # (n, size)
        kept = 1.0 - ops.sum(targets, axis=0)
        stored = ops.take(self.images, swap_slot, axis=0)
        outputs = ops.where(ops.reshape(swaps, (-1, 1, 1, 1)), stored, images)
        self.images.assign(ops.reshape(kept, (-1, 1, 1, 1)) * self.images
                           + ops.einsum("np,nhwc->phwc", targets, images))
        self.count.assign(ops.minimum(count + ops.cast(ops.shape(images)[0], "int32"), size))
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "image_shape": list(self.image_shape),
                "seed": self.seed}


@keras.saving.register_keras_serializable(package="zoo")
class CycleGAN(AdversarialModel):
    """Unpaired translation A <-> B with cycle-consistency, trained as in Zhu et al. 2017.

    Train with `fit(unpaired(a, b, batch_size))` (or `fit(a, b)` for arrays of
    equal length); every step sees one batch of each domain, never a pair.
    `compile()` with no arguments uses the paper's Adam; `compile(total_steps=n)`
    adds its schedule: constant for n/2 steps, then linearly to zero.
    Numpy in, numpy out: `translate(x, direction="a2b" | "b2a")`,
    `reconstruct(x, direction)` (the round trip back to x's domain).
    """

    players = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")

    def __init__(self, generator_ab, generator_ba, discriminator_a, discriminator_b, cycle_weight=10.0,
                 identity_weight=0.5, pool_size=50, seed=None, **kwargs):
        image_shape = _check_networks(generator_ab, generator_ba, discriminator_a, discriminator_b)
        if cycle_weight < 0 or identity_weight < 0:
            raise ValueError(f"cycle_weight and identity_weight must be >= 0; got {cycle_weight}, {identity_weight}")
        self.tracked = ("generator_loss", "adversarial_loss", "cycle_loss") + (
            ("identity_loss",) if identity_weight > 0 else ()) + ("discriminator_a_loss", "discriminator_b_loss")
        super().__init__(latent_dim=None, seed=seed, **kwargs)
        self.generator_ab = generator_ab
        self.generator_ba = generator_ba
        self.discriminator_a = discriminator_a
        self.discriminator_b = discriminator_b
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.pool_size = int(pool_size)
        self.image_shape = image_shape
        pool_seeds = (None, None) if seed is None else (seed + 1, seed + 2)
        self.pool_a = ImagePool(pool_size, image_shape, seed=pool_seeds[0], name="pool_a")  # fakes F(b)
        self.pool_b = ImagePool(pool_size, image_shape, seed=pool_seeds[1], name="pool_b")  # fakes G(a)
        self.built = True

    def call(self, x, training=False):
        return self.generator_ab(x, training=training)

    def compile(self, optimizers=None, total_steps=None, learning_rate=2e-4, n_critic=1, **kwargs):
        if int(n_critic) != 1:
            raise ValueError(f"CycleGAN updates each network once a step; n_critic must be 1, got {n_critic}")
        if optimizers is None:
            rate = learning_rate
            if total_steps is not None:
                half = int(total_steps) // 2
                rate = LinearDecay(learning_rate, half, max(int(total_steps) - half, 1))
            optimizers = {name: keras.optimizers.Adam(rate, beta_1=0.5) for name in self.players}
        super().compile(optimizers=optimizers, n_critic=1, **kwargs)

    def compile_for_finetuning(self):
        self.compile()

    # Training -----------------------------------------------------------------------------

    def generator_loss(self, real_a, real_b):
        """The generators' joint objective (Eq. 3, plus the identity term); the fakes come back for the pools."""
        g, f = self.generator_ab, self.generator_ba
        fake_b, fake_a = g(real_a, training=True), f(real_b, training=True)
        scores_b, scores_a = (ops.cast(d(fake, training=True), "float32")  # the losses in float32
                              for d, fake in ((self.discriminator_b, fake_b), (self.discriminator_a, fake_a)))
        adversarial = ops.mean(ops.square(scores_b - 1.0)) + ops.mean(ops.square(scores_a - 1.0))
        cycle = (cycle_consistency_loss(real_a, f(fake_b, training=True))
                 + cycle_consistency_loss(real_b, g(fake_a, training=True)))
        loss = adversarial + self.cycle_weight * cycle
        terms = {"adversarial_loss": adversarial, "cycle_loss": cycle}
        if self.identity_weight > 0:
            identity = (identity_loss(real_b, g(real_b, training=True))
                        + identity_loss(real_a, f(real_a, training=True)))
            loss = loss + self.identity_weight * self.cycle_weight * identity
            terms["identity_loss"] = identity
        terms.update({"generator_loss": loss, "fake_a": fake_a, "fake_b": fake_b})
        return loss, terms

    def discriminator_loss(self, discriminator, real, fake):
        """LSGAN with the paper's halving: 1/2 E[(D(real) - 1)^2] + 1/2 E[D(fake)^2]."""
        return least_squares_discriminator_loss(discriminator(real, training=True),
                                                discriminator(fake, training=True))

    def train_step(self, data):
        real_a, real_b, _ = keras.utils.unpack_x_y_sample_weight(data)
        if real_b is None:
            raise ValueError("CycleGAN trains on (a, b) batches, one of each domain: fit(unpaired(a, b, "
                             "batch_size)) or fit(a, b); got batches of one domain only.")
        real_a, real_b = ops.convert_to_tensor(real_a), ops.convert_to_tensor(real_b)
        terms = self.joint_step(("generator_ab", "generator_ba"), self.generator_loss, real_a, real_b)

        fake_a = self.pool_a(ops.stop_gradient(terms.pop("fake_a")))
        fake_b = self.pool_b(ops.stop_gradient(terms.pop("fake_b")))
        terms.update(self.player_step("discriminator_a", self._objective("discriminator_a"), real_a, fake_a))
        terms.update(self.player_step("discriminator_b", self._objective("discriminator_b"), real_b, fake_b))
        return self.update_trackers(terms)

    def _objective(self, name):
        """`(real, fake) -> (loss, {"<name>_loss": loss})` for the discriminator `name`."""
        discriminator = getattr(self, name)

        def objective(real, fake):
            loss = self.discriminator_loss(discriminator, real, fake)
            return loss, {f"{name}_loss": loss}

        return objective

    # Numpy API for users ------------------------------------------------------------------

    def check_inputs(self, x, name="x"):
        return check_images(x, shape=self.image_shape[:2], channels=self.image_shape[2], name=name)

    def fit(self, x=None, y=None, *args, **kwargs):
        if y is not None and hasattr(y, "__array__"):
            y = self.check_inputs(y, name="y (the images of domain B)")
        return super().fit(x, y, *args, **kwargs)

    def translate(self, x, direction="a2b", batch_size=256):
        """Images of one domain mapped to the other: G(x) for "a2b", F(x) for "b2a"; numpy (n, H, W, C)."""
        generator = self._generators(direction)[0]
        return self._batched(generator, self.check_inputs(x), batch_size)

    def reconstruct(self, x, direction="a2b", batch_size=256):
        """The round trip F(G(x)) for "a2b" (x in A), G(F(x)) for "b2a" (x in B)."""
        there, back = self._generators(direction)
        return self._batched(lambda b, training: back(there(b, training=training), training=training),
                             self.check_inputs(x), batch_size)

    def sample(self, n, seed=None):
        raise NotImplementedError("A CycleGAN translates images and draws none from noise: use "
                                  "translate(x, direction='a2b' or 'b2a').")

    def _generators(self, direction):
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}; got {direction!r}")
        pair = (self.generator_ab, self.generator_ba)
        return pair if direction == "a2b" else pair[::-1]

    @staticmethod
    def _batched(fn, x, batch_size):
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
        step = int(batch_size)
        return np.concatenate([ops.convert_to_numpy(fn(x[i:i + step], training=False))
                               for i in range(0, len(x), step)])

    def get_config(self):
        return {
            **super().get_config(),
            **{name: keras.saving.serialize_keras_object(getattr(self, name)) for name in self.players},
            "cycle_weight": self.cycle_weight,
            "identity_weight": self.identity_weight,
            "pool_size": self.pool_size,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in cls.players:
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)


class UnpairedImages(EpochBatches):
    """Batches `(a, b)` of `batch_size` images of each domain, drawn independently: unpaired data for `fit`.

    An epoch has `steps` batches (default: enough to see the larger domain
    once); each domain is walked in a fresh random order drawn from (seed,
    epoch), the smaller one wrapping around, so every batch is full and the two
    never line up.
    """

    def __init__(self, a, b, batch_size=32, steps=None, seed=0, **kwargs):
        a = check_images(a, name="a")
        b = check_images(b, shape=a.shape[1:3], channels=a.shape[3], name="b")
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
        super().__init__(int(steps) if steps is not None else max(1, max(len(a), len(b)) // int(batch_size)),
                         **kwargs)
        self.a, self.b = a, b
        self.batch_size = int(batch_size)
        self.seed = int(seed)

    def orders(self, epoch):
        rng = np.random.default_rng([self.seed, epoch])
        count = self.steps * self.batch_size
        return shuffled_passes(rng, len(self.a), count), shuffled_passes(rng, len(self.b), count)

    def batch(self, index, epoch):
        order_a, order_b = self.epoch_orders(epoch)
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.a[order_a[rows]], self.b[order_b[rows]]


def unpaired(a, b, batch_size=32, steps=None, seed=0):
    """`UnpairedImages(a, b, batch_size, steps, seed)`: what `CycleGAN.fit` trains on."""
    return UnpairedImages(a, b, batch_size=batch_size, steps=steps, seed=seed)


def cyclegan_mnist_usps(width=16, n_blocks=3, discriminator_width=32, identity_weight=0.5, seed=None):
    """The architecture of `cyclegan_mnist_usps`: A = MNIST, B = USPS, 28x28 grey digits in [0, 1]."""
    return CycleGAN(
        resnet_generator(width=width, n_blocks=n_blocks, name="generator_ab"),
        resnet_generator(width=width, n_blocks=n_blocks, name="generator_ba"),
        patch_discriminator(width=discriminator_width, name="discriminator_a"),
        patch_discriminator(width=discriminator_width, name="discriminator_b"),
        identity_weight=identity_weight,
        seed=seed,
    )


def _check_networks(generator_ab, generator_ba, discriminator_a, discriminator_b):
    """The shared image shape (H, W, C) of four networks that can play CycleGAN; clear errors otherwise."""
    shape = tuple(generator_ab.input_shape[1:])
    if len(shape) != 3:
        raise ValueError(f"the generators must take images (None, H, W, C); generator_ab takes {generator_ab.input_shape}")
    for name, network in (("generator_ab", generator_ab), ("generator_ba", generator_ba)):
        if tuple(network.input_shape[1:]) != shape or tuple(network.output_shape[1:]) != shape:
            raise ValueError(f"both generators must map images of shape {shape} to the same shape; {name} maps "
                             f"{network.input_shape} to {network.output_shape}")
    for name, network in (("discriminator_a", discriminator_a), ("discriminator_b", discriminator_b)):
        if tuple(network.input_shape[1:]) != shape:
            raise ValueError(f"{name} takes inputs of shape {network.input_shape}; expected (None, {shape})")
    return shape
