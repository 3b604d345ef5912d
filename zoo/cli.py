"""The `zoo` command: list, load, sample, fine-tune and publish models; regenerate model cards.

    zoo list
    zoo sample vae_mnist --n 64 --out samples.png
    zoo sample hf://my-org/my-vae --revision v1
    zoo interpolate gan_mm_mnist --rows 8 --steps 10 --out interpolation.png
    zoo load hf://my-org/my-vae
    zoo finetune vae_mnist --data ./my_images --epochs 5 --out ./my_vae
    zoo publish ./my_vae my-org/my-vae
    zoo cards [--check]
"""

import argparse
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the CLI


def _list(args):
    import zoo

    models = zoo.list_models()
    width = max(len(name) for name in models)
    for name, description in models.items():
        print(f"{name:<{width}}  {description}")
    return 0


def _sample(args):
    import zoo
    from zoo.viz import save_image_grid

    if args.n < 1:
        raise SystemExit(f"zoo sample: --n must be a positive number of images; got {args.n}")
    model = zoo.load(args.model, revision=args.revision, compile=False)
    if not hasattr(model, "sample"):
        raise SystemExit(f"zoo sample: {args.model} does not generate images (it has no sample method)")
    images = model.sample(args.n, seed=args.seed)
    path = save_image_grid(images, args.out, nrow=args.nrow or math.ceil(math.sqrt(args.n)))
    print(f"wrote {args.n} samples of {args.model} to {path}")
    return 0


def _interpolate(args):
    import numpy as np

    import zoo
    from zoo.viz import save_rows

    if args.rows < 1 or args.steps < 2:
        raise SystemExit(f"zoo interpolate: need --rows >= 1 and --steps >= 2; got {args.rows} and {args.steps}")
    model = zoo.load(args.model, revision=args.revision, compile=False)
    if not (hasattr(model, "interpolate") and hasattr(model, "latent_dim")):
        raise SystemExit(f"zoo interpolate: {args.model} has no latent space to walk (no interpolate method)")
    z0, z1 = np.random.default_rng(args.seed).standard_normal((2, args.rows, model.latent_dim))
    grid = model.interpolate(z0, z1, steps=args.steps)  # (rows, steps, H, W, C)
    path = save_rows(list(grid), args.out)
    print(f"wrote {args.rows} interpolations of {args.steps} steps of {args.model} to {path}")
    return 0


def _load(args):
    import zoo

    model = zoo.load(args.model, revision=args.revision, compile=False)
    meta = model.zoo_metadata
    print(f"{meta['name']}: {meta['description']}")
    print(f"  class {type(model).__name__}, {model.count_params():,} parameters, from {meta.get('source', args.model)}")
    for metric in meta.get("metrics") or []:
        print(f"  {metric.get('name', metric['key'])}: {metric['value']} {metric.get('unit', '')}".rstrip())
    return 0


def _finetune(args):
    from zoo.finetune import finetune

    out = finetune(args.model, args.data, args.out, epochs=args.epochs, batch_size=args.batch_size,
                   validation_split=args.validation_split, learning_rate=args.learning_rate,
                   resize=args.resize, revision=args.revision, seed=args.seed, overwrite=args.overwrite,
                   command=" ".join(["zoo", *args.argv]))
    print(f"wrote the fine-tuned checkpoint {out}")
    return 0


def _publish(args):
    from zoo import hub

    url = hub.publish(args.checkpoint, args.repo_id, private=args.private, commit_message=args.message)
    print(f"published {args.checkpoint} to hf://{hub.repo_id_from(args.repo_id)} ({url})")
    return 0


def _cards(args):
    from zoo import cards

    return cards.main(["--root", args.root] + (["--check"] if args.check else []))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="zoo", description="Keras model zoo for unsupervised and generative learning.")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="list the models with one-line descriptions").set_defaults(run=_list)

    sample = commands.add_parser("sample", help="write a PNG grid of samples from a model")
    sample.add_argument("model", help="a zoo model name or a checkpoint folder")
    sample.add_argument("--n", type=int, default=64, help="number of samples (default 64: an 8x8 grid)")
    sample.add_argument("--out", default="samples.png", help="PNG file to write")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--nrow", type=int, default=None, help="images per row (default: square grid)")
    sample.add_argument("--revision", default=None, help="Hub branch, tag or commit (hf:// models)")
    sample.set_defaults(run=_sample)

    walk = commands.add_parser("interpolate", help="write a PNG of straight lines between random latent codes")
    walk.add_argument("model", help="a zoo model name or a checkpoint folder of a GAN")
    walk.add_argument("--rows", type=int, default=8, help="pairs of codes, one row each")
    walk.add_argument("--steps", type=int, default=10, help="images per row, both ends included")
    walk.add_argument("--out", default="interpolation.png", help="PNG file to write")
    walk.add_argument("--seed", type=int, default=0)
    walk.add_argument("--revision", default=None, help="Hub branch, tag or commit (hf:// models)")
    walk.set_defaults(run=_interpolate)

    load = commands.add_parser("load", help="load a model (fills the HF cache for hf:// ids) and describe it")
    load.add_argument("model", help="a zoo model name, a checkpoint folder or hf://namespace/name")
    load.add_argument("--revision", default=None)
    load.set_defaults(run=_load)

    tune = commands.add_parser("finetune", help="fine-tune a model on a folder of images; resumable")
    tune.add_argument("model", help="a zoo model name, a checkpoint folder or hf://namespace/name")
    tune.add_argument("--data", required=True, help="folder of image files")
    tune.add_argument("--out", required=True, help="checkpoint folder to write")
    tune.add_argument("--epochs", type=int, default=5)
    tune.add_argument("--batch-size", type=int, default=64)
    tune.add_argument("--validation-split", type=float, default=0.1)
    tune.add_argument("--learning-rate", type=float, default=1e-4)
    tune.add_argument("--resize", action="store_true", help="resize images to the model's input size")
    tune.add_argument("--revision", default=None)
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--overwrite", action="store_true", help="replace an existing --out checkpoint")
    tune.set_defaults(run=_finetune)

    publish = commands.add_parser("publish", help="upload a checkpoint folder to the Hugging Face Hub")
    publish.add_argument("checkpoint", help="checkpoint folder, e.g. ./my_vae or checkpoints/vae_mnist")
    publish.add_argument("repo_id", help="namespace/name on the Hub")
    publish.add_argument("--private", action="store_true")
    publish.add_argument("--message", default=None, help="commit message")
    publish.set_defaults(run=_publish)

    cards = commands.add_parser("cards", help="regenerate MODEL_CARDS.md and every checkpoint's README.md")
    cards.add_argument("--root", default=".")
    cards.add_argument("--check", action="store_true", help="only report stale cards; exit 1 if any")
    cards.set_defaults(run=_cards)

    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    from zoo.errors import ZooError

    try:
        return args.run(args)
    except (ZooError, FileExistsError, ValueError) as error:
        print(f"zoo {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
