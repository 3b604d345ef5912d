"""Hand-written JAX training loops for the zoo's networks: pure functions, no Keras, no Flax, no Optax.

JAX idiom: parameters in nested dicts, NHWC `lax` convolutions, Adam written
out (Kingma & Ba 2015, Algorithm 1, with Keras' epsilon 1e-7), one `jax.jit`
step with the state donated, PRNG keys carried in the state. The networks
have the zoo's layer sizes (parameter counts equal the zoo's; the test checks)
and each step does the zoo step's work (see reference_torch.py). CycleGAN's
50-image pools live outside the compiled steps, as Python lists of arrays.

Translation: the zoo's UNMT networks with their weights in Keras' layouts (a
GRU's kernel `(in, 3 units)` with the gates in Keras' order z, r, h, reset
after the recurrent product), so the tests can load the zoo's weights and
compare losses. The GRUs are `lax.scan`s over time (the input projections of
all steps done before the scan); a padded step keeps the state, as Keras'
masking does, and the backward encoder scans in reverse. The noise, both
losses, the RMSprop update of the discriminator (Keras' form: epsilon inside
the square root) and the Adam update of the translator (each gradient clipped
to norm 5, as Keras' `clipnorm`) are in the one jitted step.
"""


import jax
import jax.numpy as jnp
import numpy as np
from _bench import ImagePool, LoopBench, synthetic, translation_vocabulary

DN = ("NHWC", "HWIO", "NHWC")


# Layers -----------------------------------------------------------------------------------------

def _init(key, shape, fan_in):
    return jax.random.normal(key, shape, jnp.float32) * np.sqrt(2.0 / fan_in)


def dense_params(key, n_in, n_out, bias=True):
    p = {"w": _init(key, (n_in, n_out), n_in)}
    if bias:
        p["b"] = jnp.zeros((n_out,), jnp.float32)
    return p


def conv_params(key, kernel, c_in, c_out, bias=True):
    """HWIO kernels, for convolutions and transposed convolutions alike."""
    p = {"w": _init(key, (kernel, kernel, c_in, c_out), kernel * kernel * c_in)}
    if bias:
        p["b"] = jnp.zeros((c_out,), jnp.float32)
    return p


def norm_params(channels):
    return {"gamma": jnp.ones((channels,), jnp.float32), "beta": jnp.zeros((channels,), jnp.float32)}


def dense(p, x):
    y = x @ p["w"]
    return y + p["b"] if "b" in p else y


def conv(p, x, stride=1):
    y = jax.lax.conv_general_dilated(x, p["w"], (stride, stride), "SAME", dimension_numbers=DN)
    return y + p["b"] if "b" in p else y


def deconv(p, x, stride=2):
    y = jax.lax.conv_transpose(x, p["w"], (stride, stride), "SAME", dimension_numbers=DN)
    return y + p["b"] if "b" in p else y


def batch_norm(p, state, x, momentum=0.99, epsilon=1e-3):
    """Training-mode BatchNorm over every axis but the last; returns the moving statistics updated as Keras does."""
    axes = tuple(range(x.ndim - 1))
    mean, var = jnp.mean(x, axes), jnp.var(x, axes)
    y = (x - mean) * jax.lax.rsqrt(var + epsilon) * p["gamma"] + p["beta"]
    mean, var = jax.lax.stop_gradient(mean), jax.lax.stop_gradient(var)
    new = {"mean": momentum * state["mean"] + (1 - momentum) * mean,
           "var": momentum * state["var"] + (1 - momentum) * var}
    return y, new


def instance_norm(p, x, epsilon=1e-5):
    mean = jnp.mean(x, (1, 2), keepdims=True)
    var = jnp.var(x, (1, 2), keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + epsilon) * p["gamma"] + p["beta"]


def leaky_relu(x):
    return jnp.where(x >= 0, x, 0.2 * x)


# Adam -------------------------------------------------------------------------------------------

def adam_init(params):
    return {"m": jax.tree.map(jnp.zeros_like, params), "v": jax.tree.map(jnp.zeros_like, params),
            "t": jnp.zeros((), jnp.int32)}


def adam_update(params, grads, state, cfg, epsilon=1e-7):
    lr, b1, b2 = cfg["learning_rate"], cfg.get("beta_1", 0.9), cfg.get("beta_2", 0.999)
    t = state["t"] + 1
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
    tf = t.astype(jnp.float32)
    rate = lr * jnp.sqrt(1 - b2**tf) / (1 - b1**tf)
    params = jax.tree.map(lambda p, m, v: p - rate * m / (jnp.sqrt(v) + epsilon), params, m, v)
    return params, {"m": m, "v": v, "t": t}


