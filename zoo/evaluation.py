"""Measuring a model the way its card says: the evaluation protocols of the zoo's metrics, written once.

A recipe measures its model with these functions and writes, beside each
metric's value, its protocol (`{"name": ..., "args": {...}}`) and a tolerance
(three standard errors over the evaluated items). `zoo evaluate MODEL` runs the
same protocol on the loaded checkpoint and says whether each number is within
its tolerance of the card's:

    report = zoo.evaluation.evaluate("vae_mnist", quick=True)
    for row in report: print(row.key, row.card, row.measured, row.within)

Metrics that need training (a linear probe, few-label fine-tuning, the
word-by-word start of translation) have no protocol here: they are listed as
skipped. `quick` measures a documented subset (`QUICK`), and its tolerance is
three standard errors of that subset's measurement, wider than the card's.

Every protocol returns `{metric key: Measurement}`; a standard error is over
the evaluated items (images, samples, sentences): the spread of their values
divided by the square root of their count, or a bootstrap over them where the
metric is not a mean (Frechet distance, BLEU, modes covered).
"""

from dataclasses import dataclass, field

import numpy as np

from zoo.errors import InputError
from zoo.progress import track

TOLERANCE_SE = 3.0  # a metric is reproduced within three standard errors
BOOTSTRAP = 10  # resamples for the standard error of a metric that is not a mean
# What --quick measures, by protocol: documented in `zoo evaluate --help` and each card's protocol.
QUICK = {"iwae": "the first 1000 test images", "gan_samples": "2000 samples against 2000 test images",
         "stacked_modes": "all samples (modes need them all)", "cyclegan_usps": "the first 500 test digits a domain",
         "cyclegan_outline": "the first 500 test digits", "denoising": "the first 8 images of each set",
         "classification": "the first 2000 test images", "identification": "the whole test split (120 faces)",
         "reconstruction": "the first 2000 test images, k-means skipped", "translation": "the first 200 sentences",
         "super_resolution": "the first 5 images of each set", "completion": "the first 30 test images",
         "clustering": "the first 1000 images of each split", "face_samples": "all of it (300 faces)",
         "policy_episodes": "the first 20 evaluation episodes"}
SR_SETS = ("set5", "set14", "bsd100")  # the test sets of Ledig et al.'s Table 2


@dataclass
class Measurement:
    value: float
    standard_error: float  # over the evaluated items
    items: int
    relative: float = 0.0  # a stated relative tolerance, for a metric no sampling moves (k-means, greedy BLEU)

    @property
    def tolerance(self):
        return max(TOLERANCE_SE * self.standard_error, self.relative * abs(self.value))


@dataclass
class Row:
    """One metric of a card, measured again (or skipped, with the reason)."""

    key: str
    card: float
    measured: float = None
    tolerance: float = None
    within: bool = None
    skipped: str = None
    protocol: dict = field(default_factory=dict)


PROTOCOLS = {}


def protocol(name):
    def register(function):
        PROTOCOLS[name] = function
        return function

    return register


def mean_of(values):
    values = np.asarray(values, dtype="float64")
    return Measurement(float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1
                       else 0.0, len(values))


def bootstrapped(statistic, *samples, seed=0):
    """`statistic(*samples)` and its standard error by `BOOTSTRAP` resamples of each sample (with replacement)."""
    value = float(statistic(*samples))
    rng = np.random.default_rng(seed)
    draws = [statistic(*(s[rng.integers(0, len(s), len(s))] for s in samples)) for _ in range(BOOTSTRAP)]
    return Measurement(value, float(np.std(draws, ddof=1)), min(len(s) for s in samples))


def proportion(hits):
    hits = np.asarray(hits, dtype="float64")
    p = float(hits.mean())
    return Measurement(p, float(np.sqrt(p * (1 - p) / len(hits))), len(hits))


def with_protocol(metrics, name, args, measured):
    """The card's metric dicts `metrics` with the protocol `name`/`args` and a tolerance on each one that
    `measured` (`{key: Measurement}`) holds; the others are left as they are (they need training)."""
    out = []
    for metric in metrics:
        m = measured.get(metric["key"])
        if m is not None:
            metric = {**metric, "protocol": {"name": name, "args": args}, "tolerance": round(m.tolerance, 6)}
        out.append(metric)
    return out


