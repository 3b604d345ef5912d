"""Hand-written JAX training loops for the zoo's networks: pure functions, no Keras, no Flax, no Optax.

JAX idiom: parameters in nested dicts, NHWC `lax` convolutions, Adam written
out (Kingma & Ba 2015, Algorithm 1, with Keras' epsilon 1e-7), one `jax.jit`
step with the state donated, PRNG keys carried in the state. The networks
have the zoo's layer sizes (parameter counts equal the zoo's; the test checks)
and each step does the zoo step's work (see reference_torch.py). CycleGAN's
50-image pools live outside the compiled steps, as Python lists of arrays.
"""


import jax
import jax.numpy as jnp
import numpy as np
from _bench import ImagePool, LoopBench, synthetic

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


# Bench ------------------------------------------------------------------------------------------

def _count(tree):
    return int(sum(np.prod(leaf.shape) for leaf in jax.tree.leaves(tree)))


def parameter_counts(model_name, cfg):
    """Parameters per network, from shapes alone (`jax.eval_shape` runs no initialiser)."""
    build = {"vae": vae_params, "wgan_gp": wgan_gp_params, "cyclegan": cyclegan_params}[model_name]
    shapes = jax.eval_shape(lambda key: build(key, cfg), jax.random.PRNGKey(0))
    return {name: _count(p) for name, p in shapes.items()}


MODELS = {"vae": (vae_init, vae_train), "wgan_gp": (wgan_gp_init, wgan_gp_train),
          "cyclegan": (cyclegan_init, cyclegan_train)}


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
    bench = LoopBench(step, jax.device_put, sync, lambda n: synthetic(model_name, n), args.batch_size,
                      wait=jax.block_until_ready)
    bench.params = parameter_counts(model_name, cfg)
    bench.settings = {"precision": args.precision, "layout": "NHWC", "mode": "jit"}
    bench.device_peak_mb = lambda: _device_peak_mb()
    return bench


def _device_peak_mb():
    device = jax.devices()[0]
    if device.platform == "cpu":
        return None
    return (device.memory_stats() or {}).get("peak_bytes_in_use", float("nan")) / 2**20