def rmsprop_init(params):
    return {"v": jax.tree.map(jnp.zeros_like, params)}


def rmsprop_update(params, grads, state, lr, rho=0.9, epsilon=1e-7):
    """Keras' RMSprop (no momentum, not centered): epsilon inside the square root."""
    v = jax.tree.map(lambda v, g: rho * v + (1 - rho) * g * g, state["v"], grads)
    params = jax.tree.map(lambda p, g, v: p - lr * g / jnp.sqrt(v + epsilon), params, grads, v)
    return params, {"v": v}


def clip_each(grads, clipnorm):
    """Keras' `clipnorm`: each gradient scaled to norm at most `clipnorm`, on its own."""
    return jax.tree.map(lambda g: g * clipnorm / jnp.maximum(jnp.sqrt(jnp.sum(g * g)), clipnorm), grads)


# VAE --------------------------------------------------------------------------------------------

def vae_params(key, cfg):
    f0, f1 = cfg["filters"]
    latent, hidden = cfg["latent_dim"], cfg["hidden"]
    k = iter(jax.random.split(key, 10))
    encoder = {"conv_0": conv_params(next(k), 3, 1, f0), "conv_1": conv_params(next(k), 3, f0, f1),
               "hidden": dense_params(next(k), 7 * 7 * f1, hidden),
               "mean": dense_params(next(k), hidden, latent), "log_var": dense_params(next(k), hidden, latent)}
    decoder = {"hidden": dense_params(next(k), latent, hidden), "project": dense_params(next(k), hidden, 7 * 7 * f1),
               "deconv_0": conv_params(next(k), 3, f1, f1), "deconv_1": conv_params(next(k), 3, f1, f0),
               "logits": conv_params(next(k), 3, f0, 1)}
    return {"encoder": encoder, "decoder": decoder}


def vae_encode(p, x):
    h = jax.nn.relu(conv(p["conv_0"], x, 2))
    h = jax.nn.relu(conv(p["conv_1"], h, 2))
    h = jax.nn.relu(dense(p["hidden"], h.reshape(h.shape[0], -1)))
    return dense(p["mean"], h), dense(p["log_var"], h)


def vae_decode(p, z):
    h = jax.nn.relu(dense(p["hidden"], z))
    h = jax.nn.relu(dense(p["project"], h))
    h = h.reshape(h.shape[0], 7, 7, -1)
    h = jax.nn.relu(deconv(p["deconv_0"], h))
    h = jax.nn.relu(deconv(p["deconv_1"], h))
    return conv(p["logits"], h)


def vae_init(key, cfg):
    params = vae_params(key, cfg)
    return {"params": params, "opt": adam_init(params), "key": jax.random.PRNGKey(1)}


def vae_train(cfg):
    def loss_fn(params, x, key):
        k_bin, k_eps = jax.random.split(key)
        x = (jax.random.uniform(k_bin, x.shape) < x).astype(x.dtype)
        mean, log_var = vae_encode(params["encoder"], x)
        z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(k_eps, mean.shape)
        logits = vae_decode(params["decoder"], z)
        reconstruction = -jnp.mean(jnp.sum(x * logits - jax.nn.softplus(logits), axis=(1, 2, 3)))
        kl = jnp.mean(jnp.sum(0.5 * (jnp.exp(log_var) + mean**2 - 1.0 - log_var), axis=1))
        return reconstruction + kl

    def train(state, x):
        key, sub = jax.random.split(state["key"])
        loss, grads = jax.value_and_grad(loss_fn)(state["params"], x, sub)
        params, opt = adam_update(state["params"], grads, state["opt"], cfg)
        return {"params": params, "opt": opt, "key": key}, loss

    return train


# WGAN-GP ----------------------------------------------------------------------------------------

def wgan_gp_params(key, cfg):
    latent, w = cfg["latent_dim"], cfg["width"]
    k = iter(jax.random.split(key, 6))
    generator = {"project": dense_params(next(k), latent, 7 * 7 * 2 * w, bias=False),
                 "project_norm": norm_params(7 * 7 * 2 * w),
                 "deconv": conv_params(next(k), 4, 2 * w, w, bias=False), "deconv_norm": norm_params(w),
                 "image": conv_params(next(k), 4, w, 1)}
    critic = {"conv_0": conv_params(next(k), 4, 1, w), "conv_1": conv_params(next(k), 4, w, 2 * w),
              "score": dense_params(next(k), 7 * 7 * 2 * w, 1)}
    return {"generator": generator, "critic": critic}


