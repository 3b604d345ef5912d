"""Loss terms, each written once in `keras.ops` and cited: ELBO terms, the GAN loss family, perceptual losses."""

from zoo.losses.classification import classification_terms
from zoo.losses.cycle import cycle_consistency_loss, identity_loss
from zoo.losses.elbo import bernoulli_log_likelihood, gaussian_kl
from zoo.losses.gan import (
    SCORE_LOSSES,
    began_convergence,
    began_discriminator_loss,
    began_k_update,
    discriminator_loss,
    dragan_penalty,
    gradient_penalty,
    least_squares_discriminator_loss,
    least_squares_generator_loss,
    minimax_generator_loss,
    non_saturating_generator_loss,
    reconstruction_loss,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
)
from zoo.losses.perceptual import (
    VGG19_LAYERS,
    PerceptualLoss,
    feature_reconstruction_loss,
    gram_matrix,
    style_reconstruction_loss,
    vgg19_features,
)

__all__ = [
    "SCORE_LOSSES",
    "VGG19_LAYERS",
    "PerceptualLoss",
    "began_convergence",
    "began_discriminator_loss",
    "began_k_update",
    "bernoulli_log_likelihood",
    "classification_terms",
    "cycle_consistency_loss",
    "discriminator_loss",
    "dragan_penalty",
    "feature_reconstruction_loss",
    "gaussian_kl",
    "gradient_penalty",
    "gram_matrix",
    "identity_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "reconstruction_loss",
    "style_reconstruction_loss",
    "vgg19_features",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
]
