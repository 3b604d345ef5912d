"""Recipe: unsupervised machine translation on Multi30k (en-fr or en-de), from monolingual halves only.

Lample, Conneau, Denoyer & Ranzato, "Unsupervised Machine Translation Using
Monolingual Corpora Only", ICLR 2018 (arXiv:1711.00043), on Multi30k task 1:

1. Data: the 29,000 training pairs are split in two halves with a fixed seed
   (`zoo.data.multi30k.monolingual`); the first language's sentences come from
   one half, the second's from the other, so no sentence meets its translation.
2. Word-by-word start: PPMI + SVD word embeddings of each half
   (`zoo.text.embeddings`, 128 dimensions, U * S, whole-caption window),
   aligned without any dictionary (`zoo.text.alignment`) from a Procrustes
   seed of the words spelt the same in both halves (Smith et al. 2017), refined
   by Procrustes + CSLS (`--align-method identical`, the default). MUSE's
   adversarial start (`adversarial`) found a junk dictionary on these small
   corpora (word-by-word BLEU 0.04-0.07), and MUSE's unsupervised criterion
   (mean cosine of the CSLS translations) cannot choose between the two here:
   with 3 restarts it scored the junk map higher (0.500 vs 0.451 for en-fr), so
   `best` is offered but not the default. Each word then translates to its
   CSLS nearest neighbour (`zoo.text.word_by_word`). This is M(1), iteration
   0's model. `--embeddings fasttext` (with `--word-window 5`) starts from
   fastText skip-gram vectors instead, the paper's kind: they can be mapped
   better (Procrustes on a dictionary read off the pairs gives word-by-word
   BLEU above the paper's row), but the unsupervised map finds worse
   translations of the frequent words than PPMI's, so PPMI stays the default;
   recipes/word_translation_multi30k.py measures both.
3. Training: a joint SentencePiece BPE vocabulary of both halves, then
   `iterations` rounds: translate every monolingual sentence with the previous
   model (greedy search), train `epochs` passes of the UNMT step (denoising +
   back-translation + adversarial, `zoo.models.unmt`) on them.
   `--init-embeddings fasttext` first sets the translator's piece embeddings
   (tied between encoder, decoder and softmax) to fastText skip-gram vectors
   trained on both halves together, cut into the joint pieces
   (`zoo.text.embeddings.piece_embeddings`; Lample, Ott, Conneau, Denoyer &
   Ranzato, "Phrase-Based & Neural Unsupervised Machine Translation", EMNLP
   2018, Sec. 3.1): the pieces both languages share tie their inputs together
   before any training; the default starts from Keras's random table.
4. Selection without parallel data (the paper's Section 3.4): after each
   epoch, the round-trip BLEU of the validation halves (l1 -> l2 -> l1 and
   l2 -> l1 -> l2, averaged). Each iteration keeps its best epoch, halves the
   rate when the score does not rise (`--decay`) and stops after `--patience`
   evaluations without a rise (`--epochs` caps it); the best iteration is kept.
5. Measurement on test_2016_flickr in both directions, after word-by-word
   translation and after each iteration (greedy), and for the kept model with
   beam search: sacrebleu BLEU (lowercased, 13a, signature printed), and for the
   kept model also BLEU on lowercased Moses tokens (`zoo.text.moses_bleu`, as
   multi-bleu.perl): the paper's way, the only form compared with its numbers.

The translator's Adam learning rate is 2e-3, not the paper's 3e-4: the paper
trains each iteration for hours on a GPU, and at 3e-4 the runs here barely
left the language-model stage (the denoising loss of both languages summed was
10.7 nats a piece after 400 steps on en-fr, against 7.5 at 1e-3, 5.6 at 2e-3
and 5.2 at 4e-3, JAX on a CPU, denoising and adversarial terms only).

Text is lowercased and pre-tokenized (`zoo.text.words`); outputs are
detokenized by simple rules and scored against the raw references with
`lowercase=True`. `--supervised` trains the same architecture on the 29,000
true pairs (both directions; no noise, no adversary): the paper's upper bound,
its epochs selected by greedy BLEU on the validation pairs. `--dropout`,
`--label-smoothing` and `--encoder-layers` size the ceiling's model.

    ZOO_DATA_DIR=../shared/data python recipes/unmt_multi30k.py --pair en-fr   # -> checkpoints/unmt_multi30k_en_fr
    ZOO_DATA_DIR=../shared/data python recipes/unmt_multi30k.py --pair en-de
    ZOO_DATA_DIR=../shared/data python recipes/unmt_multi30k.py --pair en-fr --supervised
    ZOO_DATA_DIR=../shared/data python recipes/unmt_multi30k.py --quick        # < 1 minute, writes under logs/
    ... --iterations 3 --resume     # a finished (or stopped) run goes on to 3 iterations, from its training state

Cost. A step (32 sentences a language) took about 1.0 s on JAX on a 2-core CPU (2.0 s on TensorFlow;
torch is slower still), measured with other jobs running, so the defaults (3 iterations x 6 epochs x 453
steps) take about 2.3 hours a pair there, plus a few minutes for the embeddings, the alignment and the
translations. On one H100 GPU (JAX, two runs sharing it) `--iterations 2 --epochs 5`, the bundled
checkpoints' command, took 4 minutes a pair: the word-by-word start 40 s, each iteration about 100 s.
`--supervised` (906 steps an epoch, half the work per step) takes about 8 minutes an epoch on the CPU and
1.7 minutes for 8 epochs on an H200.
"""