def generate(p, stats, z):
    h, s0 = batch_norm(p["project_norm"], stats["project_norm"], dense(p["project"], z))
    h = jax.nn.relu(h).reshape(z.shape[0], 7, 7, -1)
    h, s1 = batch_norm(p["deconv_norm"], stats["deconv_norm"], deconv(p["deconv"], h))
    return jax.nn.sigmoid(deconv(p["image"], jax.nn.relu(h))), {"project_norm": s0, "deconv_norm": s1}


def criticize(p, x):
    h = leaky_relu(conv(p["conv_0"], x, 2))
    h = leaky_relu(conv(p["conv_1"], h, 2))
    return dense(p["score"], h.reshape(x.shape[0], -1))


def wgan_gp_init(key, cfg):
    params = wgan_gp_params(key, cfg)
    w = cfg["width"]
    stats = {name: {"mean": jnp.zeros((c,)), "var": jnp.ones((c,))}
             for name, c in (("project_norm", 7 * 7 * 2 * w), ("deconv_norm", w))}
    return {"generator": params["generator"], "critic": params["critic"], "stats": stats,
            "g_opt": adam_init(params["generator"]), "d_opt": adam_init(params["critic"]), "key": jax.random.PRNGKey(1)}


def wgan_gp_train(cfg):
    latent, gp_weight = cfg["latent_dim"], cfg["gp_weight"]

    def critic_loss(critic, real, fake, w):
        mixed = w[:, None, None, None] * real + (1.0 - w[:, None, None, None]) * fake
        grads = jax.grad(lambda x: jnp.sum(criticize(critic, x)))(mixed)
        penalty = jnp.mean((jnp.sqrt(jnp.sum(grads**2, axis=(1, 2, 3)) + 1e-12) - 1.0) ** 2)
        return jnp.mean(criticize(critic, fake)) - jnp.mean(criticize(critic, real)) + gp_weight * penalty

    def generator_loss(generator, stats, critic, z):
        fake, stats = generate(generator, stats, z)
        return -jnp.mean(criticize(critic, fake)), stats

    def train(state, real):
        n = real.shape[0]
        state = dict(state)
        for _ in range(cfg["n_critic"]):
            key, k_z, k_w = jax.random.split(state["key"], 3)
            fake, state["stats"] = generate(state["generator"], state["stats"], jax.random.normal(k_z, (n, latent)))
            d_loss, grads = jax.value_and_grad(critic_loss)(state["critic"], real, jax.lax.stop_gradient(fake),
                                                            jax.random.uniform(k_w, (n,)))
            state["critic"], state["d_opt"] = adam_update(state["critic"], grads, state["d_opt"], cfg)
            state["key"] = key
        key, k_z = jax.random.split(state["key"])
        (g_loss, state["stats"]), grads = jax.value_and_grad(generator_loss, has_aux=True)(
            state["generator"], state["stats"], state["critic"], jax.random.normal(k_z, (n, latent)))
        state["generator"], state["g_opt"] = adam_update(state["generator"], grads, state["g_opt"], cfg)
        state["key"] = key
        return state, (d_loss, g_loss)

    return train


# CycleGAN ---------------------------------------------------------------------------------------

def generator_params(key, cfg):
    w, blocks = cfg["width"], cfg["n_blocks"]
    k = iter(jax.random.split(key, 4 + 2 * blocks))
    p = {"c7s1": conv_params(next(k), 7, 1, w), "c7s1_norm": norm_params(w),
         "down": conv_params(next(k), 3, w, 2 * w), "down_norm": norm_params(2 * w)}
    for i in range(blocks):
        for j in range(2):
            p[f"res_{i}_conv_{j}"] = conv_params(next(k), 3, 2 * w, 2 * w)
            p[f"res_{i}_norm_{j}"] = norm_params(2 * w)
    p.update({"up": conv_params(next(k), 3, 2 * w, w), "up_norm": norm_params(w), "image": conv_params(next(k), 7, w, 1)})
    return p


