"""GANs. WGAN-GP: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.

The critic is updated `n_critic` times per generator update with the
Wasserstein loss plus a gradient penalty on random interpolates of real and
generated samples (Algorithm 1; lambda = 10, Adam(1e-4, 0.5, 0.9)). As in the
keras-io example, the critic iterations of one step reuse the step's batch of
real data, each with fresh noise.
"""

import keras
from keras import layers

from zoo.losses import gradient_penalty, wasserstein_critic_loss, wasserstein_generator_loss
from zoo.trainers import AdversarialModel


def mlp(input_dim, output_dim, hidden=(128, 128, 128), name=None):
    """A ReLU MLP, the networks of the 2-D toy experiments."""
    inputs = keras.Input((input_dim,))
    x = inputs
    for i, units in enumerate(hidden):
        x = layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    outputs = layers.Dense(output_dim, name="out")(x)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="zoo")
class WGANGP(AdversarialModel):
    """Wasserstein GAN with gradient penalty; `generator` maps z to data, `critic` data to a score."""

    tracked = ("critic_loss", "gradient_penalty", "generator_loss")

    def __init__(self, generator, critic, latent_dim, gp_weight=10.0, seed=None, **kwargs):
        super().__init__(latent_dim=latent_dim, seed=seed, **kwargs)
        self.generator = generator
        self.critic = critic
        self.gp_weight = gp_weight
        self.built = True

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def critic_loss(self, real, z, weights):
        fake = self.generator(z, training=True)
        wasserstein = wasserstein_critic_loss(self.critic(real, training=True),
                                              self.critic(fake, training=True))
        penalty = gradient_penalty(lambda x: self.critic(x, training=True), real, fake, weights)
        loss = wasserstein + self.gp_weight * penalty
        return loss, {"critic_loss": loss, "gradient_penalty": penalty}

    def generator_loss(self, z):
        loss = wasserstein_generator_loss(self.critic(self.generator(z, training=True), training=True))
        return loss, {"generator_loss": loss}

    def train_step(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        batch_size = keras.ops.shape(real)[0]
        for _ in range(self.n_critic):
            critic_terms = self.player_step(
                "critic", self.critic_loss, real,
                self.sample_latent(batch_size), self.sample_uniform((batch_size,)),
            )
        generator_terms = self.player_step("generator", self.generator_loss, self.sample_latent(batch_size))
        return self.update_trackers({**critic_terms, **generator_terms})

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "critic": keras.saving.serialize_keras_object(self.critic),
            "latent_dim": self.latent_dim,
            "gp_weight": self.gp_weight,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "critic"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