import json
import re
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import _common
import keras
import numpy as np

from zoo.checkpoints import save_checkpoint
from zoo.data.multi30k import load_multi30k, monolingual, multi30k_tokenizer
from zoo.io import write_atomic
from zoo.models.unmt import unmt_batches, unmt_multi30k
from zoo.resume import TrainingStateError, epoch_cut_short
from zoo.text.tokenizer import PAD_ID, SubwordTokenizer
from zoo.text import WordByWordTranslator, corpus_bleu, moses_bleu, pretokenize
from zoo.text.embeddings import piece_embeddings
from zoo.text.word_by_word import unsupervised_translators

PAPER = ("Lample, Conneau, Denoyer & Ranzato, Unsupervised Machine Translation Using Monolingual Corpora Only, "
         "ICLR 2018 (arXiv:1711.00043)")
# The paper's Table 2, Multi30k-Task1, after 3 iterations (BLEU).
# They are BLEU on lowercased, tokenized text (multi-bleu): compared with the zoo's `moses_bleu_*` only.
REFERENCES = {("en", "fr"): 32.76, ("fr", "en"): 32.07, ("en", "de"): 22.74, ("de", "en"): 26.26}
# The same architecture trained on the parallel data (Table 2, "Supervised").
SUPERVISED_REFERENCES = {("en", "fr"): 56.83, ("fr", "en"): 50.77, ("en", "de"): 35.16, ("de", "en"): 38.38}
TEST = "test_2016_flickr"


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--pair", default="en-fr", choices=["en-fr", "en-de"])
    parser.add_argument("--summarize", action="store_true", help="only write results/unmt_multi30k.md from the "
                        "results JSONs of earlier runs")
    parser.add_argument("--supervised", action="store_true", help="the upper bound: train on the true pairs")
    parser.add_argument("--iterations", type=int, default=None, help="back-translation rounds (default: the "
                        "paper's 3; 2 with --quick); with --resume, more than a finished run did extends it")
    parser.add_argument("--epochs", type=int, default=6, help="passes over the monolingual data per iteration "
                        "(with --supervised: passes over the pairs in all)")
    parser.add_argument("--steps", type=int, default=None, help="steps per epoch (default: one pass)")
    parser.add_argument("--batch-size", type=int, default=32, help="sentences of each language per step")
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="the translator's Adam rate (the paper: "
                        "3e-4, which learns too slowly for this budget; see the docstring)")
    parser.add_argument("--adversarial-weight", type=float, default=1.0, help="weight of the encoder's adversarial "
                        "term (the paper: 1; 0 is its ablation without the discriminator)")
    parser.add_argument("--max-length", type=int, default=50, help="training sentences longer than this many "
                        "pieces are left out; translations are cut to it")
    parser.add_argument("--max-output-length", type=int, default=100, help="most pieces a translation may have")
    parser.add_argument("--vocab-size", type=int, default=6000)
    parser.add_argument("--embedding-dim", type=int, default=256)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--words", type=int, default=3000, help="most frequent words given word embeddings")
    parser.add_argument("--embeddings", default="ppmi", choices=["ppmi", "fasttext"], help="word embeddings of the "
                        "word-by-word start (recipes/word_translation_multi30k.py compares them)")
    parser.add_argument("--word-dim", type=int, default=128, help="dimension of the word embeddings")
    parser.add_argument("--word-window", type=int, default=20, help="context window of the word embeddings "
                        "(20: the whole caption, closer words weigh more)")
    parser.add_argument("--word-weighting", type=float, default=1.0, help="the word vectors are U * S^p of the "
                        "PPMI's SVD; this is p")
    parser.add_argument("--align-method", default="identical", choices=["best", "identical", "adversarial"],
                        help="start of the cross-lingual map: MUSE's adversarial game, a seed of identical strings, "
                        "or both with the better kept by the unsupervised criterion")
    parser.add_argument("--align-epochs", type=int, default=10)
    parser.add_argument("--align-steps", type=int, default=1000, help="mapping updates per alignment epoch")
    parser.add_argument("--align-restarts", type=int, default=3, help="adversarial runs; the best by the "
                        "unsupervised criterion is kept")
    parser.add_argument("--beam", type=int, default=4, help="beam size of the final evaluation")
    parser.add_argument("--patience", type=int, default=3, help="stop (an iteration, or the supervised run) when "
                        "the selection BLEU has not risen for this many evaluations; --epochs caps it (0: never)")
    parser.add_argument("--decay", type=float, default=0.5, help="multiply the translator's rate by this when the "
                        "selection BLEU does not rise (1: constant rate)")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout on embeddings and decoder outputs")
    parser.add_argument("--label-smoothing", type=float, default=0.0, help="of the translation cross-entropy")
    parser.add_argument("--encoder-layers", type=int, default=1, help="bidirectional GRU layers of the encoder")
    parser.add_argument("--init-embeddings", default="random", choices=["random", "fasttext"],
                        help="the translator's piece embeddings at the start: Keras's random ones, or fastText "
                        "skip-gram trained on both languages' training sentences together (Lample et al. 2018b)")
    args = parser.parse_args(argv)
    if args.iterations is None:
        args.iterations = 2 if args.quick else 3
    if args.iterations < 1:
        parser.error(f"--iterations must be 1 or more; got {args.iterations}")
    if args.quick:
        args.epochs, args.steps, args.batch_size = 1, 8, 16
        args.vocab_size, args.embedding_dim, args.units, args.max_length = 400, 32, 32, 30
        args.max_output_length = 24
        args.words, args.word_dim, args.align_epochs, args.align_steps, args.align_restarts = 300, 16, 1, 20, 1
        args.beam = 2
    if not 0.0 < args.decay <= 1.0:
        parser.error(f"--decay must be in (0, 1]; got {args.decay}")
    if args.patience < 0:
        parser.error(f"--patience must be 0 (never stop early) or more; got {args.patience}")
    return args