def values(measured):
    """`{key: value}` of `{key: Measurement}`."""
    return {key: m.value for key, m in measured.items()}


# The protocols -------------------------------------------------------------------------------------------------


@protocol("iwae")
def iwae(model, dataset="mnist", split="test", binarization_seed=123, k=1000, seed=0, images=None, quick=False):
    """Test NLL by the IWAE bound with k samples and the ELBO (k = 1), on the split (its first `images`) binarized
    once with a seed."""
    import zoo.data
    from zoo.metrics import iwae_bound

    x, _ = zoo.data.load(dataset, split)
    binary = (np.random.default_rng(binarization_seed).uniform(size=x.shape) < x).astype("float32")
    binary = binary[:min(images or len(binary), 1000 if quick else len(binary))]

    def bound(samples):
        return iwae_bound(lambda xb: model.encoder(xb, training=False), lambda z: model.decoder(z, training=False),
                          binary, k=samples, seed=seed)

    return {"nll_iwae": mean_of(-bound(k)), "negative_elbo": mean_of(-bound(1))}


def _sample_metrics(fake, real, network, fid_key, kl_key, precision_recall_too=False):
    """Frechet distance of `network`'s features of `fake` and `real`, the KL to uniform of its class histogram of
    `fake`, and precision/recall (k = 3) of the features if asked."""
    from zoo.metrics import frechet_distance, kl_to_uniform, precision_recall

    fake_features, fake_labels = network.features(fake), network.predict_labels(fake)
    real_features = network.features(real)
    out = {fid_key: bootstrapped(frechet_distance, real_features, fake_features),
           kl_key: bootstrapped(lambda labels: kl_to_uniform(np.bincount(labels, minlength=network.n_classes)),
                                fake_labels)}
    if precision_recall_too:
        out["precision"] = bootstrapped(lambda r, f: precision_recall(r, f, k=3)[0], real_features, fake_features)
        out["recall"] = bootstrapped(lambda r, f: precision_recall(r, f, k=3)[1], real_features, fake_features)
    return out


@protocol("gan_samples")
def gan_samples(model, dataset="mnist", samples=10000, seed=0, classifier="mnistnet", quick=False):
    """`samples` samples (seed `seed`) against as many test images: Frechet distance, precision/recall (k = 3)
    and class-histogram KL by the feature network `classifier`, Frechet distance and class KL by the judge."""
    import zoo
    import zoo.data
    from zoo.metrics import judges

    n = min(2000 if quick else samples, samples)
    real, _ = zoo.data.load(dataset, "test")
    fake = model.sample(n, seed=seed)
    out = _sample_metrics(fake, real[:n], zoo.load(classifier, compile=False), f"fid_{classifier}", "class_kl",
                          precision_recall_too=True)
    name = judges.judge_name(dataset)
    out.update(_sample_metrics(fake, real[:n], judges.judge(dataset), f"fid_{name}", f"class_kl_{name}"))
    return out


@protocol("face_samples")
def face_samples(model, seed=0, quick=False):
    """As many samples (seed `seed`) as the 300 faces of the 30 Olivetti people face models train on, against
    those faces: the Frechet distance of olivetti_judge's features and the paper's sliced Wasserstein distance."""
    from zoo.data import olivetti
    from zoo.metrics import frechet_distance, judges
    from zoo.metrics.swd import sliced_wasserstein

    real, _ = olivetti.load_olivetti("train_people")
    fake = model.sample(len(real), seed=seed)
    judge = judges.judge("olivetti")
    swd = sliced_wasserstein(real, fake, seed=0)
    return {f"fid_{judges.judge_name('olivetti')}": bootstrapped(frechet_distance, judge.features(real),
                                                                 judge.features(fake)),
            # No resampling: SWD draws its own patches and directions (seeded); a backend's rounding moves it a little.
            "swd": Measurement(float(swd["mean"]), 0.0, len(real), relative=0.02)}


