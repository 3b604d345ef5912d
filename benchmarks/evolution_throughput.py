"""Environment steps per second of an evolving population against its size: the zoo's arena, where the members
act in one batched forward pass each step (`zoo.models.evolution.population_logits`), against the same episodes
played one member at a time (a forward pass a member a step), in one run on this backend.

    KERAS_BACKEND=jax python benchmarks/evolution_throughput.py          # -> benchmarks/results/evolution_jax.json
    KERAS_BACKEND=jax python benchmarks/evolution_throughput.py --quick  # two sizes, short episodes

Each population is the bundled `es_cartpole` policy's weights plus Gaussian noise (`--sigma`), every member
playing `--episodes` CartPole-v1 episodes (the same seeds both ways; the script checks that each member's episodes
are the same both ways); the time is the best of `--repeats` plays, after one play that warms up (JAX compiles a
shape once).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import keras
import numpy as np

import zoo
from zoo.models import evolution

ROOT = Path(__file__).resolve().parent.parent


def best_time(play, repeats):
    play()  # warm-up: environments made, shapes compiled
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        episodes = play()
        times.append(time.perf_counter() - start)
    return min(times), episodes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16, 64, 256])
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sigma", type=float, default=0.1, help="the members' noise around the bundled weights")
    parser.add_argument("--quick", action="store_true",
                        help="sizes 1 and 8, 60-step episodes, sigma 1 (members that differ), one repeat")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.max_steps, args.repeats, args.sigma = [1, 8], 60, 1, 1.0
    policy = zoo.load("es_cartpole", compile=False)
    theta = evolution.flat_weights(policy)
    seeds = list(range(args.episodes))
    batched = evolution.Arena(lambda: evolution.make_environment(policy), max_steps=args.max_steps)
    alone = evolution.Arena(lambda: evolution.make_environment(policy), max_steps=args.max_steps)
    rows = []
    for size in args.sizes:
        noise = np.random.default_rng(size).standard_normal((size, len(theta)), "float32")
        population = theta + args.sigma * noise
        together, episodes = best_time(lambda: batched.play(policy, population, seeds), args.repeats)
        one_by_one, apart = best_time(lambda: [alone.play(policy, member[None], seeds) for member in population],
                                      args.repeats)
        # the same episodes both ways, member by member
        np.testing.assert_array_equal(episodes.lengths, np.concatenate([e.lengths for e in apart]))
        np.testing.assert_array_equal(episodes.returns, np.concatenate([e.returns for e in apart]))
        steps = episodes.steps
        rows.append({"population": size, "environment_steps": steps,
                     "batched_steps_per_second": round(steps / together, 1),
                     "one_by_one_steps_per_second": round(steps / one_by_one, 1),
                     "speedup": round(one_by_one / together, 2)})
        print(f"population {size:4d}: {rows[-1]['batched_steps_per_second']:9.0f} steps/s batched, "
              f"{rows[-1]['one_by_one_steps_per_second']:8.0f} one member at a time ({rows[-1]['speedup']}x), "
              f"{steps} steps", flush=True)
    result = {"backend": keras.backend.backend(), "keras_version": keras.__version__, "environment": "CartPole-v1",
              "episodes_per_member": args.episodes, "max_steps": args.max_steps, "repeats": args.repeats,
              "sigma": args.sigma,
              "quick": args.quick, "command": " ".join(["python", *sys.argv]), "rows": rows}
    out = args.out or (ROOT / "benchmarks" / "results" / f"evolution_{keras.backend.backend()}"
                       f"{'_quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