def run_name(args):
    src, tgt = args.pair.split("-")
    return f"unmt_multi30k_{src}_{tgt}" + ("_supervised" if args.supervised else "")


def subset(sentences, n):
    return {lang: s[:n] for lang, s in sentences.items()} if n else sentences


def training_sentences(args):
    """The sentences a run trains on: the monolingual halves (the pairs with --supervised), a subset with
    --quick."""
    languages = tuple(args.pair.split("-"))
    limit = 300 if args.quick else None
    if args.supervised:
        return subset(load_multi30k("train", languages), limit)
    return subset(monolingual("train", languages, seed=args.seed)[0], limit)


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it; the
    validation halves only select the iteration)."""
    return {"sentences": [s for sentences in training_sentences(args).values() for s in sentences]}


def word_by_word(mono, languages, args):
    """Translators l1 -> l2 and l2 -> l1 from embeddings aligned without parallel data, and what was found."""
    tokens = {lang: [pretokenize(s) for s in mono[lang]] for lang in languages}
    options = {"dim": args.word_dim, "window": args.word_window,
               **({"weighting": args.word_weighting} if args.embeddings == "ppmi" else {"epochs": 30, "sample": 1e-3})}
    # (fastText's better window here is 5: pass --word-window 5 with --embeddings fasttext)
    translators, alignment, _, _ = unsupervised_translators(
        tokens, languages, embeddings=args.embeddings, words=args.words, align_method=args.align_method,
        seed=args.seed, embedding_options=options, epochs=args.align_epochs, steps_per_epoch=args.align_steps,
        restarts=args.align_restarts, jit_compile=_common.jit_compile())
    found = {"criterion": round(alignment.criterion, 4), "method": alignment.method, "embeddings": args.embeddings,
             "candidates": [[m, round(c, 4)] for m, c in alignment.candidates],
             "identical_seed_pairs": alignment.seed_pairs,
             "adversarial": [round(c, 4) for c in alignment.adversarial_criteria],
             "refinement": [round(c, 4) for c in alignment.refinement_criteria]}
    return {lang: translators[lang].dictionary for lang in languages}, found


def initialize_embeddings(model, sentences, seed=0):
    """The translator's tied piece embeddings set to fastText skip-gram vectors of `sentences` (both languages
    together, cut into the model's pieces; Lample et al. 2018b)."""
    clock = _common.Stopwatch()
    table = model.translator.embedding.embeddings
    table.assign(piece_embeddings(model.tokenizer, sentences, dim=table.shape[-1], seed=seed))
    print(f"piece embeddings: fastText skip-gram on both languages in {clock.seconds:.0f} s", flush=True)


