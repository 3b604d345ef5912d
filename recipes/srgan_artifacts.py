"""Recipe: where SRGAN's checkerboard comes from, measured by the grid power of each loss term's gradient.

The zoo's SRGAN runs (results/srgan_x4_1000_steps_64px.json, results/srgan_x4_pixel_1250_steps_64px.json) left
a regular 4-pixel pattern on their outputs. Odena, Dumoulin & Olah ("Deconvolution and Checkerboard
Artifacts", Distill 2016) trace such patterns to sub-pixel upsampling and to the gradients of strided
convolutions. To find which term of the generator's loss (Ledig et al. 2017, Eq. 3) pushes the pattern in, this
takes batches of training crops, the outputs of the SRResNet the SRGAN started from, and measures
`zoo.metrics.grid_power_ratio` (the share of power at the frequencies of a 4-pixel grid over white noise's;
1 is noise) of:

- the gradient, with respect to those outputs, of each term: the content loss through naturalnet, the pixel
  MSE, and the adversarial loss through the SRGAN's trained discriminator and through the same architecture
  freshly initialised (is the pattern the architecture's or learned?), and freshly initialised with a blur
  before each strided convolution (`srgan_discriminator(antialias=True)`, Zhang 2019);
- what the SRGAN's training changed (its outputs minus the SRResNet's), and the SRResNet's own error;
- where in the generator the pattern sits: the SRGAN's change with its HR-resolution output end (sub-pixel
  stages and last convolution, `upsampler_layers`) put back to the SRResNet's, and with its trunk put back;
- at the SRGAN's own outputs, the grid power of the content, pixel and (trained) adversarial gradients, and the
  cosine between each term's descent direction (minus its gradient) and the grid the training added, both taken
  to their grid part (`zoo.metrics.grid_component`): > 0 a term adds to the pattern, < 0 it takes from it.

It trains nothing and uses no test image.

    python recipes/srgan_artifacts.py --srgan logs/unbundled/srgan_x4_pixel_1250_steps_64px
    python recipes/srgan_artifacts.py --quick              # tiny networks, writes under logs/
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py, srgan.py, srresnet.py

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import srgan  # noqa: E402
import srresnet  # noqa: E402
from keras import ops  # noqa: E402

import zoo  # noqa: E402
from zoo.backend import input_gradient  # noqa: E402
from zoo.data import natural  # noqa: E402
from zoo.losses.gan import non_saturating_generator_loss  # noqa: E402
from zoo.metrics import grid_component, grid_power_ratio  # noqa: E402
from zoo.models.superres import (  # noqa: E402
    SRGAN,
    SRPairs,
    SRResNet,
    srgan_discriminator,
    srresnet_generator,
    upsampler_layers,
)

NAME = "srgan_artifacts"
PERIOD = 4  # the x4 generator's two x2 pixel shuffles repeat every 4 output pixels


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0], trains=False)  # measures: nothing to train or resume
    parser.add_argument("--srgan", default=None, help="the trained SRGAN: a checkpoint folder or registry name")
    parser.add_argument("--srresnet", default=str(_common.ROOT / "checkpoints" / "srresnet_x4"),
                        help="the SRResNet it started from")
    parser.add_argument("--batches", type=int, default=8, help="batches of training crops measured")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--patch-size", type=int, default=64, help="HR crop side, a multiple of 4")
    parser.add_argument("--sets", nargs="+", default=list(natural.TRAIN_SETS), choices=natural.TRAIN_SETS,
                        help="training image sets the crops come from")
    args = parser.parse_args(argv)
    if not args.quick and args.srgan is None:
        parser.error("--srgan is required (a trained SRGAN's checkpoint folder or registry name) unless --quick")
    if args.quick:
        args.batches, args.batch_size, args.patch_size, args.sets = 1, 2, 48, ["t91"]
    return args


def training_data(args):
    """The recipe trains on nothing (tests/test_test_sets.py asks every recipe)."""
    return {}


def networks(args, pairs):
    """The SRResNet and the SRGAN (--quick: tiny stand-ins, the SRGAN trained 2 steps from the SRResNet)."""
    if args.quick:
        _, features, _ = srgan.quick_networks(args.seed)
        # residual: an untrained plain generator's output is constant, and no loss has a gradient to measure
        start = SRResNet(channels=3, width=8, blocks=2, scale=srgan.SCALE, residual=True)
        start(np.zeros((1, 12, 12, 3), "float32"))
        out = start.generator.get_layer("conv_out")  # not at its zero start: the layers under it then learn too
        kernel, bias = out.get_weights()
        out.set_weights([np.random.default_rng(args.seed).normal(0, 0.01, kernel.shape).astype(kernel.dtype), bias])
        gan = SRGAN.from_srresnet(start, features.body, "conv4_4", discriminator_width=8, discriminator_size=None,
                                  pixel_weight=1.0, seed=args.seed)
        gan.compile(learning_rate=1e-2)
        gan.fit(SRPairs(pairs, srgan.SCALE, patch_size=args.patch_size, batch_size=2, steps=2, seed=args.seed),
                epochs=1, verbose=0)
        return start, gan
    start, gan = zoo.load(args.srresnet, compile=False), zoo.load(args.srgan, compile=False)
    if not isinstance(gan, SRGAN):
        raise SystemExit(f"error: --srgan {args.srgan} is a {type(gan).__name__}; expected an SRGAN checkpoint")
    return start, gan


def hybrid(gan, start, upsampler_from):
    """The SRGAN's generator with its `upsampler_layers` from `upsampler_from` ("start": the SRResNet's) and the
    rest from the other of the two."""
    generator = srresnet_generator(gan.channels, gan.width, gan.blocks, gan.scale, gan.residual)
    upsampler = {layer.name for layer in upsampler_layers(generator)}
    for layer in (layer for layer in generator.layers if layer.weights):
        source = start if (layer.name in upsampler) == (upsampler_from == "start") else gan
        layer.set_weights(source.generator.get_layer(layer.name).get_weights())
    return generator


def cosine(a, b):
    """Cosine of two arrays as vectors (0 where either is all zeros)."""
    norm = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / norm) if norm > 0 else 0.0


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    _, results_path = _common.outputs(args, NAME)
    clock = _common.Stopwatch()
    _, pairs = srresnet.training_pairs(args)
    start, gan = networks(args, pairs)
    fresh = {antialias: srgan_discriminator(gan.channels, gan.discriminator_width, gan.discriminator_size, antialias)
             for antialias in (False, True)}
    data = SRPairs(pairs, srgan.SCALE, patch_size=args.patch_size, batch_size=args.batch_size,
                   steps=args.batches, seed=args.seed)
    terms = {
        "content loss (naturalnet) gradient": lambda sr, hr: gan.perceptual(hr, sr),
        "pixel MSE gradient": lambda sr, hr: ops.mean(ops.square(sr - hr)),
        "adversarial loss gradient, trained discriminator":
            lambda sr, hr: non_saturating_generator_loss(gan.discriminator(sr, training=False)),
        "adversarial loss gradient, untrained discriminator":
            lambda sr, hr: non_saturating_generator_loss(fresh[False](sr, training=False)),
        "adversarial loss gradient, untrained anti-aliased discriminator":
            lambda sr, hr: non_saturating_generator_loss(fresh[True](sr, training=False)),
    }
    at_gan = {"content loss": terms["content loss (naturalnet) gradient"], "pixel MSE": terms["pixel MSE gradient"],
              "adversarial loss": terms["adversarial loss gradient, trained discriminator"]}
    # An SRGAN trained with a fixed upsampler has the SRResNet's output end already: nothing to put back.
    hybrids = {} if gan.fixed_upsampler else {
        "SRGAN output, upsampler put back - SRResNet output": hybrid(gan, start, "start"),
        "SRGAN output, trunk put back - SRResNet output": hybrid(gan, start, "gan")}
    ratios = {name: [] for name in (*terms, "SRGAN output - SRResNet output", *hybrids, "SRResNet output - original")}
    at_gan_ratios, cosines = {name: [] for name in at_gan}, {name: [] for name in at_gan}
    for index in range(args.batches):
        lr, hr = data.batch(index, epoch=0)
        sr, target = ops.convert_to_tensor(start.generator(lr, training=False)), ops.convert_to_tensor(hr)
        for name, term in terms.items():
            gradient = input_gradient(lambda x, term=term: term(x, target), sr)
            ratios[name].append(grid_power_ratio(ops.convert_to_numpy(gradient), PERIOD))
        gan_sr = ops.convert_to_tensor(gan.generator(lr, training=False))
        change = ops.convert_to_numpy(gan_sr) - ops.convert_to_numpy(sr)
        added = grid_component(change, PERIOD)
        for name, term in at_gan.items():
            gradient = ops.convert_to_numpy(input_gradient(lambda x, term=term: term(x, target), gan_sr))
            at_gan_ratios[name].append(grid_power_ratio(gradient, PERIOD))
            cosines[name].append(cosine(grid_component(-gradient, PERIOD), added))
        sr = ops.convert_to_numpy(sr)
        ratios["SRGAN output - SRResNet output"].append(grid_power_ratio(change, PERIOD))
        for name, generator in hybrids.items():
            ratios[name].append(grid_power_ratio(ops.convert_to_numpy(generator(lr, training=False)) - sr, PERIOD))
        ratios["SRResNet output - original"].append(grid_power_ratio(sr - hr, PERIOD))
    rows, at_gan_rows, cosine_rows = (
        {name: {"mean": round(float(np.mean(v)), 3), "std": round(float(np.std(v)), 3)} for name, v in d.items()}
        for d in (ratios, at_gan_ratios, cosines))
    for name, row in rows.items():
        print(f"{name:64s} grid power / white noise's: {row['mean']:.3f} (std {row['std']:.3f} over batches)")
    print("At the SRGAN's outputs:")
    for name in at_gan:
        print(f"  {name:20s} gradient grid power {at_gan_rows[name]['mean']:.3f} (std {at_gan_rows[name]['std']:.3f}); "
              f"cosine of its descent's grid part with the added grid {cosine_rows[name]['mean']:+.3f} "
              f"(std {cosine_rows[name]['std']:.3f})")
    metrics = [{"key": key, "name": f"grid power ratio (period {PERIOD}) of the {name}", "value": rows[name]["mean"],
                "unit": "x white noise", "lower_is_better": True, "split": f"{args.batches} batches of training crops"}
               for key, name in zip(("content_gradient", "pixel_gradient", "adversarial_gradient",
                                     "untrained_adversarial_gradient", "untrained_antialiased_adversarial_gradient",
                                     "srgan_change", *(("srgan_change_upsampler_put_back",
                                                        "srgan_change_trunk_put_back") if hybrids else ()),
                                     "srresnet_error"), rows, strict=True)]
    metrics += [{"key": f"{key}_cosine_at_srgan", "name": f"cosine of the {name} term's descent with the grid the "
                 "SRGAN's training added (grid parts, at the SRGAN's outputs)", "value": cosine_rows[name]["mean"],
                 "unit": "cosine", "split": f"{args.batches} batches of training crops"}
                for key, name in zip(("content", "pixel", "adversarial"), at_gan, strict=True)]
    results = _common.results_record(
        NAME, args, metrics, clock.seconds, None, period=PERIOD, ratios=rows,
        at_srgan_outputs={name: {"gradient_grid_power": at_gan_rows[name], "descent_cosine_with_added_grid":
                                 cosine_rows[name]} for name in at_gan}, srgan=str(args.srgan),
        srresnet=str(args.srresnet), crops=f"{args.batches} x {args.batch_size} training crops of "
        f"{args.patch_size} pixels", reference="Odena, Dumoulin & Olah, Deconvolution and Checkerboard Artifacts, "
        "Distill 2016")
    _common.write_json(results_path, results)
    print(f"wrote {results_path}")
    return results


if __name__ == "__main__":
    main()
