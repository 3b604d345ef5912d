"""The `zoo` command: every checkpoint's abilities from the shell.

    zoo list                                            # the models (imports no backend: instant)
    zoo info vae_mnist [--json]                         # its card
    zoo sample vae_mnist --n 64 --out samples.png
    zoo interpolate gan_mm_mnist --rows 8 --steps 10 --out interpolation.png
    zoo translate unmt_multi30k_en_fr --src en --tgt fr "a man rides a bike ."   # or --file F, or stdin
    zoo translate cyclegan_mnist_usps digits/ --direction a2b --out usps_like.png
    zoo denoise dae_bsd noisy.png clean.png
    zoo upscale ./my_srresnet small.png large.png [--tile 128]   # an SRResNet/SRGAN checkpoint
    zoo fill completion_faces face.png hole.png filled.png [--postprocess]   # white in hole.png: the hole
    zoo encode ae_mnist digits/ --out codes.npy
    zoo reconstruct vae_mnist digits/ --out grid.png
    zoo evaluate vae_mnist [--quick] [--json]          # re-measure the card: exit 1 if a number is off
    zoo load hf://my-org/my-vae
    zoo finetune vae_mnist --data ./my_images --epochs 5 --out ./my_vae
    zoo publish ./my_vae my-org/my-vae
    zoo cards [--check]

Bad input (an unknown model, a model without the ability, an unreadable image,
an output that exists without --overwrite) exits with status 2 and a message;
nothing is written. `list`, `info` and `--help` import no Keras backend; the
others load one quietly (`--verbose` shows its log lines).
"""

import argparse
import contextlib
import json
import logging
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the CLI

BACKEND_MODULES = ("keras", "tensorflow", "jax", "torch")


class UsageError(Exception):
    """What the user asked cannot be done; exit status 2."""


@contextlib.contextmanager
def _quiet_stderr():
    """Send what native code writes to stderr (TensorFlow's and absl's start-up lines) to /dev/null."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _backend(args):
    """Import Keras (and so its backend) for a command that needs a model; quietly unless --verbose."""
    if args.verbose:
        import keras  # noqa: F401
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    with _quiet_stderr():
        import keras  # noqa: F401

        if keras.backend.backend() == "tensorflow":
            import tensorflow  # noqa: F401  its start-up lines come on first import
    for name in ("absl", "tensorflow"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _load(args, ability=None):
    """The model `args.model`, uncompiled; `ability`: the method a command needs (a clear error without it)."""
    _backend(args)
    import zoo

    model = zoo.load(args.model, revision=getattr(args, "revision", None), compile=False)
    if ability and not hasattr(model, ability):
        raise UsageError(f"{args.model} cannot {args.command}: it has no {ability} method "
                         f"({type(model).__name__}; see `zoo info {args.model}`)")
    return model


def _output(path, args):
    """`path` as a Path, refused if it exists and --overwrite was not given (nothing is replaced unasked)."""
    path = Path(path)
    if path.exists() and not getattr(args, "overwrite", False):
        raise UsageError(f"{path} exists; pass --overwrite to replace it, or write elsewhere")
    return path


def _print(args, text, data):
    """`data` as JSON with --json, else `text`."""
    print(json.dumps(data, indent=2, ensure_ascii=False) if getattr(args, "json", False) else text)


def _images(args, model):
    """The images of the folder `args.images`, in the model's size and channels (`--resize` to fit them)."""
    from zoo.data import from_folder

    if not hasattr(model, "image_shape"):
        raise UsageError(f"{args.model} does not take images")
    height, width, channels = model.image_shape
    return from_folder(args.images, image_size=(height, width), channels=channels, resize=args.resize)


def _list(args):
    from zoo import registry

    models = {name: entry.description for name, entry in sorted(registry.ENTRIES.items())}
    width = max(len(name) for name in models)
    _print(args, "\n".join(f"{name:<{width}}  {description}" for name, description in models.items()), models)
    return 0


