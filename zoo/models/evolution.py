"""Evolution for reinforcement learning: a policy's weights found by perturbation and selection, no gradients.

The lecture: "updating based on the gradients for RL is hard (credit assignment); estimate the direction to
minimize the loss by random perturbations: perturb the weights and let the new agents roam in the
environment; highly parallelizable".

- Deep GA: Such, Madhavan, Conti, Lehman, Stanley & Clune, "Deep Neuroevolution: Genetic Algorithms Are a
  Competitive Alternative for Training Deep Neural Networks for Reinforcement Learning", arXiv:1712.06567,
  2017 (Algorithm 1): truncation selection, Gaussian mutation, one elite chosen by re-evaluation. Two
  differences: generation 0 mutates one initialisation (not N independent ones), and the elite plays its
  episodes again each generation (its fitness is measured anew, not copied).
- OpenAI-ES: Salimans, Ho, Chen, Sidor & Sutskever, "Evolution Strategies as a Scalable Alternative to
  Reinforcement Learning", arXiv:1703.03864, 2017 (Algorithm 1 with the reference code's choices):
  antithetic Gaussian perturbations, centred-rank fitness shaping, Adam on the estimated gradient, L2 decay
  (ties share their rank: `centered_ranks`).

Both search over the flat vector of any Keras policy's trainable weights (`flat_weights`). A generation's
members act in one batched forward pass each environment step (`population_logits`: a stacked forward for
the zoo's `Policy`, `keras.ops.vectorized_map` for any other policy), so the same code runs on every backend.
The evolution itself is numpy: it is a few vector operations a generation, and its noise is a pure function
of (seed, generation), so a stopped run resumes to the weights an uninterrupted one reaches.
"""

import time

import keras
import numpy as np
from keras import ops

from zoo.errors import InputError

# Episode seeds: a training generation draws its seeds below this; evaluations use this and the ones after it.
EVALUATION_SEED = 1_000_000

# The environments of the bundled policies: gymnasium id and options, the policy's shape, the episode cap,
# what the score counts and the aim for the mean score over 100 evaluation episodes.
ENVIRONMENTS = {
    "cartpole": {"id": "CartPole-v1", "kwargs": {}, "observation_dim": 4, "num_actions": 2, "hidden": (16,),
                 "max_steps": 500, "score": "steps balanced", "target": 475.0},
    "flappybird": {"id": "FlappyBird-v0", "kwargs": {"use_lidar": False}, "observation_dim": 12,
                   "num_actions": 2, "hidden": (32, 32), "max_steps": 10_000, "score": "pipes passed",
                   "target": 50.0},
}


@keras.saving.register_keras_serializable(package="zoo")
class Policy(keras.Model):
    """A feed-forward policy for an environment with discrete actions: observation -> action logits.

    `act(observation)` takes the most likely action (evolved policies are deterministic, as in both
    papers). `environment` names the gymnasium environment it was trained in (and `environment_kwargs` its
    options), so `zoo play` can make it.
    """

    def __init__(self, observation_dim, num_actions, hidden=(64, 64), environment=None, environment_kwargs=None,
                 **kwargs):
        super().__init__(**kwargs)
        if int(observation_dim) < 1 or int(num_actions) < 2:
            raise InputError(f"a policy needs observation_dim >= 1 and num_actions >= 2; got {observation_dim} "
                             f"and {num_actions}")
        self.observation_dim, self.num_actions = int(observation_dim), int(num_actions)
        self.hidden = tuple(int(h) for h in hidden)
        self.environment = environment
        self.environment_kwargs = dict(environment_kwargs or {})
        self.hidden_layers = [keras.layers.Dense(h, activation="tanh", name=f"hidden_{i}")
                              for i, h in enumerate(self.hidden)]
        self.logits = keras.layers.Dense(self.num_actions, name="logits")
        self.build((None, self.observation_dim))

    def build(self, input_shape):
        shape = (None, self.observation_dim)
        for layer in self.hidden_layers:
            layer.build(shape)
            shape = (None, layer.units)
        self.logits.build(shape)
        self.built = True

    def call(self, observations):
        h = observations
        for layer in self.hidden_layers:
            h = layer(h)
        return self.logits(h)

    def act(self, observation):
        """The action for one observation `(observation_dim,)` (an int), or for a batch `(n, observation_dim)`
        (an int array)."""
        x = check_observations(observation, self.observation_dim)
        actions = np.argmax(ops.convert_to_numpy(self(x.reshape(-1, self.observation_dim))), axis=-1)
        return int(actions[0]) if x.ndim == 1 else actions

    def get_config(self):
        return {**super().get_config(), "observation_dim": self.observation_dim, "num_actions": self.num_actions,
                "hidden": list(self.hidden), "environment": self.environment,
                "environment_kwargs": self.environment_kwargs}