def discriminator_params(key, cfg):
    w = cfg["discriminator_width"]
    k = iter(jax.random.split(key, 4))
    return {"conv_0": conv_params(next(k), 4, 1, w), "conv_1": conv_params(next(k), 4, w, 2 * w),
            "norm_1": norm_params(2 * w), "conv_2": conv_params(next(k), 4, 2 * w, 4 * w), "norm_2": norm_params(4 * w),
            "scores": conv_params(next(k), 4, 4 * w, 1)}


def translate(p, x, blocks):
    h = jax.nn.relu(instance_norm(p["c7s1_norm"], conv(p["c7s1"], x)))
    h = jax.nn.relu(instance_norm(p["down_norm"], conv(p["down"], h, 2)))
    for i in range(blocks):
        y = jax.nn.relu(instance_norm(p[f"res_{i}_norm_0"], conv(p[f"res_{i}_conv_0"], h)))
        h = h + instance_norm(p[f"res_{i}_norm_1"], conv(p[f"res_{i}_conv_1"], y))
    h = jax.nn.relu(instance_norm(p["up_norm"], deconv(p["up"], h)))
    return jax.nn.sigmoid(conv(p["image"], h))


def discriminate(p, x):
    h = leaky_relu(conv(p["conv_0"], x, 2))
    h = leaky_relu(instance_norm(p["norm_1"], conv(p["conv_1"], h, 2)))
    h = leaky_relu(instance_norm(p["norm_2"], conv(p["conv_2"], h)))
    return conv(p["scores"], h)


def cyclegan_params(key, cfg):
    k = jax.random.split(key, 4)
    return {"generator_ab": generator_params(k[0], cfg), "generator_ba": generator_params(k[1], cfg),
            "discriminator_a": discriminator_params(k[2], cfg), "discriminator_b": discriminator_params(k[3], cfg)}


def cyclegan_init(key, cfg):
    p = cyclegan_params(key, cfg)
    generators = {"generator_ab": p["generator_ab"], "generator_ba": p["generator_ba"]}
    discriminators = {"discriminator_a": p["discriminator_a"], "discriminator_b": p["discriminator_b"]}
    return {"g": generators, "d": discriminators, "g_opt": adam_init(generators), "d_opt": adam_init(discriminators)}


def cyclegan_train(cfg):
    blocks, lam, identity_weight = cfg["n_blocks"], cfg["cycle_weight"], cfg["identity_weight"]

    def generator_loss(g, d, a, b):
        fake_b, fake_a = translate(g["generator_ab"], a, blocks), translate(g["generator_ba"], b, blocks)
        adversarial = (jnp.mean((discriminate(d["discriminator_b"], fake_b) - 1.0) ** 2)
                       + jnp.mean((discriminate(d["discriminator_a"], fake_a) - 1.0) ** 2))
        cycle = (jnp.mean(jnp.abs(translate(g["generator_ba"], fake_b, blocks) - a))
                 + jnp.mean(jnp.abs(translate(g["generator_ab"], fake_a, blocks) - b)))
        identity = (jnp.mean(jnp.abs(translate(g["generator_ab"], b, blocks) - b))
                    + jnp.mean(jnp.abs(translate(g["generator_ba"], a, blocks) - a)))
        return adversarial + lam * cycle + identity_weight * lam * identity, (fake_a, fake_b)

    def discriminator_loss(d, a, b, old_a, old_b):
        return (0.5 * jnp.mean((discriminate(d["discriminator_a"], a) - 1.0) ** 2)
                + 0.5 * jnp.mean(discriminate(d["discriminator_a"], old_a) ** 2)
                + 0.5 * jnp.mean((discriminate(d["discriminator_b"], b) - 1.0) ** 2)
                + 0.5 * jnp.mean(discriminate(d["discriminator_b"], old_b) ** 2))

    @jax.jit
    def generator_step(state, a, b):
        (loss, fakes), grads = jax.value_and_grad(generator_loss, has_aux=True)(state["g"], state["d"], a, b)
        g, g_opt = adam_update(state["g"], grads, state["g_opt"], cfg)
        return {**state, "g": g, "g_opt": g_opt}, loss, fakes

    @jax.jit
    def discriminator_step(state, a, b, old_a, old_b):
        loss, grads = jax.value_and_grad(discriminator_loss)(state["d"], a, b, old_a, old_b)
        d, d_opt = adam_update(state["d"], grads, state["d_opt"], cfg)
        return {**state, "d": d, "d_opt": d_opt}, loss

    pools = ImagePool(cfg["pool_size"]), ImagePool(cfg["pool_size"])

    def train(state, a, b):
        state, g_loss, (fake_a, fake_b) = generator_step(state, a, b)
        state, d_loss = discriminator_step(state, a, b, jnp.stack(pools[0].query(fake_a)),
                                               jnp.stack(pools[1].query(fake_b)))
        return state, (g_loss, d_loss)

    return train