@protocol("stacked_modes")
def stacked_modes(model, samples=26000, seed=0, quick=False):
    """Modes of stacked MNIST covered by `samples` samples and the KL of their histogram to uniform, as mnistnet
    and as mnist_judge read each channel."""
    import zoo
    from zoo.metrics import judges
    from zoo.metrics.modes import channel_labels, kl_to_uniform, mode_histogram, modes_covered

    fake = model.sample(samples, seed=seed)
    out = {}
    for network, suffix in ((zoo.load("mnistnet", compile=False), ""), (judges.judge("mnist"), "_mnist_judge")):
        labels = channel_labels(network.predict_labels, fake)  # (samples, 3): a sample's mode is its 3 digits
        out[f"modes_covered{suffix}"] = bootstrapped(lambda rows: modes_covered(mode_histogram(rows)), labels)
        out[f"mode_kl{suffix}"] = bootstrapped(lambda rows: kl_to_uniform(mode_histogram(rows)), labels)
    return out


def judged_accuracy(judge, translated, labels, real_images, real_labels):
    """How often `judge` reads the source's label in `translated`, and that as a fraction of its accuracy on real
    images of the target domain (what a perfect translation would get)."""
    judged = proportion(judge.predict_labels(translated) == labels)
    real = float(np.mean(judge.predict_labels(real_images) == real_labels))
    return judged, Measurement(judged.value / real, judged.standard_error / real, judged.items)


@protocol("cyclegan_usps")
def cyclegan_usps(model, images=None, quick=False):
    """MNIST <-> USPS test digits (the first `images` of each): label preservation by uspsnet / mnistnet and by
    the judges (also relative to the judge's accuracy on real target digits), cycle error, Frechet distance to
    the real target digits."""
    import zoo
    import zoo.data
    from zoo.data.usps import load_usps
    from zoo.metrics import frechet_distance, judges

    mnist, usps = zoo.data.load("mnist", "test"), load_usps("test")
    limit = min(images or len(mnist[1]), 500 if quick else len(mnist[1]))
    mnist, usps = (mnist[0][:limit], mnist[1][:limit]), (usps[0][:limit], usps[1][:limit])
    out = {}
    for key, (x, y), (real_x, real_y), network, dataset in (
            ("a2b", mnist, usps, "uspsnet", "usps"), ("b2a", usps, mnist, "mnistnet", "mnist")):
        classifier, judge = zoo.load(network, compile=False), judges.judge(dataset)
        translated = model.translate(x, key)
        out[f"accuracy_{key}"] = proportion(classifier.predict_labels(translated) == y)
        out[f"cycle_l1_{key}"] = mean_of(np.abs(model.reconstruct(x, key) - x).mean(axis=(1, 2, 3)))
        out[f"fid_{network}_{key}"] = bootstrapped(frechet_distance, classifier.features(translated),
                                                   classifier.features(real_x))
        name = judges.judge_name(dataset)
        out[f"accuracy_{key}_{name}"], out[f"relative_accuracy_{key}_{name}"] = judged_accuracy(
            judge, translated, y, real_x, real_y)
    return out


@protocol("cyclegan_outline")
def cyclegan_outline(model, images=None, quick=False):
    """MNIST <-> outlined MNIST test digits (the first `images`) against the true translations: L1, PSNR, cycle
    error; label preservation of outline -> MNIST by mnistnet and mnist_judge."""
    import zoo
    import zoo.data
    from zoo.data.styled import outline
    from zoo.metrics import judges, psnr

    x, y = zoo.data.load("mnist", "test")
    limit = min(images or len(y), 500 if quick else len(y))
    x, y = x[:limit], y[:limit]
    styled = outline(x)
    out = {}
    for key, source, truth in (("a2b", x, styled), ("b2a", styled, x)):
        translated = model.translate(source, key)
        out[f"l1_{key}"] = mean_of(np.abs(translated - truth).mean(axis=(1, 2, 3)))
        out[f"psnr_{key}"] = mean_of([psnr(t, e) for t, e in zip(truth, translated, strict=True)])
        out[f"cycle_l1_{key}"] = mean_of(np.abs(model.translate(translated, "b2a" if key == "a2b" else "a2b")
                                                - source).mean(axis=(1, 2, 3)))
        if key == "b2a":
            out["accuracy_b2a"] = proportion(zoo.load("mnistnet", compile=False).predict_labels(translated) == y)
            out["accuracy_b2a_mnist_judge"], out["relative_accuracy_b2a_mnist_judge"] = judged_accuracy(
                judges.judge("mnist"), translated, y, x, y)
    return out


