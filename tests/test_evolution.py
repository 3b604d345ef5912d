"""Evolution for RL (Deep GA, OpenAI-ES) on this backend: the flat weight space, the batched forward of a
population, both methods on a landscape with a known top, the arena's episodes in real environments, resuming,
checkpoints, `play` and its GIF, bad inputs, and the quick recipe."""

import json

import keras
import numpy as np
import pytest

import zoo
from conftest import load_recipe
from zoo.errors import InputError
from zoo.models import evolution
from zoo.models.evolution import (
    Arena,
    Episodes,
    EvolutionStrategy,
    GeneticAlgorithm,
    Policy,
    centered_ranks,
    flat_weights,
    population_logits,
    set_flat_weights,
)
from zoo.resume import TrainingState, TrainingStopped

pytest.importorskip("gymnasium")


class Landscape:
    """An arena whose return is -|w - top|^2 for every episode: the methods' algebra, without an environment."""

    def __init__(self, top):
        self.top, self.calls = top, 0

    def play(self, policy, population, seeds):
        self.calls += 1
        returns = -((np.asarray(population) - self.top) ** 2).sum(axis=1)
        returns = np.repeat(returns[:, None], len(seeds), axis=1)
        return Episodes(returns, returns, np.ones(returns.shape, dtype="int64"))


def small_policy(seed=0):
    keras.utils.set_random_seed(seed)
    return Policy(4, 2, hidden=(5,), environment="CartPole-v1")


def cartpole_arena(max_steps=500):
    return Arena(lambda: evolution.make_environment("CartPole-v1"), max_steps=max_steps)


def test_the_flat_weights_round_trip_in_the_policys_order():
    policy = small_policy()
    vector = flat_weights(policy)
    assert vector.shape == (4 * 5 + 5 + 5 * 2 + 2,) and vector.dtype == np.float32
    set_flat_weights(policy, np.arange(len(vector), dtype="float32"))
    kernel = keras.ops.convert_to_numpy(policy.hidden_layers[0].kernel)
    np.testing.assert_array_equal(kernel.ravel(), np.arange(20))
    with pytest.raises(InputError, match="37 trainable weights"):
        set_flat_weights(policy, np.zeros(5))


def test_a_population_acts_in_one_pass_as_each_member_would_alone():
    policy = small_policy()
    rng = np.random.default_rng(0)
    population = rng.normal(size=(3, len(flat_weights(policy)))).astype("float32")
    observations = rng.normal(size=(3, 4, 4)).astype("float32")
    together = population_logits(policy, population, observations)
    for member, (weights, x) in enumerate(zip(population, observations)):
        set_flat_weights(policy, weights)
        alone = keras.ops.convert_to_numpy(policy(x))
        np.testing.assert_allclose(together[member], alone, rtol=1e-5, atol=1e-5)
    # Any other Keras policy goes through keras.ops.vectorized_map.
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])
    population = rng.normal(size=(3, len(flat_weights(other)))).astype("float32")
    together = population_logits(other, population, observations)
    for member, (weights, x) in enumerate(zip(population, observations)):
        set_flat_weights(other, weights)
        np.testing.assert_allclose(together[member], keras.ops.convert_to_numpy(other(x)), rtol=1e-5, atol=1e-5)


def test_act_takes_one_observation_or_a_batch_and_refuses_a_wrong_shape():
    policy = small_policy()
    assert policy.act(np.zeros(4)) in (0, 1)
    assert policy.act(np.zeros((3, 4))).shape == (3,)
    with pytest.raises(InputError, match=r"shape \(4,\)"):
        policy.act(np.zeros(5))
    with pytest.raises(InputError, match="NaN"):
        policy.act(np.array([0, np.nan, 0, 0]))


def test_centered_ranks_spread_evenly_from_minus_to_plus_a_half_and_ties_share_theirs():
    np.testing.assert_allclose(centered_ranks([3.0, -1.0, 10.0, 0.5, 2.0]), [0.25, -0.5, 0.5, -0.25, 0.0])
    np.testing.assert_allclose(centered_ranks([500.0, 500.0, 9.0, 500.0, 500.0]), [0.125, 0.125, -0.5, 0.125, 0.125])


def test_an_es_generation_where_every_member_ties_leaves_theta_where_it_was():
    policy = small_policy()
    start = flat_weights(policy)
    flat = Landscape(start)
    flat.play = lambda policy, population, seeds: Episodes(*(np.full((len(population), len(seeds)), 500.0),) * 2,
                                                           np.full((len(population), len(seeds)), 500))
    EvolutionStrategy(policy, population_size=8, l2_coefficient=0.0).step(flat)  # every member at the cap
    np.testing.assert_allclose(flat_weights(policy), start, atol=1e-6)  # antithetic pairs that tie add nothing


