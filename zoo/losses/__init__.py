"""Loss terms, each written once in `keras.ops` and cited: ELBO terms, the GAN loss family."""

from zoo.losses.elbo import bernoulli_log_likelihood, gaussian_kl
from zoo.losses.gan import gradient_penalty, wasserstein_critic_loss, wasserstein_generator_loss

__all__ = [
    "bernoulli_log_likelihood",
    "gaussian_kl",
    "gradient_penalty",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
]