@protocol("denoising")
def denoising(model, sigmas=(15, 25, 50), noise_seed=0, images=None, quick=False):
    """Mean PSNR (peak 255) of the denoised and of the noisy BSD68 (grey) and CBSD68 (colour) images, noise of
    each sigma added with a fixed seed and not clipped, the output clipped to [0, 1]."""
    from zoo.data import natural
    from zoo.metrics import psnr

    limit = 8 if quick else images
    out = {}
    for name, channels in (("bsd68", 1), ("cbsd68", 3)):
        clean = natural.load_images(name, channels, limit=limit)
        for sigma in track(sigmas, label=f"denoising {len(clean)} {name} images at {len(sigmas)} noise levels"):
            rng = np.random.default_rng([noise_seed, sigma, channels])
            noisy = [image + np.float32(sigma / 255.0) * rng.standard_normal(image.shape, dtype=np.float32)
                     for image in clean]
            out[f"psnr_noisy_{name}_s{sigma}"] = mean_of([psnr(c, n) for c, n in zip(clean, noisy, strict=True)])
            out[f"psnr_{name}_s{sigma}"] = mean_of([psnr(c, model.denoise(n)) for c, n in zip(clean, noisy,
                                                                                              strict=True)])
    return out


def super_resolution_scores(model, name, scale=4, judge=None, images=None, tile=None, bicubic=True, pictures=0):
    """Per image of test set `name` (its first `images`): the Y PSNR / SSIM (`zoo.metrics.psnr.sr_scores`) of the
    model's x`scale` upscaling, and of bicubic's; with `judge` (a `NaturalJudge` or its name), their perceptual
    distance to the original too.

    The LR is MATLAB's bicubic `imresize(hr, 1/scale)` on 8 bits (`bicubic_pair`); each output is clipped and
    taken to 8 bits before it is scored, as the evaluation scripts of the SR literature do. Returns
    `({stem: {"model": {...}, "bicubic": {...}}}, [(hr, {"model": sr, "bicubic": ...})] of the first `pictures`)`.
    """
    import zoo
    from zoo.data import natural
    from zoo.data.images import read_image_file
    from zoo.data.resize import bicubic_pair, imresize, to_uint8
    from zoo.metrics.psnr import sr_scores
    from zoo.models.natural_features import perceptual_distance

    judge = zoo.load(judge, compile=False) if isinstance(judge, str) else judge
    scores, shown = {}, []
    for k, path in enumerate(natural.image_files(name)[:images]):
        lr, hr = bicubic_pair(read_image_file(path), scale)
        outputs = {"model": model.upscale(lr, tile=tile)}
        if bicubic:
            outputs["bicubic"] = imresize(lr, scale, quantize=True)
        outputs = {method: to_uint8(np.clip(out, 0, 1)) / np.float32(255) for method, out in outputs.items()}
        scores[path.stem] = {}
        for method, out in outputs.items():
            scores[path.stem][method] = sr_scores(hr, out, scale)
            if judge is not None:
                scores[path.stem][method]["perceptual"] = float(perceptual_distance(judge, hr, out)[0])
        if k < pictures:
            shown.append((hr, outputs))
    return scores, shown