def test_es_climbs_a_landscape_and_its_update_follows_the_paper():
    policy = small_policy()
    top = np.full(len(flat_weights(policy)), 0.5, dtype="float32")
    landscape = Landscape(top)
    es = EvolutionStrategy(policy, population_size=20, noise_std=0.05, learning_rate=0.05, l2_coefficient=0.0)
    start = np.linalg.norm(flat_weights(policy) - top)
    # One step by hand: theta -= Adam(-(ranks+ - ranks-) . noise / n); Adam's first step is
    # lr * d / (|d| + epsilon / sqrt(1 - beta_2)) for the ascent direction d (Keras' epsilon 1e-7).
    theta = flat_weights(policy)
    noise = es.random().standard_normal((10, len(theta)), dtype="float32")
    returns = landscape.play(None, np.concatenate([theta + 0.05 * noise, theta - 0.05 * noise]), [0]).returns[:, 0]
    ranks = centered_ranks(returns).reshape(2, -1)
    ascent = (ranks[0] - ranks[1]) @ noise / 20
    expected = theta + 0.05 * ascent / (np.abs(ascent) + 1e-7 / np.sqrt(1 - 0.999))
    es.step(landscape)
    np.testing.assert_allclose(flat_weights(policy), expected, atol=1e-6)
    for _ in range(40):
        logs = es.step(landscape)
    assert np.linalg.norm(flat_weights(policy) - top) < 0.5 * start
    assert logs["generation"] == 41 and logs["theta_score"] > -0.25 * start ** 2


def test_the_ga_keeps_its_elite_and_climbs_a_landscape():
    policy = small_policy()
    top = np.full(len(flat_weights(policy)), 0.5, dtype="float32")
    ga = GeneticAlgorithm(policy, population_size=16, parents=4, mutation_power=0.05, elite_candidates=4,
                          elite_episodes=2)
    scores = [ga.step(Landscape(top))["elite_score"] for _ in range(30)]
    assert all(b >= a for a, b in zip(scores, scores[1:])), "a deterministic landscape: the elite never gets worse"
    assert scores[-1] > 0.5 * scores[0]
    np.testing.assert_array_equal(flat_weights(policy), ga.best[0])


def test_a_stopped_evolution_resumes_to_the_uninterrupted_weights(tmp_path):
    top = np.full(37, 0.3, dtype="float32")
    for make in (lambda p: EvolutionStrategy(p, population_size=8, noise_std=0.05),
                 lambda p: GeneticAlgorithm(p, population_size=8, parents=3, elite_candidates=3, elite_episodes=2)):
        whole = make(small_policy())
        evolution.evolve(whole, Landscape(top), 4)
        state = TrainingState(tmp_path / "state.npz", {"run": "test"})
        first = make(small_policy())
        with pytest.raises(TrainingStopped, match="after generation 1"):
            evolution.evolve(first, Landscape(top), 4, state=state, max_seconds=0)
        again = make(small_policy(seed=1))  # other starting weights: the state replaces them
        evolution.restore_evolution(again, TrainingState(tmp_path / "state.npz", {"run": "test"}))
        assert again.generation == 1
        history = evolution.evolve(again, Landscape(top), 4, state=state)
        assert [logs["generation"] for logs in history] == [1, 2, 3, 4]
        np.testing.assert_allclose(flat_weights(again.policy), flat_weights(whole.policy), rtol=1e-6, atol=1e-6)
        with pytest.raises(Exception, match="differs in run"):
            evolution.restore_evolution(make(small_policy()), TrainingState(tmp_path / "state.npz", {"run": "other"}))


def test_the_training_seeds_are_the_seeds_the_generations_play_and_never_an_evaluation_seed():
    for method in (EvolutionStrategy(small_policy(), population_size=4, episodes=2),
                   GeneticAlgorithm(small_policy(), population_size=4, parents=2, elite_candidates=2,
                                    elite_episodes=3, episodes=2)):
        landscape, played = Landscape(np.zeros(37, "float32")), []
        play = landscape.play
        landscape.play = lambda policy, population, seeds: played.extend(seeds) or play(policy, population, seeds)
        evolution.evolve(method, landscape, 3)
        np.testing.assert_array_equal(method.training_seeds(3), played)
        assert max(played) < evolution.EVALUATION_SEED


def test_an_evolution_stops_where_its_aim_is_reached():
    policy = small_policy()
    es = EvolutionStrategy(policy, population_size=8)
    history = evolution.evolve(es, Landscape(np.zeros(37, "float32")), 50, until=lambda logs: logs["generation"] == 3)
    assert len(history) == 3 and es.generation == 3


