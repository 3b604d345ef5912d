"""GAN losses. Each is a few lines of `keras.ops` and cites its paper."""

from keras import ops

from zoo.backend import input_gradient


def wasserstein_critic_loss(real_scores, fake_scores):
    """WGAN critic (Arjovsky et al. 2017): maximise E[D(real)] - E[D(fake)]."""
    return ops.mean(fake_scores) - ops.mean(real_scores)


def wasserstein_generator_loss(fake_scores):
    """WGAN generator (Arjovsky et al. 2017): maximise E[D(fake)]."""
    return -ops.mean(fake_scores)


def gradient_penalty(critic, real, fake, weights):
    """WGAN-GP (Gulrajani et al. 2017, arXiv:1704.00028), Eq. 3.

    E[(||grad_x D(x)||_2 - 1)^2] at x = w * real + (1 - w) * fake, with one
    weight w ~ U(0, 1) per example. Differentiable w.r.t. the critic's weights.
    """
    weights = ops.reshape(weights, (-1,) + (1,) * (len(real.shape) - 1))
    interpolates = weights * real + (1.0 - weights) * fake
    grads = input_gradient(critic, interpolates)
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=tuple(range(1, len(real.shape)))) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))