def _info(args):
    from zoo import hub, registry
    from zoo.checkpoints import CARD_FILE, read_metadata

    ref = str(args.model)
    if ref.startswith("hf://"):
        folder = hub.download(hub.repo_id_from(ref), revision=args.revision)
    elif Path(ref).is_dir():
        folder = Path(ref)
    else:
        folder = registry.get(ref).checkpoint_dir
        if not folder.is_dir():
            raise UsageError(f"{ref} has no bundled checkpoint; `zoo info hf://<org>/{ref}` reads a Hub copy")
    metadata = read_metadata(folder)
    card = (folder / CARD_FILE).read_text() if (folder / CARD_FILE).is_file() else ""
    body = card.split("---\n", 2)[-1].strip() if card.startswith("---\n") else card.strip()
    _print(args, body or json.dumps(metadata, indent=2), metadata)
    return 0


def _sample(args):
    from zoo.viz import save_image_grid

    if args.n < 1:
        raise UsageError(f"--n must be a positive number of images; got {args.n}")
    out = _output(args.out, args)
    model = _load(args, "sample")
    images = model.sample(args.n, seed=args.seed)
    path = save_image_grid(images, out, nrow=args.nrow or math.ceil(math.sqrt(args.n)))
    print(f"wrote {args.n} samples of {args.model} to {path}")
    return 0


def _interpolate(args):
    import numpy as np

    from zoo.viz import save_rows

    if args.rows < 1 or args.steps < 2:
        raise UsageError(f"need --rows >= 1 and --steps >= 2; got {args.rows} and {args.steps}")
    out = _output(args.out, args)
    model = _load(args)
    if not (hasattr(model, "interpolate") and hasattr(model, "latent_dim")):
        raise UsageError(f"{args.model} has no latent space to walk (no interpolate method)")
    z0, z1 = np.random.default_rng(args.seed).standard_normal((2, args.rows, model.latent_dim))
    grid = model.interpolate(z0, z1, steps=args.steps)  # (rows, steps, H, W, C)
    path = save_rows(list(grid), out)
    print(f"wrote {args.rows} interpolations of {args.steps} steps of {args.model} to {path}")
    return 0


def _translate(args):
    model = _load(args, "translate")
    if hasattr(model, "tokenizer"):  # text: sentences from the arguments, --file, or standard input
        if args.direction or args.out:
            raise UsageError(f"{args.model} translates text: give sentences, --file or standard input, with "
                             "--src and --tgt (--direction and --out are for image translators)")
        if not (args.src and args.tgt):
            raise UsageError(f"{args.model} translates between {list(model.languages)}: give --src and --tgt")
        sentences = _sentences(args)
        translations = model.translate(sentences, src=args.src, tgt=args.tgt, beam=args.beam)
        _print(args, "\n".join(translations),
               [{"source": s, "translation": t} for s, t in zip(sentences, translations, strict=True)])
        return 0
    if args.src or args.tgt or args.file:
        raise UsageError(f"{args.model} translates images: give a folder of images, --direction a2b or b2a and --out")
    if len(args.inputs) != 1 or not args.direction or not args.out:
        raise UsageError(f"{args.model} translates images: zoo translate {args.model} FOLDER --direction a2b "
                         "--out grid.png")
    from zoo.viz import save_rows

    out = _output(args.out, args)
    args.images = args.inputs[0]
    images = _images(args, model)
    save_rows([images, model.translate(images, args.direction)], out)
    print(f"wrote {len(images)} images and their {args.direction} translations to {out}")
    return 0


def _sentences(args):
    if args.file and args.inputs:
        raise UsageError("give sentences as arguments or with --file, not both")
    if args.file:
        if args.file == "-":
            return [line.rstrip("\n") for line in sys.stdin]
        path = Path(args.file)
        if not path.is_file():
            raise UsageError(f"--file {path} does not exist; expected a text file with one sentence a line")
        return path.read_text(encoding="utf-8").splitlines()
    if args.inputs:
        return list(args.inputs)
    if sys.stdin.isatty():
        raise UsageError("no sentences: give them as arguments, with --file, or on standard input")
    return [line.rstrip("\n") for line in sys.stdin]