@protocol("super_resolution")
def super_resolution(model, scale=4, sets=SR_SETS, judge=None, images=None, tile=None, quick=False):
    """Mean Y PSNR / SSIM of the model's and bicubic's x`scale` upscaling of each test set (`<set>_psnr`,
    `<set>_bicubic_psnr`, ...), with `judge` their perceptual distance to the originals (`<set>_perceptual`);
    see `super_resolution_scores`."""
    import zoo

    judge = zoo.load(judge, compile=False) if isinstance(judge, str) else judge
    out = {}
    for name in track(sets, label=f"super-resolving {', '.join(sets)} x{scale}"):
        scores, _ = super_resolution_scores(model, name, scale, judge, 5 if quick else images, tile)
        for method, prefix in (("model", ""), ("bicubic", "bicubic_")):
            for key in next(iter(scores.values()))[method]:
                out[f"{name}_{prefix}{key}"] = mean_of([s[method][key] for s in scores.values()])
    return out


def completion_test_set(kind, images=None):
    """The fixed test images of completion protocol `kind` and their holes: `(images (n, H, W, C) float32,
    masks bool (n, H, W), person ids or None)`.

    faces: the 100 images of the 10 Olivetti people held out of every face model; scenes: the centre 128x128
    crop of each CBSD68 image (68); digits: the MNIST test split. Each image gets the rectangle
    `zoo.data.masks.test_masks(kind, n)[i]`, the same whatever `images` keeps.
    """
    from zoo.data.masks import test_masks

    labels = None
    if kind == "faces":
        from zoo.data import olivetti

        x, labels = olivetti.load_olivetti("held_out_people")
    elif kind == "scenes":
        from zoo.data import natural

        size = 128
        x = np.stack([image[(image.shape[0] - size) // 2:(image.shape[0] + size) // 2,
                            (image.shape[1] - size) // 2:(image.shape[1] + size) // 2]
                      for image in natural.load_images("cbsd68", 3)])
    elif kind == "digits":
        import zoo.data

        x, labels = zoo.data.load("mnist", "test")
    else:
        raise InputError(f"Unknown completion test set {kind!r}; expected faces, scenes or digits.")
    x, labels = x[:images], None if labels is None else labels[:images]
    return x, test_masks(kind, len(x)), labels


def completion_scores(fill, images, masks):
    """Per image, the hole's PSNR / SSIM / L1 (`zoo.metrics.hole.hole_scores`) of `fill(image, mask)`, and the
    completed images."""
    from zoo.metrics.hole import hole_scores

    completed = np.stack([fill(image, mask) for image, mask in zip(images, masks, strict=True)])
    scores = [hole_scores(image, out, mask) for image, out, mask in zip(images, completed, masks, strict=True)]
    return {key: [s[key] for s in scores] for key in scores[0]}, completed


@protocol("completion")
def completion(model, kind="faces", images=None, postprocess=False, quick=False):
    """The hole's mean PSNR, SSIM (its bounding box) and L1 of the model's fills of the fixed test set `kind`
    (`completion_test_set`; keys `hole_*`, `blended_hole_*` with the paper's `postprocess`); on faces, the
    identity judge's accuracy on the completed held-out people's images 7-9 (`identity_accuracy`) beside its
    accuracy on the originals (`identity_accuracy_originals`)."""
    x, masks, labels = completion_test_set(kind, 30 if quick else images)
    scores, completed = completion_scores(lambda i, m: model.complete(i, m, postprocess=postprocess), x, masks)
    prefix = "blended_" if postprocess else ""
    out = {f"{prefix}hole_{key}": mean_of(values) for key, values in scores.items()}
    if kind == "faces":
        out[f"{prefix}identity_accuracy"] = identity_accuracy(completed, labels)
        if not postprocess:
            out["identity_accuracy_originals"] = identity_accuracy(x, labels)
    return out


def identity_accuracy(faces, labels):
    """How often the identity judge (olivetti_judge) names the person of the held-out people's images 7-9 among
    `completion_test_set("faces")`'s `faces` (the judge never trained on those images)."""
    from zoo.data import olivetti
    from zoo.metrics.judges import judge

    test = np.arange(len(faces)) % olivetti.IMAGES_PER_PERSON >= olivetti.TRAIN_PER_PERSON
    return proportion(judge("olivetti").predict_labels(faces[test]) == labels[test])


@protocol("face_reconstruction")
def face_reconstruction(model, quick=False):
    """Reconstructions (decoded posterior means) of the 100 faces of the 10 people held out of face models
    (`zoo.data.olivetti.HELD_OUT_PEOPLE`): mean PSNR and SSIM against the faces; and the share of those people's
    images 7-9 whose reconstruction olivetti_judge, which knows them from their images 0-6, names rightly."""
    from zoo.data import olivetti
    from zoo.metrics import judges, psnr, ssim

    faces, people = olivetti.load_olivetti("held_out_people")  # 10 a person, in order
    reconstructed = np.clip(model.reconstruct(faces), 0.0, 1.0)
    queries = olivetti.split_mask(len(faces), train=False)  # each person's images 7-9: "held_out_people_test"
    named = judges.judge("olivetti").predict_labels(reconstructed[queries])
    people = people[queries]
    return {"psnr_held_out_people": mean_of([psnr(a, b) for a, b in zip(faces, reconstructed, strict=True)]),
            "ssim_held_out_people": mean_of(ssim(faces, reconstructed)),
            "identity_olivetti_judge": proportion(named == people)}


@protocol("classification")
def classification(model, dataset="mnist", name="mnistnet", agreement=None, images=None, quick=False):
    """Accuracy on the test split (its first `images`); the real-vs-real floor of the Frechet distance of its
    features (those test images against as many training images); a judge's agreement with the feature network
    of its data."""
    import zoo
    from zoo.metrics import frechet_distance

    if dataset == "olivetti_train_people":  # facenet: the 30 people face models train on, their images 7-9
        from zoo.data import olivetti

        x, y = olivetti.load_olivetti("train_people_test")
        return {"accuracy": proportion(model.predict_labels(x) == y)}
    if dataset == "olivetti":
        from zoo.data import olivetti

        x, y = olivetti.load_olivetti("test")
        predicted = model.predict_labels(x)
        held_out = np.isin(y, olivetti.HELD_OUT_PEOPLE)
        return {"accuracy": proportion(predicted == y),
                "accuracy_held_out_people": proportion(predicted[held_out] == y[held_out])}
    if dataset == "usps":
        from zoo.data.usps import load_usps

        (x_train, _), (x, y) = load_usps("train"), load_usps("test")
    else:
        import zoo.data

        (x_train, _), (x, y) = zoo.data.load(dataset, "train"), zoo.data.load(dataset, "test")
    limit = min(images or len(x), 2000 if quick else len(x))
    x, y = x[:limit], y[:limit]
    predicted = model.predict_labels(x)
    n = min(len(x), len(x_train))
    out = {"accuracy": proportion(predicted == y),
           f"fid_{name}_floor": bootstrapped(frechet_distance, model.features(x[:n]), model.features(x_train[:n]))}
    if agreement:
        out[f"agreement_{agreement}"] = proportion(predicted == zoo.load(agreement, compile=False).predict_labels(x))
    return out


@protocol("policy_episodes")
def policy_episodes(model, episodes=100, max_steps=10_000, quick=False):
    """A policy's mean score and its spread over the evaluation episodes (seeds from
    `zoo.models.evolution.EVALUATION_SEED` on, which no training generation draws), each capped at `max_steps`;
    the episodes are deterministic given the policy, so a re-run on the same backend scores the same."""
    return policy_measurements(policy_scores(model, min(episodes, 20) if quick else episodes, max_steps))


def policy_scores(model, episodes=100, max_steps=10_000):
    """The policy's score in each of the first `episodes` evaluation episodes (numpy)."""
    from zoo.models import evolution

    arena = evolution.Arena(lambda: evolution.make_environment(model), max_steps=max_steps)
    try:
        return evolution.evaluate(model, arena, episodes).scores[0]
    finally:
        arena.close()


def policy_measurements(scores):
    """`policy_episodes`' measurements of the scores `policy_scores` gave."""
    return {"mean_score": mean_of(scores), "score_std": bootstrapped(np.std, np.asarray(scores))}


@protocol("identification")
def identification(model, quick=False):
    """1-NN identification of the Olivetti queries (images 7-9 of each person) against the gallery (images 0-6) in
    the fitted subspace, with all its components and, for eigenfaces, with 39 (fisherfaces' count); for
    eigenfaces also the test images' reconstruction error per pixel."""
    from zoo.data import olivetti

    x_train, y_train = olivetti.load_olivetti("train")
    x_test, y_test = olivetti.load_olivetti("test")
    out = {"identification_accuracy": proportion(model.identify(x_test, x_train, y_train) == y_test)}
    if hasattr(model, "reconstruct"):
        out["identification_accuracy_39"] = proportion(model.identify(x_test, x_train, y_train, 39) == y_test)
        out["reconstruction_mse"] = mean_of(np.mean((model.reconstruct(x_test) - x_test) ** 2, axis=(1, 2, 3)))
    return out


@protocol("reconstruction")
def reconstruction(model, dataset="mnist", seed=0, active_kl=0.01, images=None, train_images=None, quick=False):
    """Test loss (the mean over batches of 100 test images), retrieval precision@10 of test queries in the
    training codes, k-means clustering of all their codes (not with --quick) and, for a VAE, its latent
    dimensions with a mean KL above `active_kl` nats; on the first `images` test and `train_images` training
    images (all by default)."""
    import keras

    import zoo.data
    from zoo.metrics import cluster_accuracy, kmeans, nearest_neighbours, normalized_mutual_info

    (x_train, y_train), (x_test, y_test) = zoo.data.load(dataset, "train"), zoo.data.load(dataset, "test")
    x_train, y_train = x_train[:train_images], y_train[:train_images]
    limit = min(images or len(y_test), 2000 if quick else len(y_test))
    x_test, y_test = x_test[:limit], y_test[:limit]
    out = {"test_loss": mean_of([float(model.compute_terms(keras.ops.convert_to_tensor(x_test[i:i + 100]))["loss"])
                                 for i in range(0, len(x_test), 100)])}

    def codes(x):
        c = model.encode(x)
        return c[0] if isinstance(c, tuple) else c

    train_codes, test_codes = codes(x_train), codes(x_test)
    neighbours = nearest_neighbours(test_codes, train_codes, k=10)
    out["retrieval_p10"] = mean_of(np.mean(y_train[neighbours] == y_test[:, None], axis=1))
    if not quick:  # k-means is seeded: no sampling moves it, but a backend's rounding may move a few images
        labels = np.concatenate([y_train, y_test])
        _, clusters, _ = kmeans(np.concatenate([train_codes, test_codes]), 10, n_init=10, seed=seed)
        out["cluster_accuracy"] = Measurement(cluster_accuracy(labels, clusters), 0.0, len(labels), relative=0.02)
        out["cluster_nmi"] = Measurement(normalized_mutual_info(labels, clusters), 0.0, len(labels), relative=0.02)
    if hasattr(model, "kl_per_dimension"):
        kl = model.kl_per_dimension(x_test)
        out["active_dimensions"] = Measurement(float(np.sum(kl > active_kl)), 0.0, len(x_test), relative=0.1)
    return out


@protocol("clustering")
def clustering(model, dataset="mnist", images=None, quick=False):
    """Clustering accuracy (clusters matched one to one to the labels, Hungarian) and NMI of
    `model.predict_clusters` over the training and test images together (70,000 for MNIST, as the DEC, IDEC
    and VaDE papers), or the first `images` of each split. Labels are used here only."""
    import zoo.data
    from zoo.metrics import cluster_accuracy, normalized_mutual_info

    limit = 1000 if quick else images
    (x_train, y_train), (x_test, y_test) = zoo.data.load(dataset, "train"), zoo.data.load(dataset, "test")
    x = np.concatenate([x_train[:limit], x_test[:limit]])
    labels = np.concatenate([y_train[:limit], y_test[:limit]])
    clusters = model.predict_clusters(x)
    # No sampling moves them; a backend's rounding may move an image or two between clusters.
    return {"cluster_accuracy": Measurement(cluster_accuracy(labels, clusters), 0.0, len(x), relative=0.002),
            "cluster_nmi": Measurement(normalized_mutual_info(labels, clusters), 0.0, len(x), relative=0.002)}


@protocol("translation")
def translation(model, test="test_2016_flickr", beam=4, val_seed=0, quick=False):
    """Test BLEU both ways with beam search (sacrebleu, lowercased; and on Moses tokens, the papers' way), and
    the round-trip BLEU of the validation halves greedily (the unsupervised selection criterion)."""
    from zoo.data.multi30k import load_multi30k, monolingual
    from zoo.text import corpus_bleu, moses_bleu

    languages = tuple(model.languages)
    sentences = load_multi30k(test, languages)
    if quick:
        sentences = {lang: s[:200] for lang, s in sentences.items()}
    out = {}
    for src, tgt in (languages, languages[::-1]):
        hypotheses = np.array(model.translate(sentences[src], src=src, tgt=tgt, beam=beam, batch_size=256), object)
        references = np.array(sentences[tgt], object)
        out[f"bleu_{src}_{tgt}"] = bootstrapped(lambda h, r: corpus_bleu(list(h), list(r)).score, hypotheses,
                                                references)
        out[f"moses_bleu_{src}_{tgt}"] = bootstrapped(lambda h, r: moses_bleu(list(h), list(r), tgt).score,
                                                      hypotheses, references)
    val, _ = monolingual("val", languages, seed=val_seed)
    if quick:
        val = {lang: s[:100] for lang, s in val.items()}
    scores = []
    for src, tgt in (languages, languages[::-1]):
        back = model.translate(model.translate(val[src], src, tgt, batch_size=256), tgt, src, batch_size=256)
        scores.append(corpus_bleu(back, val[src]).score)
    # greedy decoding moves with no sampling, but a backend's rounding may change a few words
    out["round_trip_bleu"] = Measurement(float(np.mean(scores)), 0.0, sum(len(v) for v in val.values()),
                                         relative=0.02)
    return out


# Re-measuring a card -------------------------------------------------------------------------------------------


def evaluate(name_or_model, quick=False, progress=None):
    """Re-measure the card of a model (a zoo name, folder, hf:// id, or a loaded model): one `Row` per metric.

    A metric with no protocol (it needs training, or its checkpoint predates protocols) is skipped with the
    reason. `progress(message)` is told each protocol as it starts."""
    import zoo

    model = zoo.load(name_or_model, compile=False) if isinstance(name_or_model, str) else name_or_model
    metadata = getattr(model, "zoo_metadata", None)
    if not metadata:
        raise InputError(f"{name_or_model!r} carries no card metadata: load it with zoo.load")
    rows, groups = [], {}
    for metric in metadata.get("metrics") or []:
        spec = metric.get("protocol")
        row = Row(metric["key"], metric["value"], protocol=spec or {})
        if not spec:
            row.skipped = metric.get("not_evaluated") or "no evaluation protocol on the card (it needs training, " \
                                                         "or the card predates protocols)"
        elif spec["name"] not in PROTOCOLS:
            row.skipped = f"unknown protocol {spec['name']!r} (a newer zoo wrote this card)"
        else:
            groups.setdefault((spec["name"], repr(sorted(spec["args"].items()))), []).append((row, metric))
        rows.append(row)
    for (name, _), members in groups.items():
        if progress:
            progress(f"{name} ({QUICK[name] if quick else 'as the card measured it'})")
        args = members[0][1]["protocol"]["args"]
        measured = PROTOCOLS[name](model, quick=quick, **args)
        for row, metric in members:
            m = measured.get(row.key)
            if m is None:
                row.skipped = f"protocol {name} does not measure {row.key}"
                continue
            row.measured = m.value
            row.tolerance = m.tolerance if quick else metric.get("tolerance", m.tolerance)
            row.within = bool(abs(m.value - row.card) <= row.tolerance + 0.5 * 10 ** -_decimals(row.card))
    return rows


def _decimals(value):
    """The decimals a card's number was rounded to (a difference below half its last digit is no difference)."""
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0
