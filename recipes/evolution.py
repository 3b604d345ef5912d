"""Recipe: a genetic algorithm (Deep GA) and evolution strategies (OpenAI-ES) evolve Keras policies that play
CartPole-v1 and Flappy Bird.

Such et al., "Deep Neuroevolution", arXiv:1712.06567, 2017; Salimans et al., "Evolution Strategies as a
Scalable Alternative to Reinforcement Learning", arXiv:1703.03864, 2017 (zoo/models/evolution.py). The score
is the mean over 100 evaluation episodes with fixed seeds that no training generation draws: steps balanced
for CartPole (its episodes end at 500 steps; solved at >= 475), pipes passed for Flappy Bird (its 12 feature
observations, not the lidar; episodes capped at 10,000 steps).

    python recipes/evolution.py --method es --env cartpole   # writes checkpoints/es_cartpole, results/es_cartpole.json
    python recipes/evolution.py --method ga --env flappybird --max-minutes 60   # stops, keeping its state
    python recipes/evolution.py --method ga --env flappybird --resume           # ... and goes on
    python recipes/evolution.py --quick                       # a few tiny generations, writes under logs/
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
from zoo import evaluation, registry  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.models import evolution  # noqa: E402

GENERATIONS = {"cartpole": 100, "flappybird": 300}  # at most; a run ends once its logged score reaches the aim
PAPERS = {"ga": "Such et al., Deep Neuroevolution: Genetic Algorithms Are a Competitive Alternative for Training "
                "Deep Neural Networks for Reinforcement Learning, arXiv:1712.06567, 2017",
          "es": "Salimans et al., Evolution Strategies as a Scalable Alternative to Reinforcement Learning, "
                "arXiv:1703.03864, 2017"}
EVALUATION_EPISODES = 100


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--method", choices=("ga", "es"), default="es")
    parser.add_argument("--env", choices=sorted(evolution.ENVIRONMENTS), default="cartpole")
    parser.add_argument("--generations", type=int, default=None, help="at most this many (default: per env)")
    parser.add_argument("--population", type=int, default=64)
    parser.add_argument("--episodes", type=int, default=5, help="episodes of each member in a generation")
    parser.add_argument("--sigma", type=float, default=0.1, help="GA: mutation power; ES: noise standard deviation")
    parser.add_argument("--learning-rate", type=float, default=0.03, help="ES: Adam's step size")
    parser.add_argument("--l2", type=float, default=0.005, help="ES: L2 decay coefficient")
    parser.add_argument("--parents", type=int, default=10, help="GA: truncation size")
    parser.add_argument("--elite-episodes", type=int, default=30, help="GA: episodes of each elite candidate")
    parser.add_argument("--stop-at", type=float, default=None,
                        help="stop once a generation's logged score (GA: the elite's over --elite-episodes; ES: "
                             "theta's over --episodes) reaches this (default: the environment's target)")
    args = parser.parse_args(argv)
    if args.max_steps is not None:
        parser.error("--max-steps counts fit's steps, which evolution has none of: limit a run with --generations "
                     "or --max-minutes")
    if args.quick:
        args.generations = args.generations or 2
        args.population, args.episodes, args.elite_episodes = 6, 1, 2
    args.generations = args.generations or GENERATIONS[args.env]
    if args.generations < 1:
        parser.error(f"--generations must be at least 1; got {args.generations}")
    return args


def name(args):
    return f"{args.method}_{args.env}"


def build_method(args, policy):
    if args.method == "ga":
        return evolution.GeneticAlgorithm(policy, population_size=args.population, parents=min(args.parents,
                                          args.population), mutation_power=args.sigma,
                                          elite_candidates=min(10, args.population),
                                          elite_episodes=args.elite_episodes, episodes=args.episodes, seed=args.seed)
    return evolution.EvolutionStrategy(policy, population_size=args.population, noise_std=args.sigma,
                                       learning_rate=args.learning_rate, l2_coefficient=args.l2,
                                       episodes=args.episodes, seed=args.seed)


def training_data(args):
    """What the recipe trains on: the seeds of every episode its generations play (tests/test_test_sets.py keeps
    the evaluation episodes out of them)."""
    return {"episode_seeds": build_method(args, registry.get(name(args)).build()).training_seeds(args.generations)}


def logged_score(logs):
    return logs.get("elite_score", logs.get("theta_score"))


def train(args, policy, arena):
    """Evolves until --generations or --stop-at (resumable); returns the history and the training state."""
    method = build_method(args, policy)
    # With --resume, its record and arrays restored; a finished run goes on to more generations or a higher aim.
    state = _common.training_state(args, name(args), None, exclude=("generations", "stop_at"))
    if args.resume:
        method.load_state(state.record, state.arrays)
    stop_at = evolution.ENVIRONMENTS[args.env]["target"] if args.stop_at is None else args.stop_at

    def log(logs):
        if _common.verbosity(args.verbose) != 0:
            print(" ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in logs.items()),
                  flush=True)

    seconds, _ = _common.limits_left(args, state)
    history = evolution.evolve(method, arena, args.generations, until=lambda logs: logged_score(logs) >= stop_at,
                               state=state, save_every=60 * args.save_minutes, max_seconds=seconds, log=log)
    return history, state


def learning_curves(history, path, settings, title):
    """The logged score against environment steps and against wall time, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    score = [logged_score(logs) for logs in history]
    for axis, key, label in ((axes[0], "environment_steps", "environment steps"), (axes[1], "seconds", "seconds")):
        axis.plot([logs[key] for logs in history], score, marker=".")
        axis.axhline(settings["target"], color="grey", linestyle="--", linewidth=1)
        axis.set_xlabel(label)
        axis.set_ylabel(settings["score"])
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    run_name = name(args)
    out, results_path = _common.outputs(args, run_name)
    _common.check_state(args, run_name)
    settings = evolution.ENVIRONMENTS[args.env]
    policy = registry.get(run_name).build()
    arena = evolution.Arena(lambda: evolution.make_environment(policy), max_steps=settings["max_steps"])
    history, state = train(args, policy, arena)

    arena.close()
    eval_clock = _common.Stopwatch()
    n = 3 if args.quick else EVALUATION_EPISODES
    protocol = {"episodes": n, "max_steps": settings["max_steps"]}
    scores = evaluation.policy_scores(policy, **protocol)  # what the policy_episodes protocol measures
    measured = evaluation.policy_measurements(scores)
    print(f"{run_name}: mean {settings['score']} over {n} evaluation episodes {scores.mean():.2f} "
          f"(std {scores.std():.2f}, min {scores.min():g}, max {scores.max():g}); aim >= {settings['target']:g}")
    last = history[-1]
    split = (f"{n} episodes with seeds {evolution.EVALUATION_SEED}-{evolution.EVALUATION_SEED + n - 1} (no "
             f"training generation draws them), each capped at {settings['max_steps']} steps")
    metrics = [
        {"key": "mean_score", "name": f"Mean {settings['score']} over {n} evaluation episodes",
         "value": round(float(scores.mean()), 2), "unit": settings["score"], "lower_is_better": False,
         "target": f">= {settings['target']:g}", "split": split},
        {"key": "score_std", "name": f"Standard deviation of the {settings['score']}",
         "value": round(float(scores.std()), 2), "unit": settings["score"], "lower_is_better": True,
         "split": split},
        {"key": "environment_steps", "name": "Environment steps of the whole training",
         "value": int(last["environment_steps"]), "unit": "steps", "lower_is_better": True,
         "not_evaluated": "counted while training"},
        {"key": "generations", "name": "Generations", "value": int(last["generation"]), "unit": "generations",
         "lower_is_better": True, "not_evaluated": "counted while training"},
    ]
    metrics = evaluation.with_protocol(metrics, "policy_episodes", protocol, measured)
    results = _common.results_record(
        run_name, args, metrics, state, None, generations_history=history, eval_seconds=eval_clock.seconds,
        scores=[float(x) for x in scores], method=args.method, environment=settings["id"],
        environment_kwargs=settings["kwargs"], population=args.population, episodes=args.episodes,
        sigma=args.sigma, learning_rate=args.learning_rate if args.method == "es" else None,
        parents=args.parents if args.method == "ga" else None)
    save_checkpoint(policy, out, overwrite=True, metadata={
        "name": run_name,
        "description": registry.get(run_name).description,
        "paper": PAPERS[args.method],
        "family": "evolution",
        "license": "apache-2.0",
        "dataset": {"name": settings["id"], "license": "MIT",
                    "url": "https://gymnasium.farama.org" if args.env == "cartpole"
                    else "https://github.com/markub3327/flappy-bird-gymnasium",
                    "split": f"episodes with seeds below {evolution.EVALUATION_SEED}"},
        "metrics": metrics,
        **_common.provenance(results, "recipes/evolution.py"),
        "steps": int(last["environment_steps"]),
        "tags": ["reinforcement-learning", "evolution", args.method, args.env],
        "intended_use": f"Playing {settings['id']} (`zoo play {run_name}`); a baseline for comparing "
                        "gradient-free and gradient-based policy search on equal environment steps.",
        "limitations": "A deterministic policy (the most likely action) for this environment's observations "
                       "only; scores vary from episode to episode with the environment's random start.",
    })
    _common.write_json(results_path, results)
    learning_curves(history, results_path.with_name(f"{run_name}_curves.png"), settings,
                    f"{args.method.upper()} on {settings['id']}: {'elite' if args.method == 'ga' else 'theta'} score")
    evolution.play(policy, 1, max_steps=min(settings["max_steps"], 300 if args.quick else 2000),
                   gif=results_path.with_name(f"{run_name}_episode.gif"))
    print(f"wrote {out}, {results_path} and its pictures")
    return results


if __name__ == "__main__":
    _common.run(main)
