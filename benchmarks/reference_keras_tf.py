"""keras-io style references: a `keras.Model` subclass with a TensorFlow-only `train_step` (tf.GradientTape).

What the keras-io examples write for each method, run by the same Keras
`fit` on the TensorFlow backend, with the zoo's networks (the zoo's builders,
so the layers are identical). Against these, the zoo's TF numbers measure the
cost of its portable step alone (`zoo.backend`, trackers, the NaN guard):

- VAE: "Variational AutoEncoder" (fchollet), with the zoo's Bernoulli decoder
  and dynamic binarization.
- WGAN-GP: "WGAN-GP overriding `Model.train_step`" (A_K_Nain): `d_steps`
  critic updates with a nested-tape gradient penalty, then one generator update.
- CycleGAN: "CycleGAN" (A_K_Nain): one persistent tape for the four losses,
  each generator's gradient from its own loss terms; fakes go to the
  discriminators without a pool, as in that example.
"""

import keras
import tensorflow as tf
from _bench import synthetic
from keras_harness import BACKEND, KerasBench, check_device, trainable_count

import zoo.registry


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            x = tf.cast(tf.random.uniform(tf.shape(x)) < x, x.dtype)
            z_mean, z_log_var = self.encoder(x, training=True)
            z = z_mean + tf.exp(0.5 * z_log_var) * tf.random.normal(tf.shape(z_mean))
            logits = self.decoder(z, training=True)
            reconstruction_loss = -tf.reduce_mean(
                tf.reduce_sum(x * logits - tf.nn.softplus(logits), axis=(1, 2, 3)))
            kl_loss = tf.reduce_mean(tf.reduce_sum(
                0.5 * (tf.exp(z_log_var) + tf.square(z_mean) - 1.0 - z_log_var), axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {m.name: m.result() for m in self.metrics}


class WGAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim, discriminator_extra_steps=5, gp_weight=10.0):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_steps = discriminator_extra_steps
        self.gp_weight = gp_weight

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # Built here: the tf.function may trace more than once, and variables are created only on the first trace.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def gradient_penalty(self, batch_size, real_images, fake_images):
        alpha = tf.random.uniform([batch_size, 1, 1, 1], 0.0, 1.0)
        interpolated = real_images + alpha * (fake_images - real_images)
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(interpolated)
            pred = self.discriminator(interpolated, training=True)
        grads = gp_tape.gradient(pred, [interpolated])[0]
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
        return tf.reduce_mean((norm - 1.0) ** 2)

    def train_step(self, data):
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        batch_size = tf.shape(real_images)[0]
        for _ in range(self.d_steps):
            random_latent_vectors = tf.random.normal(shape=(batch_size, self.latent_dim))
            with tf.GradientTape() as tape:
                fake_images = self.generator(random_latent_vectors, training=True)
                fake_logits = self.discriminator(fake_images, training=True)
                real_logits = self.discriminator(real_images, training=True)
                d_cost = tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)
                gp = self.gradient_penalty(batch_size, real_images, fake_images)
                d_loss = d_cost + gp * self.gp_weight
            d_gradient = tape.gradient(d_loss, self.discriminator.trainable_variables)
            self.d_optimizer.apply_gradients(zip(d_gradient, self.discriminator.trainable_variables))
        random_latent_vectors = tf.random.normal(shape=(batch_size, self.latent_dim))
        with tf.GradientTape() as tape:
            generated_images = self.generator(random_latent_vectors, training=True)
            gen_img_logits = self.discriminator(generated_images, training=True)
            g_loss = -tf.reduce_mean(gen_img_logits)
        gen_gradient = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(gen_gradient, self.generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}


