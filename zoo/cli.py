"""The `zoo` command: list models, sample from one, regenerate model cards.

    zoo list
    zoo sample vae_mnist --n 64 --out samples.png
    zoo cards [--check]
"""

import argparse
import math
import sys


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
    model = zoo.load(args.model, compile=False)
    if not hasattr(model, "sample"):
        raise SystemExit(f"zoo sample: {args.model} does not generate images (it has no sample method)")
    images = model.sample(args.n, seed=args.seed)
    path = save_image_grid(images, args.out, nrow=args.nrow or math.ceil(math.sqrt(args.n)))
    print(f"wrote {args.n} samples of {args.model} to {path}")
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
    sample.set_defaults(run=_sample)

    cards = commands.add_parser("cards", help="regenerate MODEL_CARDS.md and every checkpoint's README.md")
    cards.add_argument("--root", default=".")
    cards.add_argument("--check", action="store_true", help="only report stale cards; exit 1 if any")
    cards.set_defaults(run=_cards)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