def test_bleu(translate, test, languages, beam=1, paper_way=False):
    """`{(src, tgt): BleuScore}` of `translate(sentences, src, tgt, beam)` on the test set, both ways, and the
    translations; with `paper_way` also `{(src, tgt): BleuScore}` on lowercased Moses tokens (multi-bleu)."""
    scores, moses, outputs = {}, {}, {}
    for src in languages:
        tgt = next(lang for lang in languages if lang != src)
        outputs[(src, tgt)] = translate(test[src], src, tgt, beam)
        scores[(src, tgt)] = corpus_bleu(outputs[(src, tgt)], test[tgt])
        moses[(src, tgt)] = moses_bleu(outputs[(src, tgt)], test[tgt], tgt) if paper_way else None
    return (scores, moses, outputs) if paper_way else (scores, outputs)


def validation_bleu(model, pairs, languages):
    """The supervised selection criterion: mean greedy BLEU of both directions on the validation pairs."""
    scores, _ = test_bleu(lambda s, src, tgt, beam: model.translate(s, src=src, tgt=tgt, batch_size=256), pairs,
                          languages)
    return float(np.mean([b.score for b in scores.values()]))


class SelectionBLEU(keras.callbacks.Callback):
    """At each epoch's end: `score()` (validation or round-trip BLEU) into `record[key]`; the best weights kept
    in `arrays`; the translator's rate times `decay` when the score does not rise, and training stopped after
    `patience` evaluations without a rise (0: never). The state saves what it keeps, so a resumed run goes on
    counting where it stopped."""

    def __init__(self, score, record, arrays, key, patience=3, decay=0.5):
        super().__init__()
        self.score, self.arrays, self.patience, self.decay = score, arrays, patience, decay
        self.kept = record.setdefault(key, {"evaluations": [], "best": None, "waited": 0})
        self.key = "selection"  # of the weights: one copy, whichever run or iteration it is

    def on_epoch_end(self, epoch, logs=None):
        if epoch_cut_short(self.model):  # a stop inside the epoch: the resumed run scores it whole
            return
        optimizer = self.model.optimizer["translator"]
        rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        score = round(self.score(), 2)
        self.kept["evaluations"].append({"epoch": epoch + 1, "bleu": score, "learning_rate": rate})
        if self.kept["best"] is None or score > self.kept["best"]:
            self.kept.update(best=score, best_epoch=epoch + 1, waited=0)
            self.arrays.update({f"{self.key}_{i:05d}": w for i, w in enumerate(self.model.get_weights())})
        else:
            self.kept["waited"] += 1
            optimizer.learning_rate.assign(rate * self.decay)
            if self.patience and self.kept["waited"] >= self.patience:
                self.model.stop_training = True
        print(f"epoch {epoch + 1}: selection BLEU {score:.2f} (best {self.kept['best']:.2f} at epoch "
              f"{self.kept['best_epoch']}), rate {rate:.2g}", flush=True)

    def restore_best(self):
        """The best epoch's weights, kept in `arrays`, back into the model."""
        self.model.set_weights([self.arrays[f"{self.key}_{i:05d}"] for i in range(len(self.model.weights))])


def round_trip(model, val, languages):
    """The paper's selection criterion: mean BLEU of l1 -> l2 -> l1 and l2 -> l1 -> l2 on the validation halves."""
    scores = []
    for src in languages:
        tgt = next(lang for lang in languages if lang != src)
        with warnings.catch_warnings():  # an early model's translations can run past max_input_length
            warnings.simplefilter("ignore", UserWarning)
            back = model.translate(model.translate(val[src], src, tgt), tgt, src)
        scores.append(corpus_bleu(back, val[src]).score)
    return float(np.mean(scores))


def encode(tokenizer, sentences, max_length):
    return tokenizer.encode(sentences, max_length=max_length)


def show(label, scores):
    print(f"{label}: " + ", ".join(f"{s}->{t} {b.score:.2f}" for (s, t), b in scores.items()), flush=True)


def paper_way(run, key, remeasured, stem):
    """The run's BLEU on Moses tokens; for a run from before it was measured whose checkpoint is bundled, the
    value recipes/card_protocols.py measured on that checkpoint (marked *)."""
    if key in run["metrics"]:
        return f"**{run['metrics'][key]:.2f}**"
    again = remeasured.get(stem, {}).get("metrics", {}).get(key)  # the checkpoint this results file describes
    return f"**{again['measured']:.2f}***" if again else "not measured"


