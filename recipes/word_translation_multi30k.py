"""Recipe: word translation without parallel data on Multi30k, the start of unsupervised translation.

Conneau, Lample, Ranzato, Denoyer & Jegou, "Word Translation Without Parallel
Data", ICLR 2018, as Lample et al. ("Unsupervised Machine Translation Using
Monolingual Corpora Only", ICLR 2018) use it: embed the words of each
monolingual half, align the two spaces without a dictionary, and translate
each word to its CSLS nearest neighbour. This is iteration 0 of
recipes/unmt_multi30k.py, measured on its own:

- embeddings: PPMI + SVD (`--embeddings ppmi`, the UNMT recipe's default) or
  fastText's subword skip-gram (`fasttext`, what the paper aligns, there
  trained on Wikipedia), of the `--words` most frequent words of each half;
- alignment: the identical-strings Procrustes seed and refinement
  (`zoo.text.alignment`, `--align-method`);
- precision@1 of the induced dictionary against a reference dictionary read
  off the 29,000 training pairs by IBM Model 1 word alignment
  (`zoo.text.dictionary`; evaluation only), on every word with a reference
  entry, on the 200 most frequent, and on the words whose reference does not
  hold the word itself (identical strings are the seed, so they are easy);
- word-by-word BLEU on test_2016_flickr, sacrebleu and on Moses tokens (the
  paper's way; its word-by-word row: en->fr 8.54, fr->en 16.77, en->de 5.39,
  de->en 15.72).

Two upper bounds, which use the parallel data and are labelled so: the same
embeddings mapped by Procrustes on the reference dictionary (what the spaces
allow when the alignment is perfect), and word-by-word translation with the
reference dictionary itself (what word-by-word translation allows on this
data). And what limits the unsupervised map: MUSE's criterion (mean cosine of
the CSLS translations) of the found map beside the supervised one's, and the
supervised map after the unsupervised Procrustes refinement (does it stay?).

    ZOO_DATA_DIR=../shared/data python recipes/word_translation_multi30k.py --pair en-fr --embeddings fasttext
    python recipes/word_translation_multi30k.py --quick    # < 1 minute, writes under logs/

Cost on a 2-core CPU: the reference dictionary 30 s a direction, PPMI 10 s and fastText (30 epochs) 50 s a
language, the alignment a few seconds.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import _common
import numpy as np

from zoo.data.multi30k import load_multi30k, monolingual
from zoo.text import WordByWordTranslator, corpus_bleu, moses_bleu, pretokenize
from zoo.text.alignment import mean_cosine, procrustes, refine
from zoo.text.dictionary import parallel_dictionary, precision_at_1
from zoo.text.word_by_word import unsupervised_translators

TEST = "test_2016_flickr"
# Lample et al. 2018, Table 2, "Word-by-word" (BLEU on Moses tokens, lowercased).
PAPER_WORD_BY_WORD = {("en", "fr"): 8.54, ("fr", "en"): 16.77, ("en", "de"): 5.39, ("de", "en"): 15.72}
EMBEDDING_DEFAULTS = {"ppmi": {"window": 20, "weighting": 1.0}, "fasttext": {"window": 5, "epochs": 30, "sample": 1e-3}}
FREQUENT = 200


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0], trains=False)  # seconds of numpy: nothing to resume
    parser.add_argument("--pair", default="en-fr", choices=["en-fr", "en-de"])
    parser.add_argument("--embeddings", default="ppmi", choices=sorted(EMBEDDING_DEFAULTS))
    parser.add_argument("--words", type=int, default=3000, help="most frequent words of each half given a vector")
    parser.add_argument("--word-dim", type=int, default=128)
    parser.add_argument("--window", type=int, default=None, help="context window (default: 20 for ppmi, the whole "
                        "caption; 5 for fasttext)")
    parser.add_argument("--align-method", default="identical", choices=["identical", "adversarial", "best"])
    args = parser.parse_args(argv)
    if args.quick:
        args.words, args.word_dim = 300, 16
    return args


def run_name(args):
    return f"word_translation_multi30k_{args.pair.replace('-', '_')}_{args.embeddings}"


def training_data(args):
    """What the method learns from: the monolingual halves (tests/test_test_sets.py keeps test sets out of it). The
    training pairs only build the reference dictionary, for evaluation."""
    mono = monolingual("train", tuple(args.pair.split("-")), seed=args.seed)[0]
    return {"sentences": [s for sentences in mono.values() for s in sentences]}


def scores(dictionary, reference, frequent_words):
    """Precision@1 of `dictionary` against `reference` on all, the most frequent, and non-identical words."""
    every, n = precision_at_1(dictionary, reference)
    frequent, n_frequent = precision_at_1(dictionary, reference, [w for w in frequent_words if w in reference])
    different = [w for w in dictionary if w in reference and w not in reference[w]]
    other, n_other = precision_at_1(dictionary, reference, different)
    return {"precision_at_1": round(every, 4), "words": n, f"precision_at_1_top{FREQUENT}": round(frequent, 4),
            f"words_top{FREQUENT}": n_frequent, "precision_at_1_not_identical": round(other, 4),
            "words_not_identical": n_other}


def bleu(translate, test, src, tgt):
    hypotheses = translate(test[src])
    return {"bleu": round(corpus_bleu(hypotheses, test[tgt]).score, 2),
            "moses_bleu": round(moses_bleu(hypotheses, test[tgt], tgt).score, 2)}


def main(argv=None):
    args = parse_args(argv)
    name = run_name(args)
    _, results_path = _common.outputs(args, name)
    languages = tuple(args.pair.split("-"))
    limit = 600 if args.quick else None
    clock = _common.Stopwatch()

    mono = monolingual("train", languages, seed=args.seed)[0]  # training_data(args)
    tokens = {lang: [pretokenize(s) for s in mono[lang][:limit]] for lang in languages}
    options = {**EMBEDDING_DEFAULTS[args.embeddings], "dim": args.word_dim,
               **({"window": args.window} if args.window else {}), **({"epochs": 2} if args.quick and args.embeddings == "fasttext" else {})}
    translators, alignment, vocabularies, vectors = unsupervised_translators(
        tokens, languages, embeddings=args.embeddings, words=args.words, align_method=args.align_method,
        seed=args.seed, embedding_options=options)
    seconds = clock.seconds  # the method itself; what follows is evaluation

    # Evaluation only: the reference dictionaries from the training pairs, and the test set.
    pairs = load_multi30k("train", languages)
    pair_tokens = {lang: [pretokenize(s) for s in pairs[lang][:limit]] for lang in languages}
    test = load_multi30k(TEST, languages)
    if args.quick:
        test = {lang: s[:50] for lang, s in test.items()}
    directions, metrics = {}, []
    for src, tgt in (languages, languages[::-1]):
        reference = parallel_dictionary(pair_tokens[src], pair_tokens[tgt])
        found = {**scores(translators[src].dictionary, reference, vocabularies[src][:FREQUENT]),
                 **bleu(translators[src].translate, test, src, tgt)}
        # Upper bounds (parallel data): Procrustes on the reference, and the reference dictionary itself.
        index = {w: i for i, w in enumerate(vocabularies[tgt])}
        seed = [(i, index[t]) for i, w in enumerate(vocabularies[src]) for t in reference.get(w, ()) if t in index]
        i, j = (np.array(k) for k in zip(*seed, strict=True))
        x, y = vectors[src], vectors[tgt]
        supervised = procrustes(x[i], y[j])
        oracle = WordByWordTranslator.from_embeddings(vocabularies[src], x, vocabularies[tgt], y, supervised)
        # What limits the unsupervised map: does its criterion tell the supervised map from the one it found, and
        # does the unsupervised refinement keep the supervised map where it is?
        found_map = alignment.matrix if src == languages[0] else alignment.matrix.T
        criterion_words = min(len(x), len(y), 2000)
        refined, refined_criteria = refine(x, y, supervised, max_rank=len(x), criterion_words=criterion_words)
        drifted = WordByWordTranslator.from_embeddings(vocabularies[src], x, vocabularies[tgt], y, refined)
        most_linked = WordByWordTranslator({w: ts[0] for w, ts in reference.items()})
        directions[f"{src}-{tgt}"] = {
            **found, "reference_entries": len(reference),
            "criterion": round(mean_cosine(x @ found_map, y, criterion_words), 4),
            "supervised_map": {**scores(oracle.dictionary, reference, vocabularies[src][:FREQUENT]),
                               **bleu(oracle.translate, test, src, tgt),
                               "criterion": round(mean_cosine(x @ supervised, y, criterion_words), 4)},
            "supervised_map_refined": {**scores(drifted.dictionary, reference, vocabularies[src][:FREQUENT]),
                                       "criterion": round(max(refined_criteria), 4)},  # refine keeps its best
            "reference_dictionary": bleu(most_linked.translate, test, src, tgt)}
        d = directions[f"{src}-{tgt}"]
        print(f"{src}->{tgt}: precision@1 {d['precision_at_1']:.3f} ({d['words']} words; top {FREQUENT} "
              f"{d[f'precision_at_1_top{FREQUENT}']:.3f}, not identical {d['precision_at_1_not_identical']:.3f}); "
              f"word-by-word BLEU {d['bleu']:.2f}, paper's way {d['moses_bleu']:.2f} "
              f"(paper {PAPER_WORD_BY_WORD[(src, tgt)]}); supervised map: precision@1 "
              f"{d['supervised_map']['precision_at_1']:.3f}, BLEU paper's way {d['supervised_map']['moses_bleu']:.2f}; "
              f"reference dictionary: BLEU paper's way {d['reference_dictionary']['moses_bleu']:.2f}; unsupervised "
              f"criterion of the found map {d['criterion']:.3f}, of the supervised map "
              f"{d['supervised_map']['criterion']:.3f}, of it refined {d['supervised_map_refined']['criterion']:.3f} "
              f"(precision@1 {d['supervised_map_refined']['precision_at_1']:.3f})", flush=True)
        key = f"{src}_{tgt}"
        metrics += [
            {"key": f"precision_at_1_{key}", "name": f"precision@1 {src}->{tgt} (reference from word alignment of "
             "the training pairs)", "value": d["precision_at_1"], "unit": "share", "lower_is_better": False,
             "split": "train pairs (evaluation only)"},
            {"key": f"moses_bleu_{key}", "name": f"word-by-word BLEU {src}->{tgt} on Moses tokens, lowercased (the "
             "paper's way)", "value": d["moses_bleu"], "unit": "BLEU", "lower_is_better": False, "split": TEST,
             "reference": f"{PAPER_WORD_BY_WORD[(src, tgt)]} (Lample et al. 2018, Table 2, word-by-word)"},
            {"key": f"bleu_{key}", "name": f"word-by-word BLEU {src}->{tgt} (sacrebleu, lowercased)",
             "value": d["bleu"], "unit": "BLEU", "lower_is_better": False, "split": TEST}]
    results = _common.results_record(
        name, args, metrics, seconds, None, embeddings=args.embeddings, embedding_options=options, words=args.words,
        alignment={"method": alignment.method, "criterion": round(alignment.criterion, 4),
                   "identical_seed_pairs": alignment.seed_pairs},
        directions=directions,
        examples={f"{src}-{tgt}": {w: translators[src].dictionary[w] for w in vocabularies[src][:40]}
                  for src, tgt in (languages, languages[::-1])})
    _common.write_json(results_path, results)
    if not args.quick:
        print(f"wrote {summarize(_common.ROOT / 'results')}")
    print(f"wrote {results_path}")
    return results


def summarize(results_dir):
    """results/word_translation_multi30k.md from the runs' JSONs."""
    rows = ["| run | direction | precision@1 (all / top 200 / not identical) | BLEU | paper's way | paper's way, "
            "paper | upper bounds (parallel data): supervised map P@1, paper's way / reference dictionary, paper's "
            "way | criterion: found map / supervised map / supervised map refined (its P@1) |",
            "|---|---|---|---|---|---|---|---|"]
    for path in sorted(Path(results_dir).glob("word_translation_multi30k_*.json")):
        run = json.loads(path.read_text())
        for direction, d in run["directions"].items():
            src, tgt = direction.split("-")
            rows.append(
                f"| [{path.stem}]({path.name}) ({run['device']}, {run['git_commit']}, {run['train_seconds']:.0f} s) | "
                f"{src}->{tgt} | {d['precision_at_1']:.3f} / {d[f'precision_at_1_top{FREQUENT}']:.3f} / "
                f"{d['precision_at_1_not_identical']:.3f} | {d['bleu']:.2f} | **{d['moses_bleu']:.2f}** | "
                f"{PAPER_WORD_BY_WORD[(src, tgt)]} | {d['supervised_map']['precision_at_1']:.3f}, "
                f"{d['supervised_map']['moses_bleu']:.2f} / {d['reference_dictionary']['moses_bleu']:.2f} | "
                + (f"{d['criterion']:.3f} / {d['supervised_map']['criterion']:.3f} / "
                   f"{d['supervised_map_refined']['criterion']:.3f} "
                   f"({d['supervised_map_refined']['precision_at_1']:.3f}) |"
                   if "criterion" in d else "not measured |"))  # runs before it was measured
    text = ("# Word translation without parallel data on Multi30k (test_2016_flickr, lowercased)\n\n"
            "Generated by `python recipes/word_translation_multi30k.py` from `results/word_translation_multi30k_*.json`"
            " (each row's command is in its JSON). Precision@1 is against a reference dictionary read off the "
            "training pairs by IBM Model 1 (evaluation only). BLEU is word-by-word translation of the test set, "
            "sacrebleu and on Moses tokens (the paper's way, the form to compare with Lample et al. 2018's "
            "word-by-word row). Seconds: the embeddings and the alignment.\n\n" + "\n".join(rows) + "\n")
    out = Path(results_dir) / "word_translation_multi30k.md"
    out.write_text(text)
    return out


if __name__ == "__main__":
    _common.run(main)