class CycleGan(keras.Model):
    def __init__(self, generator_G, generator_F, discriminator_X, discriminator_Y, lambda_cycle=10.0,
                 lambda_identity=0.5):
        super().__init__()
        self.gen_G, self.gen_F = generator_G, generator_F
        self.disc_X, self.disc_Y = discriminator_X, discriminator_Y
        self.lambda_cycle = lambda_cycle
        self.lambda_identity = lambda_identity

    def compile(self, optimizers, **kwargs):
        super().compile(**kwargs)
        self.gen_G_optimizer, self.gen_F_optimizer, self.disc_X_optimizer, self.disc_Y_optimizer = optimizers
        for optimizer, net in zip(optimizers, (self.gen_G, self.gen_F, self.disc_X, self.disc_Y)):
            optimizer.build(net.trainable_variables)

    def train_step(self, batch_data):
        real_x, real_y, _ = keras.utils.unpack_x_y_sample_weight(batch_data)
        mse = lambda target, pred: tf.reduce_mean(tf.square(pred - target))
        mae = lambda target, pred: tf.reduce_mean(tf.abs(pred - target))
        with tf.GradientTape(persistent=True) as tape:
            fake_y = self.gen_G(real_x, training=True)
            fake_x = self.gen_F(real_y, training=True)
            cycled_x = self.gen_F(fake_y, training=True)
            cycled_y = self.gen_G(fake_x, training=True)
            same_x = self.gen_F(real_x, training=True)
            same_y = self.gen_G(real_y, training=True)
            disc_real_x = self.disc_X(real_x, training=True)
            disc_fake_x = self.disc_X(fake_x, training=True)
            disc_real_y = self.disc_Y(real_y, training=True)
            disc_fake_y = self.disc_Y(fake_y, training=True)
            total_loss_G = (mse(tf.ones_like(disc_fake_y), disc_fake_y)
                            + self.lambda_cycle * mae(real_y, cycled_y)
                            + self.lambda_cycle * self.lambda_identity * mae(real_y, same_y))
            total_loss_F = (mse(tf.ones_like(disc_fake_x), disc_fake_x)
                            + self.lambda_cycle * mae(real_x, cycled_x)
                            + self.lambda_cycle * self.lambda_identity * mae(real_x, same_x))
            disc_X_loss = 0.5 * mse(tf.ones_like(disc_real_x), disc_real_x) + 0.5 * tf.reduce_mean(disc_fake_x**2)
            disc_Y_loss = 0.5 * mse(tf.ones_like(disc_real_y), disc_real_y) + 0.5 * tf.reduce_mean(disc_fake_y**2)
        for loss, net, optimizer in ((total_loss_G, self.gen_G, self.gen_G_optimizer),
                                     (total_loss_F, self.gen_F, self.gen_F_optimizer),
                                     (disc_X_loss, self.disc_X, self.disc_X_optimizer),
                                     (disc_Y_loss, self.disc_Y, self.disc_Y_optimizer)):
            grads = tape.gradient(loss, net.trainable_variables)
            optimizer.apply_gradients(zip(grads, net.trainable_variables))
        return {"G_loss": total_loss_G, "F_loss": total_loss_F, "D_X_loss": disc_X_loss, "D_Y_loss": disc_Y_loss}


def build(model_name, cfg, jit_compile="auto", steps_per_execution=1):
    """The keras-io model around the zoo registry's networks, compiled like the zoo's (same optimizer settings)."""
    zoo_model = zoo.registry.get(cfg["registry"]).build()
    jit = False if jit_compile == "auto" else jit_compile == "true"  # the zoo's TF default (recipes/_common.py)
    kwargs = {"jit_compile": jit, "steps_per_execution": steps_per_execution}
    if model_name == "vae":
        model = VAE(zoo_model.encoder, zoo_model.decoder)
        model.compile(optimizer=keras.optimizers.Adam(cfg["learning_rate"]), **kwargs)
        return model, {"encoder": zoo_model.encoder, "decoder": zoo_model.decoder}
    adam = lambda: keras.optimizers.Adam(cfg["learning_rate"], beta_1=cfg["beta_1"],
                                         beta_2=cfg.get("beta_2", 0.999))
    if model_name == "wgan_gp":
        model = WGAN(zoo_model.critic, zoo_model.generator, cfg["latent_dim"], cfg["n_critic"], cfg["gp_weight"])
        model.compile(d_optimizer=adam(), g_optimizer=adam(), **kwargs)
        return model, {"generator": zoo_model.generator, "critic": zoo_model.critic}
    nets = {name: getattr(zoo_model, name) for name in zoo_model.players}
    model = CycleGan(*nets.values(), lambda_cycle=cfg["cycle_weight"], lambda_identity=cfg["identity_weight"])
    model.compile(optimizers=[adam() for _ in nets], **kwargs)
    return model, nets


def make_bench(model_name, cfg, args):
    if BACKEND != "tensorflow":
        raise SystemExit(f"the keras-io references are TensorFlow-only; KERAS_BACKEND is {BACKEND!r}")
    check_device(args.device)
    if args.precision != "float32":
        keras.config.set_dtype_policy(args.precision)
    model, nets = build(model_name, cfg, args.jit_compile, args.steps_per_execution)
    bench = KerasBench(model, lambda n: synthetic(model_name, n), args.batch_size, data=args.data)
    bench.params = {name: trainable_count(net) for name, net in nets.items()}
    bench.settings = {"jit_compile": bool(model.jit_compile), "steps_per_execution": model.steps_per_execution,
                      "data": args.data, "precision": args.precision}
    return bench
