"""Recipe: bicubic x4 super-resolution on Set5, Set14 and BSD100, the baseline row of the SR literature.

The protocol of SRCNN, VDSR and SRResNet/SRGAN (Ledig et al., "Photo-Realistic
Single Image Super-Resolution Using a Generative Adversarial Network", CVPR
2017, Table 2): each HR image is cropped to multiples of 4, downscaled by
MATLAB's antialiased bicubic `imresize(hr, 1/4)` on its uint8 pixels, and the
LR image upscaled back by `imresize(lr, 4)` (`zoo.data.resize`, both rounded to
8 bits as MATLAB does on uint8); PSNR and SSIM are measured on the BT.601 Y
channel (a grey image is its own Y) with 4 pixels cropped at each border
(`zoo.metrics.psnr.sr_scores`). This fixes the measurement the x4 models will
be scored with: the bicubic rows must come out within 0.1 dB of the paper's.

Ledig et al.'s SSIM column is not Wang et al.'s SSIM as `zoo.metrics.ssim`
(and the other SR papers) compute it: theirs is 0.01 to 0.05 higher. The
results record the gap.

    python recipes/sr_bicubic.py           # results/sr_bicubic_x4.json
    python recipes/sr_bicubic.py --quick   # two images a set; writes under logs/
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import numpy as np  # noqa: E402

import _common  # noqa: E402
from zoo.data import natural  # noqa: E402
from zoo.data.images import read_image_file  # noqa: E402
from zoo.data.resize import bicubic_pair, imresize  # noqa: E402
from zoo.metrics.psnr import sr_scores  # noqa: E402

NAME = "sr_bicubic_x4"
SCALE = 4
# Ledig et al. 2017, Table 2, bicubic x4: (PSNR dB, SSIM)
PAPER = {"set5": (28.43, 0.8211), "set14": (25.99, 0.7486), "bsd100": (25.94, 0.6935)}
TITLES = {"set5": "Set5", "set14": "Set14", "bsd100": "BSD100"}
AIM_DB = 0.1


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0], trains=False)  # measures: nothing to train or resume
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder laid out like shared/data (default $ZOO_DATA_DIR, else ../shared/data)")
    return parser.parse_args(argv)


def training_data(args):
    """The recipe trains on nothing (tests/test_test_sets.py asks every recipe)."""
    return {}


def bicubic_scores(path, scale=SCALE):
    """`{"psnr", "ssim"}` of bicubic xscale on one HR image file."""
    hr = read_image_file(path)  # float32 k/255, grey files (h, w, 1)
    lr, hr = bicubic_pair(hr, scale)
    sr = imresize(lr, scale, quantize=True)
    return sr_scores(hr, sr, scale)


def main(argv=None):
    args = parse_args(argv)
    _, results_path = _common.outputs(args, NAME)
    clock = _common.Stopwatch()
    sets, metrics = {}, []
    for name, (paper_psnr, paper_ssim) in PAPER.items():
        files = natural.image_files(name, args.data_dir)[:2 if args.quick else None]
        images = {f.stem: bicubic_scores(f) for f in files}
        mean = {key: float(np.mean([s[key] for s in images.values()])) for key in ("psnr", "ssim")}
        sets[name] = {
            "images": len(images),
            "psnr": round(mean["psnr"], 4), "ssim": round(mean["ssim"], 4),
            "paper_psnr": paper_psnr, "paper_ssim": paper_ssim,
            "psnr_difference": round(mean["psnr"] - paper_psnr, 4),
            "ssim_difference": round(mean["ssim"] - paper_ssim, 4),
            "within_aim": abs(mean["psnr"] - paper_psnr) <= AIM_DB,
            "per_image": {stem: {k: round(v, 4) for k, v in s.items()} for stem, s in images.items()},
        }
        split = f"{TITLES[name]}, {len(images)} images, x{SCALE}"
        where = f"on {TITLES[name]} (Y, {SCALE}-pixel border cropped)"
        metrics += [
            {"key": f"{name}_psnr", "name": f"Bicubic x{SCALE} PSNR {where}", "value": round(mean["psnr"], 2),
             "unit": "dB", "lower_is_better": False, "split": split, "reference": f"Ledig et al. 2017: {paper_psnr}"},
            {"key": f"{name}_ssim", "name": f"Bicubic x{SCALE} SSIM {where}", "value": round(mean["ssim"], 4),
             "unit": "", "lower_is_better": False, "split": split, "reference": f"Ledig et al. 2017: {paper_ssim}"},
        ]
    lines = ["| set | images | PSNR | paper | difference | SSIM | paper | difference |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in sets.items():
        lines.append(f"| {TITLES[name]} | {row['images']} | {row['psnr']:.2f} | {row['paper_psnr']:.2f} | "
                     f"{row['psnr_difference']:+.2f} | {row['ssim']:.4f} | {row['paper_ssim']:.4f} | "
                     f"{row['ssim_difference']:+.4f} |")
    print("\n".join(lines))
    results = _common.results_record(
        NAME, args, metrics, clock.seconds, None, scale=SCALE, sets=sets,
        paper="Ledig et al., Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network, "
              "CVPR 2017, Table 2 (bicubic)",
        protocol=f"HR cropped to multiples of {SCALE}; LR = MATLAB imresize(hr, 1/{SCALE}) (bicubic, antialiased) on "
                 f"uint8; SR = imresize(lr, {SCALE}) on uint8; PSNR/SSIM on Y (BT.601, rgb2ycbcr; grey images as "
                 f"they are) in floats, {SCALE} pixels cropped at each border; SSIM of Wang et al. 2004 (11x11 "
                 "Gaussian, sigma 1.5)",
        aim=f"|PSNR - paper| <= {AIM_DB} dB on each set")
    _common.write_json(results_path, results)
    print(f"wrote {results_path}")
    return results


if __name__ == "__main__":
    main()
