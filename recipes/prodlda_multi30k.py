"""Recipe: topic models of the Multi30k English captions, ProdLDA (prodlda_multi30k) against classical LDA.

Srivastava & Sutton, "Autoencoding Variational Inference for Topic Models", ICLR 2017 (arXiv:1703.01488):
ProdLDA (zoo/models/topics.py, as the authors' code builds it) trained with Adam(2e-3, beta_1 = 0.99) on
batches of 200 documents, the KL term's weight raised from 0 to 1 over the first 50 epochs (Bowman et al. 2016;
`--kl-warmup 0` is the paper's plain ELBO, whose posterior collapses on these 6-word captions), against LDA
fitted by online variational Bayes (scikit-learn; Hoffman et al. 2010),
at K = 20 and K = 50 topics. Documents: the 29,000 English training captions as bags of words (lowercase,
scikit-learn's stop words removed, words seen at least 5 times: zoo.text.bag_of_words; the 4 captions left
with no word are left out of training); held out: the validation and test_2016_flickr captions (2,014).

Measured: each topic's NPMI coherence of its top 10 words, co-occurrence counted over the training captions as
documents (a pair never seen together scores -1; zoo.metrics.coherence), its mean over topics (the paper's
finding: ProdLDA's topics are more coherent than LDA's), and each model's held-out perplexity from its own bound
(reported, not compared: ProdLDA's is a Monte Carlo ELBO of a logistic-normal model, LDA's a mean-field bound).
The K = 20 ProdLDA is bundled (K = 50 collapses even with the warm-up); every model's top words are in the
results and the card.

    python recipes/prodlda_multi30k.py                 # K = 20 and 50, both methods -> checkpoints/prodlda_multi30k
                                                       # (the K = 20 model)
    python recipes/prodlda_multi30k.py --quick         # seconds, tiny settings, writes under logs/
    python recipes/prodlda_multi30k.py --resume        # continue a stopped run
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data.multi30k import load_multi30k  # noqa: E402
from zoo.metrics.coherence import npmi_per_topic, topic_npmi_matrices  # noqa: E402
from zoo.models.topics import BagOfWordsBatches, KLWarmup, OnlineLDA, ProdLDA, paper_optimizer  # noqa: E402
from zoo.text.bag_of_words import multi30k_vocabulary  # noqa: E402

NAME = "prodlda_multi30k"
BUNDLED_K = 20  # K = 50 collapsed even with the warm-up (KL 0.002 nats): see the results
PAPER = ("Srivastava & Sutton, Autoencoding Variational Inference for Topic Models, ICLR 2017 "
         "(arXiv:1703.01488)")
HELD_OUT = ("val", "test_2016_flickr")


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, nargs="+", default=[20, 50], help="K values (the bundled one: 50)")
    parser.add_argument("--epochs", type=int, default=100, help="ProdLDA passes over the training captions")
    parser.add_argument("--batch-size", type=int, default=200, help="(200 in the paper)")
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="Adam's (the paper: 2e-3, beta_1 0.99)")
    parser.add_argument("--kl-warmup", type=int, default=50,
                        help="epochs over which the KL weight rises from 0 to 1 (0: the paper's ELBO throughout, "
                             "which collapses on these 6-word captions: KL 0.0005 nats, NPMI -0.98 at K = 20)")
    parser.add_argument("--lda-iterations", type=int, default=20, help="online LDA's passes (max_iter)")
    parser.add_argument("--lda-batch-size", type=int, default=128, help="online LDA's documents a step")
    args = parser.parse_args(argv)
    if any(k < 2 for k in args.topics):
        parser.error(f"--topics must be at least 2 each; got {args.topics}")
    if args.quick:
        args.topics, args.epochs, args.lda_iterations, args.kl_warmup = [5], 1, 1, 1
    return args


def training_data(args):
    """What the models train on (tests/test_test_sets.py keeps the held-out captions out of it)."""
    return {"sentences": load_multi30k("train", ("en",))["en"]}


def documents(quick):
    """The vocabulary, the training counts (sparse, empty captions left out), the training captions (the NPMI
    reference) and the held-out captions."""
    vocabulary = multi30k_vocabulary()
    train = load_multi30k("train", ("en",))["en"]
    held_out = [s for split in HELD_OUT for s in load_multi30k(split, ("en",))["en"]]
    if quick:
        train, held_out = train[:2000], held_out[:200]
    counts, kept = vocabulary.nonempty(train, sparse=True)
    held_counts, held_kept = vocabulary.nonempty(held_out, sparse=True)
    print(f"{len(vocabulary)} words; {counts.shape[0]} of {len(train)} training captions and "
          f"{held_counts.shape[0]} of {len(held_out)} held-out captions keep a word", flush=True)
    return vocabulary, counts, train, held_counts


def train_prodlda(vocabulary, counts, k, args, resume):
    """ProdLDA with K topics, resumable (a training state per K)."""
    keras.utils.set_random_seed(args.seed + k)
    model = ProdLDA(vocabulary, num_topics=k, seed=args.seed + k)
    model.compile(optimizer=paper_optimizer(args.learning_rate), jit_compile=_common.jit_compile())
    path = _common.state_path(args, NAME).with_name(f"training_state_k{k}.npz")
    state = _common.training_state(args, NAME, model, path=path, resume=resume)
    data = BagOfWordsBatches(counts, batch_size=args.batch_size, seed=args.seed + k)
    callbacks = [KLWarmup(args.kl_warmup)] if args.kl_warmup else []
    history = _common.fit(model, data, args.epochs, args, state, callbacks=callbacks)
    print(f"ProdLDA K={k}: {args.epochs} epochs in {state.seconds:.0f} s, last loss {history['loss'][-1]:.2f}",
          flush=True)
    return model, state, history


def measure(model, reference, vocabulary, held_counts):
    """Top words, NPMI per topic and its mean, held-out perplexity (the model's own bound)."""
    topics = model.topics(10)
    npmi = [float(v) for v in npmi_per_topic(topics, reference, vocabulary)]
    pairs = np.concatenate([m[np.triu_indices(len(t), 1)] for m, t in
                            zip(topic_npmi_matrices(topics, reference, vocabulary), topics)])
    return {"npmi": round(float(np.mean(npmi)), 4), "npmi_per_topic": [round(v, 4) for v in npmi],
            # what limits NPMI on 6-word documents: top-word pairs no caption holds together score -1
            "pairs_never_together": round(float(np.mean(pairs == -1)), 4),
            "npmi_of_pairs_seen_together": round(float(np.mean(pairs[pairs > -1])), 4) if np.any(pairs > -1)
            else None,
            "perplexity": round(float(model.perplexity(held_counts)), 1), "topics": [" ".join(t) for t in topics]}


def not_evaluated(key, bundled_k):
    """Why `zoo evaluate` does not measure a metric of this card again."""
    if "_lda_" in key:
        return "the reference LDA (scikit-learn) is fitted by the recipe, not held in this checkpoint"
    if not key.endswith(f"_k{bundled_k}"):
        return "another K's ProdLDA, not this checkpoint; recipes/prodlda_multi30k.py measures it"
    return "no evaluation protocol for topic models yet; recipes/prodlda_multi30k.py measures it"


def main(argv=None):
    args = parse_args(argv)
    out, results_path = _common.outputs(args, NAME)
    paths = [_common.state_path(args, NAME).with_name(f"training_state_k{k}.npz") for k in args.topics]
    resume = dict(zip(args.topics, _common.check_states(args, NAME, paths)))  # before the data: a bad --resume fails
    vocabulary, counts, reference, held_counts = documents(args.quick)

    runs, bundled = {}, None
    for k in args.topics:
        model, state, history = train_prodlda(vocabulary, counts, k, args, resume[k])
        clock = _common.Stopwatch()
        lda = OnlineLDA(vocabulary, num_topics=k, batch_size=args.lda_batch_size, max_iter=args.lda_iterations,
                        seed=args.seed).fit(counts)
        lda_seconds = clock.seconds
        runs[k] = {"prodlda": {**measure(model, reference, vocabulary, held_counts),
                               "train_seconds": round(state.seconds, 1), "epochs": args.epochs,
                               "final_loss": round(float(history["loss"][-1]), 3)},
                   "lda": {**measure(lda, reference, vocabulary, held_counts), "train_seconds": lda_seconds,
                           "max_iter": args.lda_iterations, "batch_size": args.lda_batch_size}}
        for method in ("prodlda", "lda"):
            r = runs[k][method]
            print(f"K={k} {method}: NPMI {r['npmi']:.4f}, held-out perplexity {r['perplexity']:.1f}; top topics: "
                  + " | ".join(r["topics"][:3]), flush=True)
        if k == (BUNDLED_K if BUNDLED_K in args.topics else args.topics[-1]):
            bundled = (k, model, state, history)

    k, model, state, history = bundled
    metrics = []
    for kk in args.topics:
        split = f"Multi30k English captions: NPMI over the {len(reference)} training captions, perplexity on the " \
                f"{held_counts.shape[0]} validation + test captions; K = {kk}"
        own = " (this model)" if kk == k else ""
        for method, title in (("prodlda", f"ProdLDA{own}"), ("lda", "Online LDA (scikit-learn, the reference)")):
            r = runs[kk][method]
            metrics += [
                {"key": f"npmi_{method}_k{kk}", "name": f"{title}, K = {kk}: mean NPMI of the topics' top 10 words",
                 "value": r["npmi"], "unit": "", "lower_is_better": False, "split": split,
                 **({"reference": "ProdLDA above LDA at equal K (Srivastava & Sutton 2017)"}
                    if method == "prodlda" else {})},
                {"key": f"npmi_seen_{method}_k{kk}", "name": f"{title}, K = {kk}: mean NPMI of the top-word pairs "
                 "some caption holds together (the others score -1)", "value": r["npmi_of_pairs_seen_together"],
                 "unit": "", "lower_is_better": False, "split": split},
                {"key": f"unseen_pairs_{method}_k{kk}", "name": f"{title}, K = {kk}: share of top-word pairs no "
                 "caption holds together", "value": r["pairs_never_together"], "unit": "", "lower_is_better": True,
                 "split": split},
                {"key": f"perplexity_{method}_k{kk}", "name": f"{title}, K = {kk}: held-out perplexity, its own "
                 "bound (not comparable across the two methods)", "value": r["perplexity"], "unit": "",
                 "lower_is_better": True, "split": split},
            ]
    for metric in metrics:  # no card protocol re-measures these yet: say why (tests/test_evaluation.py)
        metric["not_evaluated"] = not_evaluated(metric["key"], k)
    results = _common.results_record(
        NAME, args, metrics, state, history, runs={str(kk): v for kk, v in runs.items()}, bundled_k=k,
        vocabulary_size=len(vocabulary), training_documents=int(counts.shape[0]),
        held_out_documents=int(held_counts.shape[0]), paper=PAPER,
        preprocessing="lowercase; words are runs of letters and digits (inner hyphens and apostrophes kept, a final "
                      "'s cut); scikit-learn's English stop words removed; words seen at least 5 times in the "
                      "training captions kept; captions left with no word left out of training")
    topics_text = "\n".join(f"{i + 1}. {t}" for i, t in enumerate(runs[k]["prodlda"]["topics"]))
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": NAME,
        "description": f"ProdLDA (Srivastava & Sutton 2017) with {k} topics over the Multi30k English captions' "
                       f"{len(vocabulary)}-word vocabulary.",
        "paper": PAPER,
        "family": "topics",
        "pipeline_tag": "feature-extraction",
        "license": "apache-2.0",
        "dataset": {"name": "multi30k", "split": f"train: {counts.shape[0]} English training captions; held out: "
                                                 f"{held_counts.shape[0]} validation + test captions"},
        "metrics": metrics,
        **_common.provenance(results, f"recipes/{Path(__file__).name}"),
        "tags": ["topic-model", "prodlda", "lda", "multi30k", "text"],
        "how_to_load": ("```python\nimport zoo\n\n"
                        f"model = zoo.load(\"{NAME}\")\n"
                        "model.topics(top=10)          # each topic's 10 most weighted words\n"
                        "model.transform([\"a dog runs on the grass .\"])  # topic proportions, rows sum to 1\n```"),
        "intended_use": "Exploring what image captions talk about; topic proportions as document features.",
        "limitations": "Captions are short (6 words after preprocessing on average), so each document says little "
                       "about its topic mix; words outside the 3054-word vocabulary are ignored, and a text with "
                       f"none of its words is refused. Its topics (top 10 words):\n\n{topics_text}",
    })
    _common.write_json(results_path, results)
    print(f"wrote {out} and {results_path}")
    return results


if __name__ == "__main__":
    _common.run(main)
