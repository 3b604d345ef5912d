"""The GAN loss family, each a few lines of `keras.ops` citing its paper.

Losses take the critic's raw outputs: logits for the (non-)saturating and
DRAGAN discriminators, unbounded scores for WGAN and LSGAN. Each is minimised
by the player it names. `SCORE_LOSSES` pairs them by the name a `GAN` takes:

- `mm`: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (arXiv:1406.2661).
- `ns`: the same paper's non-saturating generator loss (Section 3).
- `wgan`: Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017 (arXiv:1701.07875).
- `wgan_gp`: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017 (arXiv:1704.00028).
- `lsgan`: Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017 (arXiv:1611.04076).
- `dragan`: Kodali et al., "On Convergence and Stability of GANs", 2017 (arXiv:1705.07215).
- `began`: Berthelot, Schumm & Metz, "BEGAN: Boundary Equilibrium GANs", 2017 (arXiv:1703.10717);
  its discriminator is an autoencoder, so its terms work on reconstruction errors instead.

Every loss and penalty is computed in float32, whatever precision the networks
compute in (a mixed-precision policy): the critic's outputs are cast first.
"""

from keras import ops

from zoo.backend import input_gradient


def _float32(*tensors):
    return tuple(ops.cast(t, "float32") for t in tensors)


def discriminator_loss(real_logits, fake_logits):
    """Goodfellow et al. 2014, Eq. 1: -E[log D(x)] - E[log(1 - D(G(z)))], D = sigmoid(logits)."""
    real_logits, fake_logits = _float32(real_logits, fake_logits)
    # -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l), written stably.
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def minimax_generator_loss(fake_logits):
    """Goodfellow et al. 2014, Eq. 1: the generator minimises E[log(1 - D(G(z)))].

    It saturates: when D rejects the samples confidently its gradient vanishes.
    """
    return -ops.mean(ops.softplus(ops.cast(fake_logits, "float32")))


def non_saturating_generator_loss(fake_logits):
    """Goodfellow et al. 2014, Section 3: the generator maximises E[log D(G(z))] instead."""
    return ops.mean(ops.softplus(-ops.cast(fake_logits, "float32")))


def wasserstein_critic_loss(real_scores, fake_scores):
    """WGAN critic (Arjovsky et al. 2017): maximise E[D(real)] - E[D(fake)]."""
    real_scores, fake_scores = _float32(real_scores, fake_scores)
    return ops.mean(fake_scores) - ops.mean(real_scores)


def wasserstein_generator_loss(fake_scores):
    """WGAN generator (Arjovsky et al. 2017): maximise E[D(fake)]."""
    return -ops.mean(ops.cast(fake_scores, "float32"))


def least_squares_discriminator_loss(real_scores, fake_scores):
    """LSGAN (Mao et al. 2017), Eq. 2 with a = 0, b = 1: 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]."""
    real_scores, fake_scores = _float32(real_scores, fake_scores)
    return 0.5 * ops.mean(ops.square(real_scores - 1.0)) + 0.5 * ops.mean(ops.square(fake_scores))


def least_squares_generator_loss(fake_scores):
    """LSGAN (Mao et al. 2017), Eq. 2 with c = 1: 1/2 E[(D(G(z)) - 1)^2]."""
    return 0.5 * ops.mean(ops.square(ops.cast(fake_scores, "float32") - 1.0))


SCORE_LOSSES = {  # name -> (critic loss on (real, fake) outputs, generator loss on fake outputs)
    "mm": (discriminator_loss, minimax_generator_loss),
    "ns": (discriminator_loss, non_saturating_generator_loss),
    "wgan": (wasserstein_critic_loss, wasserstein_generator_loss),
    "wgan_gp": (wasserstein_critic_loss, wasserstein_generator_loss),
    "lsgan": (least_squares_discriminator_loss, least_squares_generator_loss),
    "dragan": (discriminator_loss, non_saturating_generator_loss),
}


def _unit_gradient_penalty(critic, points):
    """E[(||grad_x D(x)||_2 - 1)^2] over a batch of points; differentiable w.r.t. the critic.

    Taken at float32 points of a critic whose outputs are cast to float32, so
    the gradient and the penalty are float32 under a mixed policy too.
    """
    (points,) = _float32(points)
    grads = input_gradient(lambda x: ops.cast(critic(x), "float32"), points)
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=tuple(range(1, len(points.shape)))) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def gradient_penalty(critic, real, fake, weights):
    """WGAN-GP (Gulrajani et al. 2017, arXiv:1704.00028), Eq. 3.

    E[(||grad_x D(x)||_2 - 1)^2] at x = w * real + (1 - w) * fake, with one
    weight w ~ U(0, 1) per example. Differentiable w.r.t. the critic's weights.
    """
    real, fake, weights = _float32(real, fake, weights)
    weights = ops.reshape(weights, (-1,) + (1,) * (len(real.shape) - 1))
    return _unit_gradient_penalty(critic, weights * real + (1.0 - weights) * fake)


def dragan_penalty(critic, real, noise):
    """DRAGAN (Kodali et al. 2017): E[(||grad_x D(x + delta)||_2 - 1)^2] around real data.

    The penalty sits only around real points, where the paper finds the sharp
    discriminator gradients that go with mode collapse; `delta = 0.5 * std(real) * noise` with `noise` ~ U[0, 1)
    of the shape of `real` and the standard deviation over the whole batch, as
    in the authors' code. The paper weighs it by lambda = 10 on top of the
    non-saturating loss.
    """
    real, noise = _float32(real, noise)
    return _unit_gradient_penalty(critic, real + 0.5 * ops.std(real) * noise)


def reconstruction_loss(v, reconstruction):
    """BEGAN (Berthelot et al. 2017), Eq. 1 with eta = 1: L(v) = E|v - D(v)|, pixel-wise L1."""
    v, reconstruction = _float32(v, reconstruction)
    return ops.mean(ops.abs(v - reconstruction))


def began_discriminator_loss(real_loss, fake_loss, k):
    """BEGAN, Section 3.4: L_D = L(x) - k_t L(G(z_D)); `k` is a constant of the step."""
    return real_loss - ops.stop_gradient(k) * fake_loss


def began_k_update(k, real_loss, fake_loss, gamma, lambda_k=0.001):
    """BEGAN, Section 3.4: k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1).

    Proportional control that keeps E[L(G(z))] = gamma E[L(x)]: the
    equilibrium with diversity ratio `gamma`.
    """
    return ops.clip(k + lambda_k * (gamma * real_loss - fake_loss), 0.0, 1.0)


def began_convergence(real_loss, fake_loss, gamma):
    """BEGAN, Section 3.4.1: M_global = L(x) + |gamma L(x) - L(G(z_G))|, lower is better."""
    return real_loss + ops.abs(gamma * real_loss - fake_loss)