def check_observations(observation, observation_dim):
    """`observation` as float32 `(observation_dim,)` or `(n, observation_dim)`, or a clear error."""
    x = np.asarray(observation, dtype="float32")
    if x.ndim not in (1, 2) or x.shape[-1] != observation_dim:
        raise InputError(f"expected an observation of shape ({observation_dim},) or a batch ({observation_dim} "
                         f"values a row) of shape (n, {observation_dim}); got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError("the observation contains NaN or infinite values")
    return x


def flat_weights(policy):
    """The policy's trainable weights as one float32 vector (the space both methods search)."""
    if not policy.trainable_variables:
        raise InputError(f"{type(policy).__name__} has no trainable weights to evolve; build it first")
    return np.concatenate([ops.convert_to_numpy(v).ravel() for v in policy.trainable_variables]).astype("float32")


def set_flat_weights(policy, vector):
    """Assign a vector from `flat_weights`' space to the policy's trainable weights."""
    for variable, value in zip(policy.trainable_variables, unflatten(policy, vector)):
        variable.assign(value)


def unflatten(policy, vectors):
    """Vectors `(..., n)` of `flat_weights`' space as the policy's weights, each `(..., *shape)`."""
    vectors = np.asarray(vectors, dtype="float32")
    shapes = [tuple(v.shape) for v in policy.trainable_variables]
    sizes = [int(np.prod(s)) for s in shapes]
    if vectors.shape[-1:] != (sum(sizes),):
        raise InputError(f"{type(policy).__name__} has {sum(sizes)} trainable weights; got vectors of shape "
                         f"{vectors.shape}")
    parts = np.split(vectors, np.cumsum(sizes)[:-1], axis=-1)
    return [part.reshape(*vectors.shape[:-1], *shape) for part, shape in zip(parts, shapes)]


def population_logits(policy, population, observations):
    """Each member's action logits for its own observations, in one pass.

    Args:
        policy: the Keras policy whose weights the members are.
        population: `(members, n)` vectors of `flat_weights`' space.
        observations: `(members, batch, observation_dim)`: member i acts on row i.

    Returns:
        `(members, batch, num_actions)` numpy logits.
    """
    weights = [ops.convert_to_tensor(w) for w in unflatten(policy, population)]
    x = ops.convert_to_tensor(np.asarray(observations, dtype="float32"))
    layers = [*policy.hidden_layers, policy.logits] if isinstance(policy, Policy) else []
    if layers and len(weights) == 2 * len(layers):  # the stacked forward: one batched matmul a layer a member
        for i, layer in enumerate(layers):
            x = ops.einsum("mbi,mio->mbo", x, weights[2 * i]) + weights[2 * i + 1][:, None, :]
            if layer is not policy.logits:
                x = ops.tanh(x)
        return ops.convert_to_numpy(x)
    fixed = [ops.convert_to_tensor(v) for v in policy.non_trainable_variables]
    return ops.convert_to_numpy(ops.vectorized_map(
        lambda member: policy.stateless_call(list(member[:-1]), fixed, member[-1])[0], (*weights, x)))


class Episodes:
    """What a population did: `returns`, `scores` and `lengths`, each `(members, episodes)`. A score is the
    environment's own (`info["score"]`, e.g. Flappy Bird's pipes passed) where it reports one, else the
    return (CartPole's steps balanced)."""

    def __init__(self, returns, scores, lengths):
        self.returns, self.scores, self.lengths = returns, scores, lengths

    @property
    def steps(self):
        """Environment steps taken in all."""
        return int(self.lengths.sum())


class Arena:
    """The environments a population plays in, made by `make_env` and kept between generations.

    `play(policy, population, seeds)`: every member plays one episode from each seed (the same seeds for all
    members: common random numbers) at once. Each environment step, the members with an episode still
    running choose their actions in one batched pass (`population_logits`), and only running episodes are
    stepped. An episode ends when the environment ends it or after `max_steps` steps. (A gymnasium vector
    environment steps every copy each time and starts a new episode where one ends; here each copy plays
    exactly one episode and a finished one is left alone.)
    """

    def __init__(self, make_env, max_steps=10_000):
        if int(max_steps) < 1:
            raise InputError(f"max_steps must be a positive number of steps; got {max_steps}")
        self.make_env, self.max_steps, self.envs = make_env, int(max_steps), []

    def play(self, policy, population, seeds):
        population = np.asarray(population, dtype="float32")
        if population.ndim != 2 or len(population) < 1:
            raise InputError(f"a population is a (members, weights) array; got shape {population.shape}")
        members, episodes = len(population), len(seeds)
        if episodes < 1:
            raise InputError("a play needs at least one episode seed")
        while len(self.envs) < members * episodes:
            self.envs.append(self._make(policy))
        envs = self.envs[:members * episodes]
        observations = np.stack([env.reset(seed=int(seeds[i % episodes]))[0] for i, env in enumerate(envs)])
        observations = observations.astype("float32")
        returns, scores = np.zeros(len(envs)), np.zeros(len(envs))
        lengths = np.zeros(len(envs), dtype="int64")
        running = np.ones(len(envs), dtype=bool)
        while running.any():
            acting = np.flatnonzero(running.reshape(members, episodes).any(axis=1))  # an episode still going
            # Padded to a power of two, so the batched pass sees few shapes (JAX compiles one a shape).
            padded = np.resize(acting, min(members, 1 << int(np.ceil(np.log2(len(acting))))))
            logits = population_logits(policy, population[padded],
                                       observations.reshape(members, episodes, -1)[padded])
            actions = np.zeros((members, episodes), dtype="int64")
            actions[acting] = np.argmax(logits[:len(acting)], axis=-1)
            actions = actions.ravel()
            for i in np.flatnonzero(running):
                observation, reward, terminated, truncated, info = envs[i].step(int(actions[i]))
                observations[i] = observation
                returns[i] += reward
                lengths[i] += 1
                scores[i] = info["score"] if "score" in info else returns[i]
                running[i] = not (terminated or truncated or lengths[i] >= self.max_steps)
        shape = (members, episodes)
        return Episodes(returns.reshape(shape), scores.reshape(shape), lengths.reshape(shape))

    def _make(self, policy):
        env = self.make_env()
        space = env.observation_space
        dim = getattr(policy, "observation_dim", None)
        if dim is not None and tuple(space.shape) != (dim,):
            raise InputError(f"the environment's observations have shape {tuple(space.shape)} but the policy "
                             f"takes ({dim},)")
        actions = getattr(env.action_space, "n", None)
        if actions is None:
            raise InputError(f"evolution here needs an environment with discrete actions; got {env.action_space}")
        if getattr(policy, "num_actions", actions) != actions:
            raise InputError(f"the environment has {actions} actions but the policy chooses among "
                             f"{policy.num_actions}")
        return env

    def close(self):
        for env in self.envs:
            env.close()
        self.envs = []


class Evolution:
    """What the two methods share: the policy they evolve, the generation count, the environment steps spent,
    seeded noise and episode seeds a pure function of (seed, generation), and their state for resuming."""

    def __init__(self, policy, population_size, episodes, seed):
        if int(population_size) < 2:
            raise InputError(f"a population needs at least 2 members; got {population_size}")
        if int(episodes) < 1:
            raise InputError(f"each member needs at least one episode a generation; got {episodes}")
        self.policy, self.population_size = policy, int(population_size)
        self.episodes, self.seed = int(episodes), int(seed)
        self.start = flat_weights(policy)
        self.generation, self.environment_steps = 0, 0

    def random(self):
        """This generation's noise: the same on every backend and resume."""
        return np.random.default_rng([self.seed, self.generation])

    def seeds(self, generation=None):
        """The episode seeds of a generation (default: this one), drawn in turn by its plays: below
        `EVALUATION_SEED`, so no training episode is an evaluation episode."""
        return np.random.default_rng([self.seed, self.generation if generation is None else generation, 1])

    def play(self, arena, population, seeds, episodes=None):
        seeds = seeds.integers(EVALUATION_SEED, size=episodes or self.episodes)
        result = arena.play(self.policy, population, seeds)
        self.environment_steps += result.steps
        return result

    def training_seeds(self, generations):
        """Every episode seed that `generations` generations play (a recipe's `training_data`)."""
        return np.concatenate([self.seeds(g).integers(EVALUATION_SEED, size=self.episodes)
                               for g in range(generations)])

    def state(self):
        """`(record, arrays)` to save: enough to go on from this generation."""
        return {"generation": self.generation, "environment_steps": self.environment_steps}, {}

    def load_state(self, record, arrays):
        self.generation, self.environment_steps = int(record["generation"]), int(record["environment_steps"])


class GeneticAlgorithm(Evolution):
    """Deep GA (Such et al. 2017, Algorithm 1) over a Keras policy's weights.

    Each generation: the elite is carried over unchanged and `population_size - 1` children are mutants
    (`theta + mutation_power * noise`) of parents drawn uniformly from the previous generation's best
    `parents` (truncation selection). The elite is then chosen among the best `elite_candidates` (the previous
    elite among them) by the mean return of `elite_episodes` more episodes each, so a lucky episode does not
    make an elite. Generation 0 mutates the policy's initial weights. After each generation the policy holds
    the elite. Fitness is the mean return; the logs also give the elite's mean score (`elite_score`: the
    environment's own, e.g. pipes passed).
    """

    def __init__(self, policy, population_size=64, parents=10, mutation_power=0.05, elite_candidates=10,
                 elite_episodes=30, episodes=1, seed=0):
        super().__init__(policy, population_size, episodes, seed)
        if not 1 <= int(parents) <= self.population_size:
            raise InputError(f"parents must be between 1 and the population size {population_size}; got {parents}")
        if not 2 <= int(elite_candidates) <= self.population_size:
            raise InputError(f"elite_candidates must be between 2 (the elite and a challenger) and the population "
                             f"size {population_size}; got {elite_candidates}")
        if int(elite_episodes) < 1:
            raise InputError(f"elite_episodes must be at least 1; got {elite_episodes}")
        if not float(mutation_power) > 0:
            raise InputError(f"mutation_power must be positive; got {mutation_power}")
        self.parents, self.elite_candidates = int(parents), int(elite_candidates)
        self.mutation_power, self.elite_episodes = float(mutation_power), int(elite_episodes)
        self.best = self.start[None]  # the previous generation's best `parents` members, the elite first
        self.elite_return = self.elite_score = None

    def step(self, arena):
        """One generation; returns its logs."""
        rng = self.random()
        if self.generation == 0:
            parents = np.repeat(self.best, self.population_size, axis=0)
            elite = None
        else:
            elite = self.best[0]
            parents = np.concatenate([elite[None], self.best[rng.integers(len(self.best),
                                                                           size=self.population_size - 1)]])
        noise = rng.standard_normal(parents.shape, dtype="float32")
        if elite is not None:
            noise[0] = 0.0  # the elite goes on unchanged
        population = parents + self.mutation_power * noise
        seeds = self.seeds()
        fitness = self.play(arena, population, seeds).returns.mean(axis=1)
        order = np.argsort(-fitness, kind="stable")
        candidates = list(order[:self.elite_candidates])
        if elite is not None and 0 not in candidates:
            candidates[-1] = 0
        checked = self.play(arena, population[candidates], seeds, self.elite_episodes)
        best = int(np.argmax(checked.returns.mean(axis=1)))
        winner = candidates[best]
        others = [i for i in order if i != winner][:self.parents - 1]  # the elite and the next best: T parents
        self.best = np.concatenate([population[winner][None], population[others]])
        self.elite_return = float(checked.returns[best].mean())
        self.elite_score = float(checked.scores[best].mean())
        set_flat_weights(self.policy, self.best[0])
        self.generation += 1
        return {"generation": self.generation, "environment_steps": self.environment_steps,
                "best_fitness": float(fitness.max()), "mean_fitness": float(fitness.mean()),
                "elite_return": self.elite_return, "elite_score": self.elite_score}

    def training_seeds(self, generations):
        seeds = []
        for g in range(generations):
            draw = self.seeds(g)
            seeds += [draw.integers(EVALUATION_SEED, size=self.episodes),
                      draw.integers(EVALUATION_SEED, size=self.elite_episodes)]
        return np.concatenate(seeds)

    def state(self):
        record, arrays = super().state()
        return {**record, "elite_return": self.elite_return, "elite_score": self.elite_score}, {"best": self.best}

    def load_state(self, record, arrays):
        super().load_state(record, arrays)
        self.best, self.elite_return, self.elite_score = arrays["best"], record["elite_return"], record["elite_score"]
        set_flat_weights(self.policy, self.best[0])


def centered_ranks(values):
    """Fitness shaping of Salimans et al.: each value's rank, scaled to [-0.5, 0.5]. Tied values share their
    average rank, so a pair of antithetic members that tie (both at CartPole's cap, say) adds nothing to the
    gradient; the reference code breaks ties by position, which turns such a pair into noise."""
    from scipy.stats import rankdata

    values = np.asarray(values).ravel()
    return ((rankdata(values, method="average") - 1) / (len(values) - 1) - 0.5).astype("float32")


class EvolutionStrategy(Evolution):
    """OpenAI-ES (Salimans et al. 2017) over a Keras policy's weights.

    Each generation: `population_size / 2` noise vectors, each tried both ways (`theta +- noise_std * noise`,
    antithetic sampling); the returns become centred ranks; the gradient estimate is the rank-weighted sum of
    the noise over the population size, as in the reference code; `optimizer` (default Adam at
    `learning_rate`) steps along it, with L2 decay `l2_coefficient * theta`. After each generation the policy
    holds theta, whose own return and score on the generation's episodes are logged (`theta_return`,
    `theta_score`).
    """

    def __init__(self, policy, population_size=64, noise_std=0.05, learning_rate=0.01, l2_coefficient=0.005,
                 episodes=1, seed=0, optimizer=None):
        super().__init__(policy, population_size, episodes, seed)
        if self.population_size % 2:
            raise InputError(f"antithetic sampling needs an even population size; got {population_size}")
        if not float(noise_std) > 0:
            raise InputError(f"noise_std must be positive; got {noise_std}")
        self.noise_std, self.l2_coefficient = float(noise_std), float(l2_coefficient)
        self.theta = keras.Variable(self.start, name="theta")
        self.optimizer = optimizer or keras.optimizers.Adam(learning_rate)
        self.optimizer.build([self.theta])
        self.theta_return = self.theta_score = None

    def step(self, arena):
        """One generation; returns its logs."""
        rng = self.random()
        theta = ops.convert_to_numpy(self.theta)
        noise = rng.standard_normal((self.population_size // 2, len(theta)), dtype="float32")
        population = np.concatenate([theta + self.noise_std * noise, theta - self.noise_std * noise, theta[None]])
        episodes = self.play(arena, population, self.seeds())
        returns = episodes.returns.mean(axis=1)
        fitness, self.theta_return = returns[:-1], float(returns[-1])
        self.theta_score = float(episodes.scores[-1].mean())
        ranks = centered_ranks(fitness).reshape(2, -1)
        gradient = (ranks[0] - ranks[1]) @ noise / self.population_size
        self.optimizer.apply([ops.convert_to_tensor(-gradient + self.l2_coefficient * theta)], [self.theta])
        set_flat_weights(self.policy, ops.convert_to_numpy(self.theta))
        self.generation += 1
        return {"generation": self.generation, "environment_steps": self.environment_steps,
                "best_fitness": float(fitness.max()), "mean_fitness": float(fitness.mean()),
                "theta_return": self.theta_return, "theta_score": self.theta_score}

    def state(self):
        record, arrays = super().state()
        arrays = {"theta": ops.convert_to_numpy(self.theta),
                  **{f"optimizer_{i:03d}": ops.convert_to_numpy(v) for i, v in enumerate(self.optimizer.variables)}}
        return {**record, "theta_return": self.theta_return, "theta_score": self.theta_score}, arrays

    def load_state(self, record, arrays):
        super().load_state(record, arrays)
        self.theta.assign(arrays["theta"])
        for i, variable in enumerate(self.optimizer.variables):
            variable.assign(arrays[f"optimizer_{i:03d}"])
        self.theta_return, self.theta_score = record["theta_return"], record["theta_score"]
        set_flat_weights(self.policy, arrays["theta"])


def evolve(method, arena, generations, *, until=None, state=None, save_every=300.0, max_seconds=None, log=None):
    """Run `method.step(arena)` until `generations` generations are done, or sooner where `until(logs)` says so
    of a generation's logs (say, a target score reached); returns the logs of every generation.

    With a `zoo.resume.TrainingState` (restore it with `restore_evolution` first), the state is saved every
    `save_every` seconds, at the end, and when training stops early: after `max_seconds` seconds of this
    call or at SIGINT/SIGTERM (once the generation under way is done). An early stop raises
    `TrainingStopped` once the state is saved; `evolve` again with the restored state continues (also a
    finished one, to more generations or a higher aim).
    """
    from zoo.resume import TrainingStopped, stop_on_signals

    history = list(state.record.get("history", [])) if state is not None else []
    seconds = state.seconds if state is not None else 0.0
    stopper = _Stopper()
    started = last_save = time.monotonic()
    done = method.generation >= generations or bool(history and until is not None and until(history[-1]))
    with stop_on_signals(stopper):
        while not done:
            logs = method.step(arena)
            now = time.monotonic()
            logs["seconds"] = round(seconds + now - started, 2)
            history.append(logs)
            if log is not None:
                log(logs)
            if stopper.signal:
                stopped = stopper.signal
            elif max_seconds is not None and now - started >= max_seconds:
                stopped = f"the time limit ({max_seconds:g} s)"
            else:
                stopped = None
            done = method.generation >= generations or bool(until is not None and until(logs))
            if state is not None and (done or stopped or now - last_save >= save_every):
                record, arrays = method.state()
                state.record.update(record, history=history)
                state.arrays, state.step = arrays, method.generation
                state.position = {"generation": method.generation, "finished": done}
                state.seconds = seconds + now - started
                state.save(None)
                last_save = now
            if stopped and not done:
                where = f"; the state is saved in {state.path}" if state is not None else " (no state was kept)"
                raise TrainingStopped(f"evolution stopped by {stopped} after generation {method.generation}{where}",
                                      method.generation, state and state.path)
    return history


class _Stopper:
    signal = None


def restore_evolution(method, state):
    """Continue `method` from a `TrainingState` saved by `evolve` (refuses another run's or a damaged one)."""
    state.restore(None)
    try:
        method.load_state(state.record, state.arrays)
    except KeyError as e:
        raise InputError(f"{state.path} holds no {type(method).__name__} state (it lacks {e}); was it saved by "
                         "another method or optimizer?") from None
    return method


def evaluate(policy, arena, episodes=100):
    """The policy's scores on `episodes` fixed evaluation episodes (seeds from `EVALUATION_SEED` on, which no
    training generation draws): an `Episodes` of one member."""
    if int(episodes) < 1:
        raise InputError(f"an evaluation needs at least one episode; got {episodes}")
    seeds = np.arange(EVALUATION_SEED, EVALUATION_SEED + int(episodes))
    return arena.play(policy, flat_weights(policy)[None], seeds)


def make_environment(policy_or_id, render_mode=None, **kwargs):
    """The gymnasium environment a policy was trained in (`policy.environment`), or one named by its id."""
    try:
        import gymnasium
    except ImportError:
        raise ImportError("evolution in environments needs gymnasium: pip install 'keras-zoo[rl]'") from None
    name = getattr(policy_or_id, "environment", policy_or_id)
    options = {**getattr(policy_or_id, "environment_kwargs", {}), **kwargs}
    if not isinstance(name, str):
        raise InputError(f"{type(policy_or_id).__name__} names no environment; pass a gymnasium id "
                         "(e.g. 'CartPole-v1')")
    if name.startswith("FlappyBird"):
        try:
            import flappy_bird_gymnasium  # noqa: F401  registers FlappyBird-v0
        except ImportError:
            raise ImportError("Flappy Bird needs flappy-bird-gymnasium: pip install 'keras-zoo[rl]'") from None
    return gymnasium.make(name, render_mode=render_mode, **options)


def policy_for(environment):
    """An untrained `Policy` for one of `ENVIRONMENTS` ('cartpole', 'flappybird')."""
    if environment not in ENVIRONMENTS:
        raise InputError(f"no policy settings for {environment!r}; known: {', '.join(sorted(ENVIRONMENTS))}")
    settings = ENVIRONMENTS[environment]
    return Policy(settings["observation_dim"], settings["num_actions"], hidden=settings["hidden"],
                  environment=settings["id"], environment_kwargs=settings["kwargs"])


def play(policy, episodes=1, seed=EVALUATION_SEED, max_steps=10_000, gif=None, fps=30):
    """Play `episodes` episodes one after another (seeds `seed`, `seed + 1`, ...); returns each one's score
    (the environment's `info["score"]` where it has one, else the return). `gif`: a path where the first
    episode is written as an animated GIF (rendered off-screen; its first `GIF_FRAMES` frames, at most
    `GIF_WIDTH` pixels wide, so a long episode does not fill the memory)."""
    import os

    if int(episodes) < 1:
        raise InputError(f"episodes must be at least 1; got {episodes}")
    if int(max_steps) < 1:
        raise InputError(f"max_steps must be at least 1; got {max_steps}")
    if gif is not None:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renders without a screen
    scores, frames = [], []
    env = make_environment(policy, render_mode="rgb_array" if gif is not None else None)
    try:
        for episode in range(int(episodes)):
            observation, _ = env.reset(seed=int(seed) + episode)
            total, score, done, steps = 0.0, 0.0, False, 0
            while not done:
                if gif is not None and episode == 0 and len(frames) < GIF_FRAMES:
                    frames.append(_gif_frame(env.render()))
                observation, reward, terminated, truncated, info = env.step(policy.act(observation))
                total += reward
                steps += 1
                score = info["score"] if "score" in info else total
                done = terminated or truncated or steps >= max_steps
            scores.append(float(score))
    finally:
        env.close()
    if gif is not None:
        frames[0].save(gif, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    return scores


GIF_FRAMES, GIF_WIDTH = 900, 320  # 30 seconds at 30 frames a second


def _gif_frame(pixels):
    from PIL import Image

    image = Image.fromarray(pixels)
    if image.width > GIF_WIDTH:
        image = image.resize((GIF_WIDTH, round(image.height * GIF_WIDTH / image.width)), Image.BILINEAR)
    return image