def summarize(results_dir):
    """results/unmt_multi30k.md: each run's test BLEU per iteration with its wall time, from the results JSONs."""
    protocols = Path(results_dir) / "card_protocols.json"
    remeasured = json.loads(protocols.read_text())["models"] if protocols.is_file() else {}
    rows = ["| run | start | Adam rate, epochs an iteration | iteration | seconds | BLEU l1->l2 | BLEU l2->l1 | "
            "paper's way l1->l2 | paper's way l2->l1 | round-trip BLEU (selection) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    commands = ["| run | command (the last run's; `--resume` continues a stopped one) | runs |", "|---|---|---|"]
    finals = {}  # run -> {direction: (sacrebleu, paper's way or None)} of its final model
    for path in sorted(Path(results_dir).glob("unmt_multi30k_*.json")):
        run = json.loads(path.read_text())
        if run.get("quick"):
            continue
        start = (run.get("alignment") or {}).get("method", "adversarial" if run.get("alignment") else "-")
        if run.get("init_embeddings") == "fasttext":
            start += ", fastText pieces"
        label = f"[{path.stem}]({path.name}) ({run['device']}, {run['git_commit']})"
        l1, l2 = run["name"].split("_")[2:4]  # unmt_multi30k_<l1>_<l2>[_supervised]
        trained = [it for it in run.get("iterations") or [] if it["iteration"] > 0]
        epochs = len(run["history"]["loss"]) // max(len(trained), 1)  # the supervised run: epochs in all
        budget = f"{run['learning_rate']:g}, {epochs}"
        for it in run.get("iterations") or []:
            a, b = it["bleu"][f"{l1}-{l2}"], it["bleu"][f"{l2}-{l1}"]
            moses = it.get("moses_bleu") or {}  # measured for the word-by-word start since it was added
            ma, mb = (f"{moses[k]:.2f}" if k in moses else "-" for k in (f"{l1}-{l2}", f"{l2}-{l1}"))
            rows.append(f"| {label} | {start} | {budget} | {it['iteration']} | {it['seconds']:.0f} | {a:.2f} | "
                        f"{b:.2f} | {ma} | {mb} | {it.get('round_trip_bleu', '-')} |")
        kept = run.get("selected_iteration")
        a, b = run["metrics"][f"bleu_{l1}_{l2}"], run["metrics"][f"bleu_{l2}_{l1}"]
        pa, pb = (paper_way(run, f"moses_bleu_{x}_{y}", remeasured, path.stem) for x, y in ((l1, l2), (l2, l1)))
        rows.append(f"| {label} | {start} | {budget} | {'kept ' + str(kept) if kept else 'supervised'}, beam 4 | "
                    f"{run['train_seconds']:.0f} | **{a:.2f}** | **{b:.2f}** | {pa} | {pb} | - |")
        command = re.sub(r" --(out|results|state) \S+", "", run["command"])  # where it wrote: not how it trained
        runs = run.get("training_runs", 1)  # older results: a count; a resumable run's: the list of its runs
        commands.append(f"| {path.stem} | `{command}` | {len(runs) if isinstance(runs, list) else runs} |")
        again = remeasured.get(path.stem, {}).get("metrics", {})
        finals[path.stem] = {f"{x}-{y}": (run["metrics"][f"bleu_{x}_{y}"],
                                          run["metrics"].get(f"moses_bleu_{x}_{y}")
                                          or again.get(f"moses_bleu_{x}_{y}", {}).get("measured"))
                             for x, y in ((l1, l2), (l2, l1))}
    ratios = ["| pair | direction | kept / supervised, sacrebleu | kept / supervised, paper's way |",
              "|---|---|---|---|"]
    for stem, kept in sorted(finals.items()):
        ceiling = finals.get(f"{stem}_supervised")
        for direction, (a, ma) in (kept.items() if ceiling and not stem.endswith("_supervised") else ()):
            b, mb = ceiling[direction]
            ratios.append(f"| {stem} | {direction} | {a / b:.2f} ({a:.2f} / {b:.2f}) | "
                          + (f"{ma / mb:.2f} ({ma:.2f} / {mb:.2f}) |" if ma and mb else "- |"))
    references = ", ".join(f"{s}->{t} {v}" for (s, t), v in REFERENCES.items())
    supervised = ", ".join(f"{s}->{t} {v}" for (s, t), v in SUPERVISED_REFERENCES.items())
    text = ("# Unsupervised MT on Multi30k (test_2016_flickr, lowercased)\n\n"
            f"Generated by `python recipes/unmt_multi30k.py --summarize` from `results/unmt_multi30k_*.json`. "
            "Iteration 0 is the word-by-word start; l1 is the first language of the run's name. BLEU is sacrebleu "
            "on detokenized text (13a); \"paper's way\" is BLEU on lowercased Moses tokens (multi-bleu), how the "
            "paper measured, and the only form to compare with it. Paper (Lample et al. 2018, Table 2), after 3 "
            f"iterations: {references}; supervised: {supervised}. * measured by `python recipes/card_protocols.py` "
            "on the run's bundled checkpoint, after the run (which measured sacrebleu only).\n\n"
            + "\n".join(rows) + "\n\n## The unsupervised model as a fraction of the supervised ceiling\n\n"
            "The same pair's supervised run (the paper: 0.58-0.68 after 3 iterations; issue 22's bar: 0.6).\n\n"
            + "\n".join(ratios) + "\n\n## Commands\n\n" + "\n".join(commands) + "\n")
    return write_atomic(Path(results_dir) / "unmt_multi30k.md", text)


def main(argv=None):
    args = parse_args(argv)
    if args.summarize:
        print(f"wrote {summarize(_common.ROOT / 'results')}")
        return None
    keras.utils.set_random_seed(args.seed)
    name = run_name(args)
    out, results_path = _common.outputs(args, name)
    _common.check_state(args, name)  # before the data: a bad --resume fails at once
    languages = tuple(args.pair.split("-"))
    other = {languages[0]: languages[1], languages[1]: languages[0]}
    limit = 300 if args.quick else None
    mono = training_sentences(args)  # with --supervised: the pairs
    val, _ = monolingual("val", languages, seed=args.seed)
    test = load_multi30k(TEST, languages)
    val, test = subset(val, 16 if limit else None), subset(test, 32 if limit else None)
    clock = _common.Stopwatch()
    iterations, alignment = [], None  # the unsupervised run's, from its training state

    tokenizer = multi30k_tokenizer(languages, args.vocab_size, split_seed=args.seed) if not args.quick else None
    if args.quick:  # the vocabulary of the quick subset, so that the run stays under a minute
        tokenizer = SubwordTokenizer.train([s for lang in languages for s in mono[lang]], languages, args.vocab_size)
    model = unmt_multi30k(languages, tokenizer=tokenizer, embedding_dim=args.embedding_dim, units=args.units,
                          max_output_length=args.max_output_length, seed=args.seed, dropout=args.dropout,
                          label_smoothing=args.label_smoothing, encoder_layers=args.encoder_layers,
                          **({"denoising_weight": 0.0, "adversarial_weight": 0.0, "noise_translations": False}
                             if args.supervised else {"adversarial_weight": args.adversarial_weight}))
    model.compile(learning_rate=args.learning_rate, jit_compile=_common.jit_compile())
    if args.init_embeddings == "fasttext" and not args.resume:  # a resumed run's state holds the trained table
        initialize_embeddings(model, [s for lang in languages for s in mono[lang]], args.seed)

    def translate(sentences, src, tgt, beam=1):
        return model.translate(sentences, src=src, tgt=tgt, beam=beam, batch_size=256)

    # A supervised run has no word-by-word start: --embeddings is none of its identity (older states lack it).
    # --iterations has left an unsupervised run's: each iteration trains the same way whatever the count, so
    # `--resume --iterations N` extends a finished run by the iterations it has not done (states saved before
    # have it in their identity, and resume only with their own count).
    state = _common.training_state(args, name, model, exclude=("beam", "embeddings") if args.supervised else
                                   ("beam",), left_identity=() if args.supervised else ("iterations",))
    record = state.record  # what a resumed run needs besides the variables
    done = max(len(record.get("iterations", [])) - 1, 0)
    if not args.supervised and args.iterations < done:
        raise TrainingStateError(f"{state.path} has done {done} iterations; --iterations {args.iterations} would "
                                 f"drop some: pass --iterations {done} or more to resume it")
    # Wall time = the state's seconds in `fit` (kept at every save, a time limit's too) + the time outside `fit`
    # (word-by-word start, translating, measuring), kept by `save()`. Outside time of a run stopped inside `fit`
    # since its last `save()` is not counted; its time in `fit` is.
    outside_before, fit_before = record.get("outside_fit_seconds", 0.0), state.seconds

    def outside_fit():
        return outside_before + clock.seconds - (state.seconds - fit_before)

    def wall_seconds():
        return round(state.seconds + outside_fit(), 1)

    def save():
        record["outside_fit_seconds"] = round(outside_fit(), 1)
        state.save(model)
    if args.supervised:
        ids = {lang: encode(tokenizer, mono[lang], args.max_length) for lang in languages}
        data = unmt_batches(ids, {lang: ids[other[lang]] for lang in languages}, batch_size=args.batch_size,
                            length=args.max_length, steps=args.steps, seed=args.seed)
        pairs = subset(load_multi30k("val", languages), 16 if limit else None)  # selects the epoch, as in the paper
        selection = SelectionBLEU(lambda: validation_bleu(model, pairs, languages), record, state.arrays,
                                  "selection", args.patience, args.decay)
        history = _common.fit(model, data, args.epochs, args, state, callbacks=[selection])
        selection.set_model(model)
        selection.restore_best()
        selected = None
    else:
        if "dictionaries" not in record:  # the word-by-word start, computed once per run
            record["dictionaries"], record["alignment"] = word_by_word(mono, languages, args)
            wbw = {lang: WordByWordTranslator(record["dictionaries"][lang]).translate for lang in languages}
            scores, moses, _ = test_bleu(lambda s, src, tgt, beam: wbw[src](s), test, languages, paper_way=True)
            record["iterations"] = [{"iteration": 0, "model": "word-by-word", "seconds": wall_seconds(),
                                     "bleu": {f"{s}-{t}": round(b.score, 2) for (s, t), b in scores.items()},
                                     "moses_bleu": {f"{s}-{t}": round(b.score, 2) for (s, t), b in moses.items()},
                                     "alignment_criterion": record["alignment"]["criterion"],
                                     "alignment_method": record["alignment"]["method"]}]
            save()
        alignment = record["alignment"]
        wbw = {lang: WordByWordTranslator(record["dictionaries"][lang]).translate for lang in languages}
        print(f"word by word (alignment: {alignment['method']}; criteria "
              + ", ".join(f"{m} {c:.3f}" for m, c in alignment["candidates"]) + "): "
              + ", ".join(f"{k} {v:.2f}" for k, v in record["iterations"][0]["bleu"].items()), flush=True)
        encoded = {lang: encode(tokenizer, mono[lang], None) for lang in languages}
        sentences = {lang: [s for s, e in zip(mono[lang], encoded[lang], strict=True) if len(e) <= args.max_length]
                     for lang in languages}
        ids = {lang: [e for e in encoded[lang] if len(e) <= args.max_length] for lang in languages}
        for iteration in range(len(record["iterations"]), args.iterations + 1):
            if record.get("training") != iteration:  # a new iteration, not one a stopped run was inside
                if iteration == 1:
                    translations = {lang: encode(tokenizer, wbw[lang](sentences[lang]), args.max_length)
                                    for lang in languages}
                else:  # M(t): the previous iteration's model translates every sentence
                    translations = {lang: [row[:args.max_length] for row in model.generate(ids[lang], other[lang],
                                                                                             batch_size=256)]
                                    for lang in languages}
                state.arrays.update({f"translations_{lang}": SubwordTokenizer.pad(translations[lang], args.max_length)
                                     for lang in languages})
                record["training"], state.position = iteration, None
                model.optimizer["translator"].learning_rate.assign(args.learning_rate)  # each iteration decays anew
            translations = {lang: [row[row != PAD_ID] for row in state.arrays[f"translations_{lang}"]]
                            for lang in languages}
            data = unmt_batches(ids, translations, batch_size=args.batch_size, length=args.max_length,
                                steps=args.steps, seed=args.seed + iteration)
            selection = SelectionBLEU(lambda: round_trip(model, val, languages), record, state.arrays,
                                      f"selection_{iteration}", args.patience, args.decay)
            record["history"] = _common.fit(model, data, args.epochs, args, state, callbacks=[selection])
            selection.set_model(model)
            selection.restore_best()  # the iteration's best epoch by round-trip BLEU, the paper's selection
            criterion = record[f"selection_{iteration}"]["best"]
            scores, _ = test_bleu(translate, test, languages)
            show(f"iteration {iteration} (round-trip BLEU {criterion:.2f})", scores)
            record["iterations"].append({"iteration": iteration, "seconds": wall_seconds(),
                                         "round_trip_bleu": round(criterion, 2),
                                         "bleu": {f"{s}-{t}": round(b.score, 2) for (s, t), b in scores.items()}})
            if criterion > record.get("best_round_trip", -1.0):  # the paper's selection: round-trip BLEU
                record["best_round_trip"], record["selected"] = criterion, iteration
                state.arrays.update({f"best_{i:05d}": w for i, w in enumerate(model.get_weights())})
            save()
        selected = record["selected"]
        model.set_weights([state.arrays[f"best_{i:05d}"] for i in range(len(model.weights))])
        history, iterations = record["history"], record["iterations"]
    train_seconds = wall_seconds()  # the word-by-word start, the training and each iteration's measurements
    steps = int(model.optimizer["translator"].iterations.numpy())

    final, paper_way, hypotheses = test_bleu(translate, test, languages, beam=args.beam, paper_way=True)
    label = "supervised model" if args.supervised else f"kept model (iteration {selected})"
    show(f"{label}, beam {args.beam}", final)
    show(f"{label}, beam {args.beam}, on Moses tokens (the paper's way)", paper_way)
    signature = next(iter(final.values())).signature
    print(f"sacrebleu signature: {signature}")
    examples = [{"src": test[languages[0]][i], "ref": test[languages[1]][i],
                 "hyp": hypotheses[languages][i]}
                for i in range(min(5, len(test[languages[0]])))]
    for e in examples[:3]:
        print(f"  {e['src']}\n  -> {e['hyp']}\n  (ref: {e['ref']})")

    split = f"{TEST} ({len(test[languages[0]])} sentences), beam {args.beam}"
    references = SUPERVISED_REFERENCES if args.supervised else REFERENCES
    row = "supervised" if args.supervised else "unsupervised, 3 iterations"
    metrics = []
    for (s, t), b in final.items():
        metrics.append({"key": f"bleu_{s}_{t}", "name": f"BLEU {s}->{t} (sacrebleu, lowercased)",
                        "value": round(b.score, 2), "unit": "BLEU", "lower_is_better": False, "split": split,
                        "reference": f"none in this form (the paper's: moses_bleu_{s}_{t})", "signature": b.signature})
        metrics.append({"key": f"moses_bleu_{s}_{t}", "name": f"BLEU {s}->{t} on Moses tokens, lowercased "
                        "(multi-bleu, the paper's way)", "value": round(paper_way[(s, t)].score, 2), "unit": "BLEU",
                        "lower_is_better": False, "split": split,
                        "reference": f"{references[(s, t)]} (Lample et al. 2018, Table 2, {row})",
                        "signature": paper_way[(s, t)].signature})
    if not args.supervised:
        metrics += [{"key": f"bleu_word_by_word_{k.replace('-', '_')}", "name": f"BLEU {k.replace('-', '->')} of the "
                     "word-by-word start (sacrebleu, lowercased)", "value": v, "unit": "BLEU",
                     "lower_is_better": False, "split": f"{TEST}", "signature": signature}
                    for k, v in iterations[0]["bleu"].items()]
        metrics.append({"key": "round_trip_bleu", "name": "round-trip BLEU of the validation halves (selection "
                        "criterion)", "value": round(record["best_round_trip"], 2), "unit": "BLEU",
                        "lower_is_better": False,
                        "split": "val, disjoint halves"})
    results = _common.results_record(
        name, args, metrics, train_seconds, history, training_runs=record["runs"], steps=steps, iterations=iterations,
        selected_iteration=selected, signature=signature, examples=examples, batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        architecture={"vocab_size": tokenizer.vocab_size, "embedding_dim": args.embedding_dim, "units": args.units,
                      "parameters": int(model.translator.count_params())},
        alignment=alignment, selection={k: v for k, v in record.items() if k.startswith("selection")},
        dropout=args.dropout, label_smoothing=args.label_smoothing, encoder_layers=args.encoder_layers,
        init_embeddings=args.init_embeddings)
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": name,
        "description": (f"{'Supervised upper bound: the' if args.supervised else 'Unsupervised'} "
                        f"{languages[0]}<->{languages[1]} translator (Lample et al. 2018 architecture, scaled for a "
                        f"CPU) trained on Multi30k {'pairs' if args.supervised else 'monolingual halves only'}."),
        "paper": PAPER,
        "family": "unmt",
        "license": "apache-2.0",
        "dataset": {"name": "multi30k", "license": "research and education only (Flickr30K terms; see "
                    "shared/data/multi30k/MANIFEST.md)", "url": "https://github.com/multi30k/dataset",
                    "split": "train: the 29,000 pairs" if args.supervised else
                    "train: disjoint halves (14,500 sentences a language), no pairs"},
        "metrics": metrics,
        **_common.provenance(results, "recipes/unmt_multi30k.py"),
        "steps": steps,
        "tags": ["translation", "unsupervised", "multi30k", *languages],
        "pipeline_tag": "translation",
        "how_to_load": ('```python\nimport zoo\n\n'
                        f'model = zoo.load("{name}")\n'
                        f'model.translate(["a man is riding a bike ."], src="{languages[0]}", '
                        f'tgt="{languages[1]}")  # beam=4 for beam search\n```'),
        "intended_use": "Research on unsupervised translation of short image captions; a small CPU-trained "
                        "reproduction of Lample et al. (2018) on Multi30k.",
        "limitations": "Trained on image captions only; lowercased output; sentences beyond max_input_length "
                       "pieces are cut; characters absent from Multi30k become unknown pieces and are dropped.",
    })
    _common.write_json(results_path, results)
    print(f"wrote {out} and {results_path}")
    return results


if __name__ == "__main__":
    _common.run(main)
