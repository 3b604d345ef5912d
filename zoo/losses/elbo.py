"""Terms of the evidence lower bound (Kingma & Welling 2014, arXiv:1312.6114).

Both are computed in float32, whatever precision the networks that made their
inputs compute in (a sum over 784 pixels in float16 would lose the loss).
"""

from keras import ops


def bernoulli_log_likelihood(x, logits):
    """log p(x | logits) summed over all but the batch axis; x in {0, 1} (or [0, 1])."""
    x, logits = ops.cast(x, "float32"), ops.cast(logits, "float32")
    # log sigmoid(l) * x + log sigmoid(-l) * (1 - x), written stably.
    per_pixel = x * logits - ops.softplus(logits)
    return ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=1)


def gaussian_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per example and latent dimension (Appendix B)."""
    mean, log_var = ops.cast(mean, "float32"), ops.cast(log_var, "float32")
    return 0.5 * (ops.exp(log_var) + ops.square(mean) - 1.0 - log_var)