def test_the_arena_plays_every_member_on_the_same_seeds_and_counts_steps():
    policy = small_policy()
    arena = cartpole_arena()
    population = np.stack([flat_weights(policy)] * 2 + [flat_weights(policy) + 1.0])
    episodes = arena.play(policy, population, [3, 4])
    assert episodes.returns.shape == (3, 2) and episodes.steps == int(episodes.lengths.sum())
    np.testing.assert_array_equal(episodes.returns[0], episodes.returns[1])  # the same member, the same seeds
    np.testing.assert_array_equal(episodes.scores, episodes.returns)  # CartPole reports no score of its own
    again = arena.play(policy, population[:1], [3])  # environments are kept and reset with the seed
    assert again.returns[0, 0] == episodes.returns[0, 0]
    capped = cartpole_arena(max_steps=3).play(policy, population, [3])
    assert capped.lengths.max() <= 3
    arena.close()


def test_members_playing_together_do_what_each_does_alone():
    policy = small_policy()
    population = flat_weights(policy) + np.random.default_rng(0).normal(size=(5, 37)).astype("float32")
    together = cartpole_arena(max_steps=60).play(policy, population, [1, 2])
    for member, weights in enumerate(population):  # 5 members: the batched pass pads to 8, 4, 2, 1 as they end
        alone = cartpole_arena(max_steps=60).play(policy, weights[None], [1, 2])
        np.testing.assert_array_equal(together.returns[member], alone.returns[0])
    assert len(set(together.lengths.ravel().tolist())) > 2  # the episodes end at different steps


def test_a_stopped_evolution_in_a_real_environment_resumes_to_the_same_generations(tmp_path):
    for make in (lambda p: EvolutionStrategy(p, population_size=6, noise_std=0.5),
                 lambda p: GeneticAlgorithm(p, population_size=6, parents=2, elite_candidates=3, elite_episodes=2,
                                            mutation_power=0.5)):
        whole = evolution.evolve(make(small_policy()), cartpole_arena(max_steps=30), 3)
        state = TrainingState(tmp_path / "real.npz", {"run": "real"})
        with pytest.raises(TrainingStopped):
            evolution.evolve(make(small_policy()), cartpole_arena(max_steps=30), 3, state=state, max_seconds=0)
        again = evolution.restore_evolution(make(small_policy(seed=1)), TrainingState(tmp_path / "real.npz",
                                                                                      {"run": "real"}))
        resumed = evolution.evolve(again, cartpole_arena(max_steps=30), 3, state=state)
        assert [{k: v for k, v in logs.items() if k != "seconds"} for logs in resumed] == \
            [{k: v for k, v in logs.items() if k != "seconds"} for logs in whole]  # episode seeds and all
        other = GeneticAlgorithm(small_policy(), population_size=6, parents=2, elite_candidates=3) \
            if isinstance(again, EvolutionStrategy) else EvolutionStrategy(small_policy(), population_size=6)
        with pytest.raises(InputError, match="holds no"):  # the other method's state
            evolution.restore_evolution(other, TrainingState(tmp_path / "real.npz", {"run": "real"}))


def test_real_evolution_improves_a_cartpole_policy():
    policy = small_policy()
    set_flat_weights(policy, np.zeros(37))  # always the same action: the pole falls in about 10 steps
    arena = cartpole_arena(max_steps=200)
    before = evolution.evaluate(policy, arena, 5).scores.mean()
    es = EvolutionStrategy(policy, population_size=16, noise_std=0.1, learning_rate=0.1, episodes=2)
    history = evolution.evolve(es, arena, 6)
    after = evolution.evaluate(policy, arena, 5).scores.mean()
    assert before < 12 and after > 2 * before and history[-1]["environment_steps"] > history[0]["environment_steps"]


def test_bad_settings_and_environments_are_refused_clearly():
    policy = small_policy()
    with pytest.raises(InputError, match="even population"):
        EvolutionStrategy(policy, population_size=7)
    with pytest.raises(InputError, match="at least 2 members"):
        GeneticAlgorithm(policy, population_size=1)
    with pytest.raises(InputError, match="parents"):
        GeneticAlgorithm(policy, population_size=4, parents=5)
    with pytest.raises(InputError, match="the elite and a challenger"):
        GeneticAlgorithm(policy, population_size=4, parents=2, elite_candidates=1)
    with pytest.raises(InputError, match="elite_episodes"):
        GeneticAlgorithm(policy, population_size=4, parents=2, elite_candidates=2, elite_episodes=0)
    with pytest.raises(InputError, match="at least one episode seed"):
        cartpole_arena().play(policy, flat_weights(policy)[None], [])
    with pytest.raises(InputError, match="max_steps must be at least 1"):
        evolution.play(policy, 1, max_steps=0)
    with pytest.raises(InputError, match="has no trainable weights"):
        flat_weights(keras.Sequential([keras.Input((4,))]))
    wrong = Policy(3, 2, hidden=(4,))
    with pytest.raises(InputError, match=r"observations have shape \(4,\) but the policy takes \(3,\)"):
        cartpole_arena().play(wrong, flat_weights(wrong)[None], [0])
    with pytest.raises(InputError, match="names no environment"):
        evolution.make_environment(Policy(4, 2))
    with pytest.raises(InputError, match="num_actions >= 2"):
        Policy(4, 1)


