"""Recipe: mode collapse made visible on the ring of 8 Gaussians.

The 2-D toy of Metz et al. ("Unrolled GANs", 2017): 8 Gaussians (std 0.02)
on a circle of radius 2. Each loss trains the same MLP generator and critic
(3 x 128 ReLU) for the same number of generator updates; the recipe counts the
modes reached by high-quality samples (within 3 std of a centre, as VEEGAN
counts them) over 2500 samples, and draws every loss's samples in one picture
per loss (grey: data; colour: samples, by nearest mode).

    python recipes/gan_ring.py --losses mm wgan_gp      # -> results/gan_ring.json and results/gan_ring_<loss>.png
    python recipes/gan_ring.py --quick                  # seconds; writes under logs/

Each loss keeps its own training state; `--resume` continues the losses that have one and starts the others.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
from zoo.data.batches import ArrayBatches  # noqa: E402
from zoo.data.toy import eight_gaussians, ring_centres  # noqa: E402
from zoo.metrics import high_quality_share, nearest_modes, ring_modes_covered  # noqa: E402
from zoo.models.gan import GAN, LOSSES, mlp  # noqa: E402
from zoo.viz import scatter_png  # noqa: E402

STD = 0.02
SAMPLES = 2500


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--losses", nargs="+", choices=[l for l in LOSSES if l != "began"], default=["mm", "wgan_gp"])
    parser.add_argument("--steps", type=int, default=3000, help="generator updates per loss")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = 50
    return args


def training_data(args):
    """Points drawn from the 8-Gaussians ring (zoo.data.toy): no dataset, so no test set to keep out."""
    return {}


def main(argv=None):
    args = parse_args(argv)
    _, results_path = _common.outputs(args, "gan_ring")
    results_dir = results_path.parent
    data, _ = eight_gaussians(args.steps * args.batch_size // 10, std=STD, seed=args.seed)
    centres = ring_centres()
    runs = {}
    for loss in args.losses:
        keras.utils.set_random_seed(args.seed)
        model = GAN(mlp(2, 2, name="generator"), mlp(2, 1, name="critic"), latent_dim=2, loss=loss, seed=args.seed)
        model.compile(jit_compile=_common.jit_compile())
        batches = ArrayBatches(data, batch_size=args.batch_size, seed=args.seed)
        epochs = int(np.ceil(args.steps / len(batches)))
        path = _common.state_path(args, "gan_ring").with_name(f"training_state_{loss}.npz")  # one per loss
        state = _common.training_state(args, f"gan_ring_{loss}", model, exclude=("losses",), path=path,
                                       resume=args.resume and path.is_file())
        _common.fit(model, batches, epochs, args, state)
        samples = model.sample(SAMPLES, seed=args.seed)
        modes = ring_modes_covered(samples, centres, threshold=3 * STD)
        quality = high_quality_share(samples, centres, threshold=3 * STD)
        picture = results_dir / f"gan_ring_{loss}.png"
        labels = np.concatenate([np.full(len(data[:SAMPLES]), "data"),
                                 np.where(nearest_modes(samples, centres, 3 * STD) >= 0, "near a mode",
                                          "off the ring")])
        scatter_png(np.concatenate([data[:SAMPLES], samples]), labels, picture,
                    title=f"{loss}: {modes}/8 modes, {quality:.0%} high quality")
        runs[loss] = {"modes_covered": int(modes), "high_quality_share": round(float(quality), 4),
                      "generator_steps": int(model.optimizer["generator"].iterations.numpy()),
                      "n_critic": model.n_critic, "train_seconds": round(state.seconds, 1), "picture": picture.name}
        print(f"{loss}: {modes}/8 modes covered, {quality:.1%} high-quality samples")
    _common.write_json(results_path, {
        "runs": runs, "std": STD, "samples": SAMPLES, "steps": args.steps, "batch_size": args.batch_size,
        "backend": keras.backend.backend(), "seed": args.seed, "git_commit": _common.COMMIT,
        "command": _common.command_line(), "quick": args.quick,
    })
    return runs


if __name__ == "__main__":
    _common.run(main)