def _denoise(args):
    from zoo.data import read_image_file
    from zoo.viz import save_image

    out = _output(args.output, args)
    image = read_image_file(args.input)
    model = _load(args, "denoise")
    path = save_image(model.denoise(image), out)
    print(f"wrote {args.input} denoised by {args.model} to {path}")
    return 0


def _upscale(args):
    from zoo.data import read_image_file
    from zoo.viz import save_image

    out = _output(args.output, args)
    image = read_image_file(args.input)
    model = _load(args, "upscale")  # it checks --tile
    path = save_image(model.upscale(image, tile=args.tile), out)
    print(f"wrote {args.input} upscaled x{model.scale} by {args.model} to {path}")
    return 0


def _play(args):
    from zoo.models.evolution import play

    if args.episodes < 1:
        raise UsageError(f"--episodes must be at least 1; got {args.episodes}")
    gif = _output(args.gif, args) if args.gif else None
    model = _load(args, "act")
    scores = play(model, args.episodes, seed=args.seed, max_steps=args.max_steps, gif=gif)
    lines = [f"episode {i + 1} (seed {args.seed + i}): {score:g}" for i, score in enumerate(scores)]
    lines.append(f"mean over {len(scores)} episodes: {sum(scores) / len(scores):g}")
    if gif is not None:
        lines.append(f"wrote episode 1 to {gif}")
    _print(args, "\n".join(lines), {"model": args.model, "environment": model.environment, "seed": args.seed,
                                    "scores": scores, "mean": sum(scores) / len(scores)})
    return 0


def _fill(args):
    import numpy as np

    from zoo.data import read_image_file
    from zoo.viz import save_image

    out = _output(args.output, args)
    image, mask = read_image_file(args.input), read_image_file(args.mask)
    if mask.shape[:2] != image.shape[:2]:
        raise UsageError(f"the mask {args.mask} is {mask.shape[1]}x{mask.shape[0]} pixels and the image "
                         f"{args.input} {image.shape[1]}x{image.shape[0]}; expected one size")
    model = _load(args, "complete")
    hole = np.asarray(mask).mean(axis=-1) > 0.5  # white (over 127 of 255) is the hole
    path = save_image(model.complete(image, hole, postprocess=args.postprocess), out)
    print(f"wrote {args.input} with its {int(hole.sum())}-pixel hole filled by {args.model} to {path}")
    return 0


def _encode(args):
    import numpy as np

    out = _output(args.out, args)
    if out.suffix != ".npy":
        raise UsageError(f"--out {out} must be a .npy file")
    model = _load(args, "encode")
    images = _images(args, model)
    codes = model.encode(images)
    codes = codes[0] if isinstance(codes, tuple) else codes  # a VAE's posterior mean
    np.save(out, np.asarray(codes), allow_pickle=False)
    _print(args, f"wrote the {codes.shape[1]}-number codes of {len(images)} images to {out}",
           {"images": len(images), "code_size": int(codes.shape[1]), "out": str(out)})
    return 0


def _reconstruct(args):
    from zoo.viz import save_rows

    out = _output(args.out, args)
    model = _load(args, "reconstruct")
    images = _images(args, model)[:args.n]
    save_rows([images, model.reconstruct(images)], out)
    print(f"wrote {len(images)} images and their reconstructions by {args.model} to {out}")
    return 0


def _evaluate(args):
    model = _load(args)
    from zoo import evaluation
    from zoo.progress import enabled

    rows = evaluation.evaluate(model, quick=args.quick,
                               progress=(lambda m: print(f"measuring {m} ...", file=sys.stderr)) if enabled()
                               else None)
    off = [r for r in rows if r.within is False]
    if args.json:
        _print(args, "", [vars(r) for r in rows])
    else:
        width = max(len(r.key) for r in rows)
        print(f"{'metric':<{width}}  {'card':>10}  {'measured':>10}  {'tolerance':>10}")
        for r in rows:
            if r.skipped:
                print(f"{r.key:<{width}}  {r.card:>10g}  {'skipped':>10}  {'':>10}  {r.skipped}")
            else:
                print(f"{r.key:<{width}}  {r.card:>10g}  {r.measured:>10.4f}  {r.tolerance:>10.4f}  "
                      f"{'ok' if r.within else 'OUTSIDE'}")
        measured = sum(r.measured is not None for r in rows)
        print(f"{measured} measured{' (quick: ' + 'a subset' + ')' if args.quick else ''}, {len(off)} outside "
              f"their tolerance, {sum(bool(r.skipped) for r in rows)} skipped")
    return 1 if off else 0