def test_a_policy_checkpoint_loads_and_plays_with_a_gif(tmp_path):
    from zoo.checkpoints import save_checkpoint

    policy = small_policy()
    save_checkpoint(policy, tmp_path / "policy", metadata={"name": "policy", "description": "a test policy"})
    loaded = zoo.load(tmp_path / "policy")
    assert isinstance(loaded, Policy) and loaded.environment == "CartPole-v1" and loaded.hidden == (5,)
    np.testing.assert_array_equal(flat_weights(loaded), flat_weights(policy))
    gif = tmp_path / "episode.gif"
    scores = evolution.play(loaded, 2, max_steps=20, gif=gif)
    assert len(scores) == 2 and all(1 <= s <= 20 for s in scores)
    from PIL import Image

    with Image.open(gif) as image:
        assert 2 <= image.n_frames <= scores[0]  # a frame a step (PIL merges identical neighbours)


@pytest.mark.one_backend("jax")
def test_quick_evolution_recipes_write_results_a_checkpoint_and_pictures_and_resume(tmp_path):
    recipe = load_recipe("evolution")
    for method in ("ga", "es"):
        out, results = tmp_path / method, tmp_path / f"{method}_cartpole.json"
        options = ["--quick", "--method", method, "--verbose", "0", "--out", str(out), "--results", str(results),
                   "--state", str(tmp_path / f"{method}.npz")]
        recipe.main(options)
        data = json.loads(results.read_text())
        assert data["quick"] and len(data["generations_history"]) == 2 and len(data["scores"]) == 3
        assert data["metrics"]["mean_score"] == pytest.approx(np.mean(data["scores"]), abs=0.01)
        assert results.with_name(f"{method}_cartpole_curves.png").stat().st_size > 0
        assert results.with_name(f"{method}_cartpole_episode.gif").stat().st_size > 0
        assert isinstance(zoo.load(out), Policy)
        recipe.main([*options, "--generations", "3", "--resume"])  # a finished run goes on to more generations
        assert len(json.loads(results.read_text())["generations_history"]) == 3


def test_zoo_play_prints_each_episodes_score_and_refuses_what_it_cannot_do(tmp_path, capsys):
    from zoo import cli
    from zoo.checkpoints import save_checkpoint

    save_checkpoint(small_policy(), tmp_path / "policy", metadata={"name": "policy", "description": "a test"})
    assert cli.main(["play", str(tmp_path / "policy"), "--episodes", "2", "--max-steps", "5", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["environment"] == "CartPole-v1" and len(printed["scores"]) == 2
    assert printed["mean"] == pytest.approx(np.mean(printed["scores"])) and max(printed["scores"]) <= 5
    assert cli.main(["play", str(tmp_path / "policy"), "--episodes", "0"]) != 0
    assert "--episodes must be at least 1" in capsys.readouterr().err
    assert cli.main(["play", "vae_mnist", "--episodes", "1"]) != 0
    assert "cannot play: it has no act method" in capsys.readouterr().err


def test_the_cards_protocol_measures_a_policy_again(tmp_path):
    from zoo import evaluation
    from zoo.checkpoints import save_checkpoint

    policy = small_policy()
    scores = evaluation.policy_scores(policy, episodes=4, max_steps=50)
    metrics = evaluation.with_protocol(
        [{"key": "mean_score", "name": "mean", "value": float(np.mean(scores))}], "policy_episodes",
        {"episodes": 4, "max_steps": 50}, evaluation.policy_measurements(scores))
    save_checkpoint(policy, tmp_path / "policy", metadata={"name": "policy", "description": "a test",
                                                           "metrics": metrics})
    (row,) = evaluation.evaluate(str(tmp_path / "policy"))
    assert row.within and row.measured == pytest.approx(np.mean(scores))


@pytest.mark.one_backend("torch")
def test_the_throughput_benchmark_plays_the_same_steps_both_ways(tmp_path):
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("evolution_throughput",
                                                  ROOT / "benchmarks" / "evolution_throughput.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    result = benchmark.main(["--quick", "--out", str(tmp_path / "out.json")])
    assert [row["population"] for row in result["rows"]] == [1, 8]
    assert all(row["batched_steps_per_second"] > 0 and row["environment_steps"] > 0 for row in result["rows"])
    assert json.loads((tmp_path / "out.json").read_text())["environment"] == "CartPole-v1"