# Translation ------------------------------------------------------------------------------------

PAD_ID, EOS_ID = 0, 2  # zoo.text.tokenizer's fixed ids


def gru_params(key, n_in, units):
    k1, k2 = jax.random.split(key)
    return {"kernel": _init(k1, (n_in, 3 * units), n_in), "recurrent_kernel": _init(k2, (units, 3 * units), units),
            "bias": jnp.zeros((2, 3 * units), jnp.float32)}


def translation_params(key, cfg):
    vocab, e, u, hidden = cfg["vocab_size"], cfg["embedding_dim"], cfg["units"], cfg["discriminator_units"]
    k = iter(jax.random.split(key, 8 + cfg["discriminator_layers"]))
    translator = {"embedding": jax.random.uniform(next(k), (vocab, e), jnp.float32, -0.05, 0.05),
                  "encoder_forward": gru_params(next(k), e, u // 2), "encoder_backward": gru_params(next(k), e, u // 2),
                  "bridge": dense_params(next(k), u, u), "decoder": gru_params(next(k), e, u),
                  "attention": dense_params(next(k), u, u, bias=False), "combine": dense_params(next(k), 2 * u, e),
                  "output_bias": jnp.zeros((vocab,), jnp.float32)}
    discriminator, previous = {}, u
    for i in range(cfg["discriminator_layers"]):
        discriminator[f"dense_{i}"] = dense_params(next(k), previous, hidden)
        previous = hidden
    discriminator["logit"] = dense_params(next(k), previous, 1)
    return {"translator": translator, "discriminator": discriminator}


def gru(p, x, h, mask=None, reverse=False):
    """Keras' GRU over `(n, t, d)`: the outputs `(n, t, units)`; a step where `mask` is False keeps the state."""
    units = p["recurrent_kernel"].shape[0]
    inputs = jnp.swapaxes(x @ p["kernel"] + p["bias"][0], 0, 1)  # (t, n, 3 units)

    def cell(h, step):
        x_t, m_t = step
        r_t = h @ p["recurrent_kernel"] + p["bias"][1]
        z = jax.nn.sigmoid(x_t[:, :units] + r_t[:, :units])
        r = jax.nn.sigmoid(x_t[:, units:2 * units] + r_t[:, units:2 * units])
        new = z * h + (1.0 - z) * jnp.tanh(x_t[:, 2 * units:] + r * r_t[:, 2 * units:])
        new = new if m_t is None else jnp.where(m_t[:, None], new, h)
        return new, new

    steps = (inputs, None if mask is None else jnp.swapaxes(mask, 0, 1))
    _, outputs = jax.lax.scan(cell, h, steps, reverse=reverse)
    return jnp.swapaxes(outputs, 0, 1)


def encode(p, tokens):
    """Ids `(n, t)` -> states `(n, t, units)` of the bidirectional GRU (0 at padding) and the mask of real pieces."""
    mask = (tokens != PAD_ID) | (jnp.arange(tokens.shape[1]) == 0)[None, :]
    x = p["embedding"][tokens]
    h = jnp.zeros((tokens.shape[0], p["encoder_forward"]["recurrent_kernel"].shape[0]), x.dtype)
    states = jnp.concatenate([gru(p["encoder_forward"], x, h, mask),
                              gru(p["encoder_backward"], x, h, mask, reverse=True)], axis=-1)
    return jnp.where(mask[..., None], states, 0.0), mask


def decode(p, inputs, states, mask):
    """Teacher forcing: the GRU from tanh(W mean(states)), Luong's general attention, the tied output layer."""
    weights = mask[..., None].astype(states.dtype)
    mean = jnp.sum(states * weights, 1) / jnp.maximum(jnp.sum(weights, 1), 1.0)
    outputs = gru(p["decoder"], p["embedding"][inputs], jnp.tanh(dense(p["bridge"], mean)))
    scores = jnp.einsum("btu,bsu->bts", outputs, dense(p["attention"], states))
    scores = jnp.where(mask[:, None, :], scores, -1e9)
    context = jnp.einsum("bts,bsu->btu", jax.nn.softmax(scores, axis=-1), states)
    combined = jnp.tanh(dense(p["combine"], jnp.concatenate([outputs, context], axis=-1)))
    return combined @ p["embedding"].T + p["output_bias"]


def language_logits(p, states):
    """The discriminator: one logit per encoder state."""
    h = states
    for i in range(len(p) - 1):
        h = leaky_relu(dense(p[f"dense_{i}"], h))
    return dense(p["logit"], h)[..., 0]


def add_noise(tokens, word_start, drop_draws, shuffle_draws, p, k):
    """zoo.text.noise.add_noise: drop each word with probability `p`, then move words at most `k` places by
    sorting i + U(0, k + 1); `drop_draws` and `shuffle_draws` are U(0, 1) of the tokens' shape."""
    length = tokens.shape[1]
    position = jnp.arange(length)[None, :]
    starts = (word_start[tokens] | (position == 0)) & (tokens != PAD_ID)
    word_index = lambda starts: jnp.maximum(jnp.cumsum(starts.astype(jnp.int32), axis=1) - 1, 0)
    valid = tokens != PAD_ID
    keep = jnp.take_along_axis(drop_draws >= p, word_index(starts), axis=1) & valid
    keep = jnp.where(jnp.any(keep, axis=1, keepdims=True), keep, valid)  # a sentence never loses all its words
    order = jnp.argsort(jnp.where(keep, position, position + length), axis=1)
    tokens = jnp.take_along_axis(jnp.where(keep, tokens, PAD_ID), order, axis=1)
    starts = jnp.take_along_axis(starts & keep, order, axis=1)
    rank = jnp.argsort(jnp.argsort(position + (k + 1.0) * shuffle_draws, axis=1), axis=1)
    word_rank = jnp.take_along_axis(rank, word_index(starts), axis=1)
    key = jnp.where(tokens != PAD_ID, word_rank * length + position, length * length + position)
    return jnp.take_along_axis(tokens, jnp.argsort(key, axis=1), axis=1)


def teacher_forcing(targets, language_ids):
    """zoo.models.unmt.teacher_forcing: decoder inputs (language token, sentence) and targets (sentence, EOS)."""
    lengths = jnp.sum(targets != PAD_ID, axis=1, keepdims=True)
    padded = jnp.pad(targets, ((0, 0), (0, 1)))
    positions = jnp.arange(targets.shape[1] + 1)[None, :]
    inputs = jnp.concatenate([language_ids[:, None].astype(targets.dtype), targets], axis=1)
    return inputs, jnp.where(positions == lengths, EOS_ID, padded)


def masked_mean(values, mask):
    mask = mask.astype(values.dtype)
    return jnp.sum(values * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def sigmoid_cross_entropy(logits, labels):
    return jnp.maximum(logits, 0.0) - logits * labels + jnp.log1p(jnp.exp(-jnp.abs(logits)))


def language_labels(batches):
    return jnp.concatenate([jnp.full(b.shape, float(i), jnp.float32) for i, b in enumerate(batches)])


def discriminator_loss(p, states, mask, noisy, smoothing):
    smoothed = language_labels(noisy) * (1.0 - smoothing) + 0.5 * smoothing
    return masked_mean(sigmoid_cross_entropy(language_logits(p, states), smoothed), mask)


def translator_loss(p, discriminator, clean, noisy, translated, language_ids):
    """Denoising + back-translation (one mean cross-entropy per language, summed) + the adversarial term."""
    states, mask = encode(p, jnp.concatenate(noisy + translated))
    ids = jnp.concatenate([jnp.full((b.shape[0],), language_ids[i], jnp.int32) for i, b in enumerate(clean)])
    inputs, targets = teacher_forcing(jnp.concatenate(clean * 2), jnp.concatenate([ids, ids]))
    log_probs = jax.nn.log_softmax(decode(p, inputs, states, mask), axis=-1)
    losses = -jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    loss, start = 0.0, 0
    for batch in clean * 2:
        end = start + batch.shape[0]
        loss = loss + masked_mean(losses[start:end], targets[start:end] != PAD_ID)
        start = end
    size = sum(b.shape[0] for b in noisy)
    flipped = 1.0 - language_labels(noisy)
    logits = language_logits(discriminator, states[:size])
    adversarial = masked_mean(sigmoid_cross_entropy(logits, flipped), mask[:size])
    return loss + adversarial * len(noisy)


def translation_init(key, cfg):
    params = translation_params(key, cfg)
    return {**params, "t_opt": adam_init(params["translator"]), "d_opt": rmsprop_init(params["discriminator"]),
            "key": jax.random.PRNGKey(1)}


def translation_train(cfg, vocabulary=None):
    """The UNMT step; `vocabulary` (default: `translation_vocabulary(cfg)`) gives the language and word-start ids."""
    vocabulary = vocabulary or translation_vocabulary(cfg)
    word_start = jnp.asarray(vocabulary.word_start)
    languages = cfg["languages"]
    language_ids = [vocabulary.language_id(lang) for lang in languages]

    def noise(x, key):
        k_drop, k_shuffle = jax.random.split(key)
        return add_noise(x, word_start, jax.random.uniform(k_drop, x.shape), jax.random.uniform(k_shuffle, x.shape),
                         cfg["word_dropout"], cfg["word_shuffle"])

    def train(state, batch):
        key, *keys = jax.random.split(state["key"], 1 + 2 * len(languages))
        clean = [batch[lang] for lang in languages]
        noisy = [noise(x, k) for x, k in zip(clean, keys)]
        translated = [noise(batch[f"{lang}_translated"], k) for lang, k in zip(languages, keys[len(languages):])]
        states, mask = encode(state["translator"], jnp.concatenate(noisy))
        d_loss, grads = jax.value_and_grad(discriminator_loss)(state["discriminator"], jax.lax.stop_gradient(states),
                                                               mask, noisy, cfg["smoothing"])
        discriminator, d_opt = rmsprop_update(state["discriminator"], grads, state["d_opt"],
                                              cfg["discriminator_learning_rate"], cfg["rho"])
        loss, grads = jax.value_and_grad(translator_loss)(state["translator"], discriminator, clean, noisy, translated,
                                                          language_ids)
        translator, t_opt = adam_update(state["translator"], clip_each(grads, cfg["clipnorm"]), state["t_opt"], cfg)
        return ({"translator": translator, "discriminator": discriminator, "t_opt": t_opt, "d_opt": d_opt,
                 "key": key}, (d_loss, loss))

    return train


# Bench ------------------------------------------------------------------------------------------

def _count(tree):
    return int(sum(np.prod(leaf.shape) for leaf in jax.tree.leaves(tree)))


def parameter_counts(model_name, cfg):
    """Parameters per network, from shapes alone (`jax.eval_shape` runs no initialiser)."""
    build = {"vae": vae_params, "wgan_gp": wgan_gp_params, "cyclegan": cyclegan_params,
             "translation": translation_params}[model_name]
    shapes = jax.eval_shape(lambda key: build(key, cfg), jax.random.PRNGKey(0))
    return {name: _count(p) for name, p in shapes.items()}


MODELS = {"vae": (vae_init, vae_train), "wgan_gp": (wgan_gp_init, wgan_gp_train),
          "cyclegan": (cyclegan_init, cyclegan_train), "translation": (translation_init, translation_train)}


def make_bench(model_name, cfg, args):
    if args.device == "gpu" and jax.default_backend() == "cpu":
        raise SystemExit("--device gpu: JAX sees no GPU")
    if args.precision != "float32":
        raise SystemExit("the JAX reference runs in float32 only")
    init, make_train = MODELS[model_name]
    state = {"value": init(jax.random.PRNGKey(0), cfg)}
    train = make_train(cfg)
    if model_name != "cyclegan":  # CycleGAN's two jitted halves sit around the Python pools
        train = jax.jit(train, donate_argnums=0)

    def step(*batch):
        state["value"], state["out"] = train(state["value"], *batch)

    sync = lambda: jax.block_until_ready(state["value"])
    bench = LoopBench(step, jax.device_put, sync, lambda n: synthetic(model_name, n, cfg=cfg), args.batch_size,
                      wait=jax.block_until_ready)
    bench.params = parameter_counts(model_name, cfg)
    layout = "batch-first sequences" if model_name == "translation" else "NHWC"
    bench.settings = {"precision": args.precision, "layout": layout, "mode": "jit"}
    bench.device_peak_mb = lambda: _device_peak_mb()
    return bench


def _device_peak_mb():
    device = jax.devices()[0]
    if device.platform == "cpu":
        return None
    return (device.memory_stats() or {}).get("peak_bytes_in_use", float("nan")) / 2**20
