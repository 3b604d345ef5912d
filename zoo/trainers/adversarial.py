"""Models with two or more players, each with its own optimizer (GANs, CycleGAN, UNMT)."""

import keras
from keras import ops

from zoo import random as zoo_random
from zoo.trainers.base import ZooModel
from zoo.trainers.precision import (apply_gradients, needs_loss_scaling, scaled_value_and_grad, share_gradients,
                                    with_loss_scaling)


@keras.saving.register_keras_serializable(package="zoo")
class OptimizerGroup(keras.optimizers.Optimizer):
    """Several named optimizers that travel as one.

    Keras' trainer knows a single `model.optimizer`; on JAX its variables are
    threaded through the stateless step. The group exposes all its members'
    variables as its own, so every player's optimizer state travels (and is
    saved) with the model. Apply gradients through a member: `group["critic"]`.
    Under loss scaling each member is its own `LossScaleOptimizer`, whose
    scale and step counter are among those variables.
    """

    def __init__(self, optimizers, name="optimizer_group", **kwargs):
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.members = {key: keras.optimizers.get(opt) for key, opt in optimizers.items()}

    def __getitem__(self, key):
        return self.members[key]

    @property
    def optimizers(self):  # read by keras.callbacks.LearningRateScheduler
        return list(self.members.values())

    @property
    def variables(self):
        return self._variables[:] + [v for opt in self.members.values() for v in opt.variables]

    @property
    def learning_rate(self):
        raise AttributeError(
            "An OptimizerGroup has one learning rate per member: use "
            f"group[name].learning_rate with name in {list(self.members)}."
        )

    @learning_rate.setter
    def learning_rate(self, value):
        if value != 0.0:  # the base class sets 0.0 once in __init__
            raise AttributeError("Set the learning rate on a member: group[name].learning_rate")

    def build_members(self, variables):
        """Build each member on its player's variables: `{name: trainable_variables}`."""
        for key, opt in self.members.items():
            if not opt.built:
                opt.build(variables[key])
        super().build([])

    def build(self, var_list):
        if not self.built:
            raise ValueError(
                "An OptimizerGroup is built by its model's compile(), which knows which "
                "variables belong to which player; call compile() before fit()."
            )

    def apply(self, grads, trainable_variables=None):
        raise ValueError(
            f"Apply gradients through one member, e.g. group['critic'].apply(...); "
            f"members: {list(self.members)}."
        )

    def finalize_variable_values(self, var_list):
        pass  # members keep no EMA or averaged copies

    def get_config(self):
        return {
            "name": self.name,
            "optimizers": {k: keras.optimizers.serialize(o) for k, o in self.members.items()},
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizers"] = {
            k: keras.optimizers.deserialize(o, custom_objects=custom_objects)
            for k, o in config["optimizers"].items()
        }
        return cls(**config)


class AdversarialModel(ZooModel):
    """Players (sub-models named in `players`) each trained by its own optimizer.

    `compile(optimizers={"generator": ..., "critic": ...}, n_critic=5)` sets up
    the group; a method's `train_step` then calls `player_step(name, loss_fn,
    *args)` for each update, `n_critic` critic updates per generator update.
    Noise comes from `sample_latent` / `sample_uniform`, which use a
    `keras.random.SeedGenerator` so the JAX step stays pure.

    Under the `mixed_float16` policy `compile` wraps each player's optimizer in
    its own `LossScaleOptimizer` (Keras would wrap the whole group, which then
    has no members to index); `auto_scale_loss=False` keeps them unwrapped.
    """

    players = ("generator", "critic")

    def __init__(self, latent_dim, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.n_critic = 1

    def compile(self, optimizers=None, n_critic=1, auto_scale_loss=True, **kwargs):
        if optimizers is None or set(optimizers) != set(self.players):
            raise ValueError(
                f"compile() needs one optimizer per player {list(self.players)}; "
                f"got {None if optimizers is None else list(optimizers)}."
            )
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be a positive integer; got {n_critic}.")
        if auto_scale_loss and needs_loss_scaling(self.dtype_policy):
            optimizers = {name: with_loss_scaling(opt, name=f"{name}_loss_scale_optimizer")
                          for name, opt in optimizers.items()}
        group = OptimizerGroup(optimizers)
        group.build_members({name: getattr(self, name).trainable_variables for name in self.players})
        self.n_critic = int(n_critic)
        super().compile(optimizer=group, auto_scale_loss=False, **kwargs)

    def compile_for_finetuning(self):
        self.compile(optimizers={name: keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)
                                 for name in self.players}, n_critic=self.n_critic)

    def get_compile_config(self):
        if not self.compiled:
            return None
        return {
            "optimizers": {k: keras.optimizers.serialize(o) for k, o in self.optimizer.members.items()},
            "n_critic": self.n_critic,
        }

    def compile_from_config(self, config):
        optimizers = {k: keras.optimizers.deserialize(o) for k, o in config["optimizers"].items()}
        self.compile(optimizers=optimizers, n_critic=config["n_critic"])

    def player_step(self, name, loss_fn, *args):
        """One gradient update of player `name` on `loss_fn(*args) -> (loss, terms)`; returns `terms`."""
        return self.joint_step((name,), loss_fn, *args)

    def joint_step(self, names, loss_fn, *args):
        """One gradient update of the players `names` on one loss `loss_fn(*args) -> (loss, terms)`.

        The loss is differentiated once, w.r.t. all their variables, and each
        player's optimizer applies its share (CycleGAN's two generators: with
        Adam, per parameter, that is one joint Adam). Under loss scaling the
        shares follow `share_gradients`: one overflow skips the step for all.
        Returns `terms`.
        """
        groups = [getattr(self, name).trainable_variables for name in names]
        optimizers = [self.optimizer[name] for name in names]
        variables = [v for group in groups for v in group]
        (_, terms), grads = scaled_value_and_grad(optimizers[0], loss_fn, variables)(*args)
        shares, start = [], 0
        for group in groups:
            shares.append(grads[start:start + len(group)])
            start += len(group)
        for optimizer, share, group in zip(optimizers, share_gradients(optimizers, shares), groups):
            apply_gradients(optimizer, share, group)
        return terms

    def sample_latent(self, batch_size):
        """Generator noise z ~ N(0, I) of shape (batch_size, latent_dim)."""
        return zoo_random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def sample_uniform(self, shape):
        """U(0, 1) noise, e.g. the interpolation weights of a gradient penalty."""
        return zoo_random.uniform(shape, seed=self.seed_generator)

    def sample(self, n, seed=None):
        """`n` generator outputs as numpy; `seed` fixes the noise."""
        z = keras.random.normal((n, self.latent_dim), seed=seed if seed is not None else self.seed_generator)
        return ops.convert_to_numpy(self.generator(z, training=False))
