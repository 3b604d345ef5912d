"""The GAN loss family against values computed by hand, penalties against finite differences."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from zoo.backend import value_and_grad
from zoo.losses import (
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

LOG3 = math.log(3.0)  # the logit of D = 3/4


def value(x):
    return float(ops.convert_to_numpy(x))


def tensor(values):
    return ops.convert_to_tensor(np.asarray(values, dtype="float32"))


def test_minimax_losses_on_known_probabilities():
    # D(x) = sigmoid(log 3) = 3/4 on the real example, D(G(z)) = 1/2 and 3/4 on the fakes.
    real, fake = tensor([[LOG3]]), tensor([[0.0], [LOG3]])
    expected_d = -math.log(3 / 4) - 0.5 * (math.log(1 - 1 / 2) + math.log(1 - 3 / 4))
    assert value(discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-5)
    assert value(minimax_generator_loss(fake)) == pytest.approx(0.5 * (math.log(1 / 2) + math.log(1 / 4)), rel=1e-5)
    assert value(non_saturating_generator_loss(fake)) == pytest.approx(-0.5 * (math.log(1 / 2) + math.log(3 / 4)),
                                                                        rel=1e-5)


def test_logit_losses_stay_finite_for_confident_critics():
    extreme = tensor([[-100.0], [100.0]])
    for loss in (discriminator_loss(extreme, extreme), minimax_generator_loss(extreme),
                 non_saturating_generator_loss(extreme)):
        assert math.isfinite(value(loss))


def test_minimax_generator_saturates_and_non_saturating_does_not():
    """Goodfellow et al. 2014, Section 3: when D rejects the fakes, log(1 - D) has no gradient left."""
    logit = keras.Variable(np.array([[-10.0]], "float32"))  # D(G(z)) = 4.5e-5
    (_, _), (minimax,) = value_and_grad(lambda: minimax_generator_loss(logit), [logit])()
    (_, _), (non_saturating,) = value_and_grad(lambda: non_saturating_generator_loss(logit), [logit])()
    assert abs(value(ops.sum(minimax))) < 1e-4
    assert abs(value(ops.sum(non_saturating))) > 0.99


def test_wasserstein_and_least_squares_losses():
    real, fake = tensor([[1.0], [3.0]]), tensor([[0.0], [2.0]])
    assert value(wasserstein_critic_loss(real, fake)) == pytest.approx(1.0 - 2.0)
    assert value(wasserstein_generator_loss(fake)) == pytest.approx(-1.0)
    # 1/2 mean((1-1)^2, (3-1)^2) + 1/2 mean(0^2, 2^2) = 1 + 1
    assert value(least_squares_discriminator_loss(real, fake)) == pytest.approx(2.0)
    # 1/2 mean((0-1)^2, (2-1)^2)
    assert value(least_squares_generator_loss(fake)) == pytest.approx(0.5)


def test_score_losses_pair_each_name_with_its_papers_losses():
    assert SCORE_LOSSES["mm"] == (discriminator_loss, minimax_generator_loss)
    assert SCORE_LOSSES["ns"] == (discriminator_loss, non_saturating_generator_loss)
    assert SCORE_LOSSES["dragan"] == (discriminator_loss, non_saturating_generator_loss)
    assert SCORE_LOSSES["wgan"] == SCORE_LOSSES["wgan_gp"] == (wasserstein_critic_loss, wasserstein_generator_loss)
    assert SCORE_LOSSES["lsgan"] == (least_squares_discriminator_loss, least_squares_generator_loss)


# A smooth critic D(x) = tanh(x W) v, written twice: in keras.ops and in float64 numpy.
RNG = np.random.default_rng(0)
W0 = RNG.standard_normal((3, 4))
V = RNG.standard_normal((4, 1))


def numpy_critic(x, w=W0):
    return np.tanh(x @ w) @ V


def numpy_input_gradient(x, w=W0):
    return ((1.0 - np.tanh(x @ w) ** 2) * V[:, 0]) @ w.T


def finite_difference_gradient(x, eps=1e-6):
    grads = np.zeros_like(x)
    for j in range(x.shape[1]):
        step = np.zeros_like(x)
        step[:, j] = eps
        grads[:, j] = (numpy_critic(x + step) - numpy_critic(x - step))[:, 0] / (2 * eps)
    return grads


def numpy_penalty(points, w=W0):
    norms = np.linalg.norm(numpy_input_gradient(points, w), axis=1)
    return np.mean((norms - 1.0) ** 2)


def test_gradient_penalty_equals_a_finite_difference_check():
    real, fake = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3))
    weights = RNG.uniform(size=5)
    w = keras.Variable(W0.astype("float32"))
    critic = lambda x: ops.matmul(ops.tanh(ops.matmul(x, w)), tensor(V))
    penalty = gradient_penalty(critic, tensor(real), tensor(fake), tensor(weights))

    interpolates = weights[:, None] * real + (1 - weights[:, None]) * fake
    norms = np.linalg.norm(finite_difference_gradient(interpolates), axis=1)
    assert value(penalty) == pytest.approx(np.mean((norms - 1.0) ** 2), rel=1e-4)
    np.testing.assert_allclose(numpy_input_gradient(interpolates), finite_difference_gradient(interpolates),
                               atol=1e-6)

    # Differentiable w.r.t. the critic's weights: the gradient matches finite differences of the penalty in W.
    (_, _), (grad,) = value_and_grad(
        lambda: gradient_penalty(critic, tensor(real), tensor(fake), tensor(weights)), [w])()
    expected = np.zeros_like(W0)
    for index in np.ndindex(W0.shape):
        step = np.zeros_like(W0)
        step[index] = 1e-6
        expected[index] = (numpy_penalty(interpolates, W0 + step) - numpy_penalty(interpolates, W0 - step)) / 2e-6
    np.testing.assert_allclose(ops.convert_to_numpy(grad), expected, rtol=1e-3, atol=1e-4)


def half_squared_norm(x):
    """D(x) = |x|^2 / 2, so grad D(x) = x: the penalty reveals where it was taken."""
    return 0.5 * ops.sum(ops.square(x), axis=1)


def test_dragan_penalty_sits_at_perturbed_real_data():
    real = np.array([[0.6, 0.8], [2.0, 0.0], [0.0, -0.5]])  # norms 1, 2, 0.5
    at_real = dragan_penalty(half_squared_norm, tensor(real), tensor(np.zeros_like(real)))
    assert value(at_real) == pytest.approx(np.mean([0.0, 1.0, 0.25]), rel=1e-5)

    noise = RNG.uniform(size=real.shape)
    perturbed = real + 0.5 * real.std() * noise
    expected = np.mean((np.linalg.norm(perturbed, axis=1) - 1.0) ** 2)
    assert value(dragan_penalty(half_squared_norm, tensor(real), tensor(noise))) == pytest.approx(expected, rel=1e-5)


def test_began_terms_on_known_numbers():
    assert value(reconstruction_loss(tensor([[1.0, 2.0]]), tensor([[0.0, 4.0]]))) == pytest.approx(1.5)
    # L_D = L(x) - k L(G(z)) = 0.2 - 0.5 * 0.05
    assert value(began_discriminator_loss(tensor(0.2), tensor(0.05), tensor(0.5))) == pytest.approx(0.175)
    # M_global = L(x) + |gamma L(x) - L(G(z))| = 0.2 + |0.1 - 0.05|
    assert value(began_convergence(tensor(0.2), tensor(0.05), 0.5)) == pytest.approx(0.25)


@pytest.mark.parametrize("k, real_loss, fake_loss, gamma, expected", [
    (0.5, 0.2, 0.05, 0.5, 0.5 + 0.001 * (0.1 - 0.05)),   # k_{t+1} = k_t + lambda_k (gamma L(x) - L(G(z)))
    (0.5, 0.2, 0.3, 0.5, 0.5 + 0.001 * (0.1 - 0.3)),     # fakes reconstructed too badly: k falls
    (0.9995, 1.0, 0.0, 1.0, 1.0),                        # clipped to [0, 1]
    (0.0001, 0.0, 1.0, 0.5, 0.0),
])
def test_began_k_update(k, real_loss, fake_loss, gamma, expected):
    updated = began_k_update(tensor(k), tensor(real_loss), tensor(fake_loss), gamma)
    assert value(updated) == pytest.approx(expected, abs=1e-7)


def test_began_k_is_a_constant_of_the_discriminator_loss():
    real_loss, k = keras.Variable(np.array(0.2, "float32")), keras.Variable(np.array(0.5, "float32"))
    (_, _), (grad_real, grad_k) = value_and_grad(lambda: began_discriminator_loss(real_loss, tensor(0.05), k),
                                                 [real_loss, k])()
    assert value(grad_real) == pytest.approx(1.0)
    assert value(grad_k) == 0.0