def _describe(args):
    model = _load(args)
    meta = model.zoo_metadata
    print(f"{meta['name']}: {meta['description']}")
    print(f"  class {type(model).__name__}, {model.count_params():,} parameters, from {meta.get('source', args.model)}")
    for metric in meta.get("metrics") or []:
        print(f"  {metric.get('name', metric['key'])}: {metric['value']} {metric.get('unit', '')}".rstrip())
    return 0


def _finetune(args):
    _backend(args)
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


def parser():
    main_parser = argparse.ArgumentParser(prog="zoo", description="Keras model zoo for unsupervised and generative "
                                          "learning: every checkpoint's abilities from the shell.")
    main_parser.add_argument("--verbose", action="store_true", help="show the Keras backend's log lines")
    commands = main_parser.add_subparsers(dest="command", required=True)

    def command(name, run, help, model=True, revision=True, json_output=False, overwrite=False):
        sub = commands.add_parser(name, help=help, description=help)
        if model:
            sub.add_argument("model", help="a zoo model name, a checkpoint folder or hf://namespace/name")
        if revision:
            sub.add_argument("--revision", default=None, help="Hub branch, tag or commit (hf:// models)")
        if json_output:
            sub.add_argument("--json", action="store_true", help="print the result as JSON")
        if overwrite:
            sub.add_argument("--overwrite", action="store_true", help="replace an existing output file")
        sub.set_defaults(run=run)
        return sub

    command("list", _list, "list the models with one-line descriptions", model=False, revision=False,
            json_output=True)
    command("info", _info, "print a model's card: what it is, what it measured, how it was trained",
            json_output=True)

    sample = command("sample", _sample, "write a PNG grid of samples from a model", overwrite=True)
    sample.add_argument("--n", type=int, default=64, help="number of samples (default 64: an 8x8 grid)")
    sample.add_argument("--out", default="samples.png", help="PNG file to write")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--nrow", type=int, default=None, help="images per row (default: square grid)")

    walk = command("interpolate", _interpolate, "write a PNG of straight lines between random latent codes",
                   overwrite=True)
    walk.add_argument("--rows", type=int, default=8, help="pairs of codes, one row each")
    walk.add_argument("--steps", type=int, default=10, help="images per row, both ends included")
    walk.add_argument("--out", default="interpolation.png", help="PNG file to write")
    walk.add_argument("--seed", type=int, default=0)

    translate = command("translate", _translate, "translate sentences (text models) or a folder of images "
                        "(image-to-image models)", json_output=True, overwrite=True)
    translate.add_argument("inputs", nargs="*", help="sentences; or, for an image model, one folder of images")
    translate.add_argument("--src", help="the sentences' language (text models)")
    translate.add_argument("--tgt", help="the language to translate into (text models)")
    translate.add_argument("--file", help="a text file with one sentence a line ('-': standard input)")
    translate.add_argument("--beam", type=int, default=1, help="beam size (1: greedy)")
    translate.add_argument("--direction", choices=("a2b", "b2a"), help="image models: which way")
    translate.add_argument("--out", help="image models: PNG of the inputs (first row) and their translations")
    translate.add_argument("--resize", action="store_true", help="image models: resize images to the model's size")

    denoise = command("denoise", _denoise, "denoise an image file (grey or colour, any size)", overwrite=True)
    denoise.add_argument("input", help="the noisy image file")
    denoise.add_argument("output", help="the PNG file to write")

    upscale = command("upscale", _upscale, "super-resolve an image file (grey or colour, any size)",
                      overwrite=True)
    upscale.add_argument("input", help="the low-resolution image file")
    upscale.add_argument("output", help="the PNG file to write")
    upscale.add_argument("--tile", type=int, default=None,
                         help="upscale in tiles of this many low-resolution pixels a side (less memory; the same "
                              "output)")

    fill = command("fill", _fill, "fill the hole of an image file (content-aware fill; grey or colour, any size)",
                   overwrite=True)
    fill.add_argument("input", help="the image file")
    fill.add_argument("mask", help="an image file of the same size, white (over 127 of 255) in the hole")
    fill.add_argument("output", help="the PNG file to write")
    fill.add_argument("--postprocess", action="store_true",
                      help="blend the fill into its surroundings (Telea, then Poisson blending; the paper's)")

    play = command("play", _play, "let a policy play episodes of its environment and print each one's score",
                   json_output=True, overwrite=True)
    play.add_argument("--episodes", type=int, default=10)
    play.add_argument("--seed", type=int, default=1_000_000, help="the first episode's seed (then +1 each); the "
                      "default is the first of the cards' evaluation episodes")
    play.add_argument("--max-steps", type=int, default=10_000, help="end an episode after this many steps")
    play.add_argument("--gif", default=None, help="write the first episode as an animated GIF here")

    encode = command("encode", _encode, "encode a folder of images into codes (a .npy file, one row an image)",
                     json_output=True, overwrite=True)
    encode.add_argument("images", help="a folder of image files, read in name order")
    encode.add_argument("--out", required=True, help=".npy file to write")
    encode.add_argument("--resize", action="store_true", help="resize images to the model's input size")

    rebuild = command("reconstruct", _reconstruct, "write a PNG of images (first row) and their reconstructions",
                      overwrite=True)
    rebuild.add_argument("images", help="a folder of image files, read in name order")
    rebuild.add_argument("--out", required=True, help="PNG file to write")
    rebuild.add_argument("--n", type=int, default=16, help="at most this many images (the first in name order)")
    rebuild.add_argument("--resize", action="store_true", help="resize images to the model's input size")

    evaluate = command("evaluate", _evaluate, "re-measure a card's numbers with its recipe's evaluation; exit 1 if "
                       "one is outside its tolerance (three standard errors)", json_output=True)
    evaluate.add_argument("--quick", action="store_true", help="a documented subset of each evaluation, with a "
                          "tolerance of three standard errors of the subset")

    command("load", _describe, "load a model (fills the HF cache for hf:// ids) and describe it")

    tune = command("finetune", _finetune, "fine-tune a model on a folder of images; resumable", overwrite=True)
    tune.add_argument("--data", required=True, help="folder of image files")
    tune.add_argument("--out", required=True, help="checkpoint folder to write")
    tune.add_argument("--epochs", type=int, default=5)
    tune.add_argument("--batch-size", type=int, default=64)
    tune.add_argument("--validation-split", type=float, default=0.1)
    tune.add_argument("--learning-rate", type=float, default=1e-4)
    tune.add_argument("--resize", action="store_true", help="resize images to the model's input size")
    tune.add_argument("--seed", type=int, default=0)

    publish = command("publish", _publish, "upload a checkpoint folder to the Hugging Face Hub", model=False,
                      revision=False)
    publish.add_argument("checkpoint", help="checkpoint folder, e.g. ./my_vae or checkpoints/vae_mnist")
    publish.add_argument("repo_id", help="namespace/name on the Hub")
    publish.add_argument("--private", action="store_true")
    publish.add_argument("--message", default=None, help="commit message")

    cards = command("cards", _cards, "regenerate MODEL_CARDS.md and every checkpoint's README.md", model=False,
                    revision=False)
    cards.add_argument("--root", default=".")
    cards.add_argument("--check", action="store_true", help="only report stale cards; exit 1 if any")
    return main_parser


def main(argv=None):
    main_parser = parser()
    args, extra = main_parser.parse_known_args(argv)
    if extra and args.command == "translate" and not any(e.startswith("-") for e in extra):
        args.inputs += extra  # sentences after the options: zoo translate M --src en --tgt fr "a man ..."
    elif extra:
        main_parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.argv = list(sys.argv[1:] if argv is None else argv)
    from zoo.errors import ZooError

    try:
        return args.run(args)
    except (UsageError, ZooError, FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"zoo {args.command}: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `zoo list | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
