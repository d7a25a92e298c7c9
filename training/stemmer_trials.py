#!/usr/bin/env python
"""Stemmers from PyPI against the product's light10, on topics and related lists. Prints
a markdown table.

    pip install -e ".[trials]"              # the stemmers tried (not project dependencies)
    python training/stemmer_trials.py       # about 6 min

The product stems with Lucene's light10 rules, written into :mod:`recsys.arabic` (and
its array twin). Three maintained stemmers are on PyPI: Snowball's Arabic stemmer
(``PyStemmer``, C), ISRI's root stemmer (``nltk``) and Tashaphyne's light stemmer. Each
is tried in light10's place, with everything else as the product does it: a token is
cleaned and split as the product splits it, stop words are checked on its folded form,
the library stems the token as written (its own rules expect unfolded letters), and
the stem is then folded as the product folds terms.

Scored as ``check_defaults.py`` scores the defaults: topics by 5-fold cross-validation
on ``topics_dev`` (features fitted on the 60,502-article archive, the default corpus in
every training fold), claim groups on the fact-check index (paired over the corpus's
claim folds) and with the other 57k articles as distractors, graded judgments over all
60,502 articles.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import experiments as E  # noqa: E402  (training/experiments.py: data loading)
from check_defaults import (claim_fold_ndcg, fitted_indexes, gold_sets, lists,  # noqa: E402
                            topics_cv)

from recsys import ArabicAnalyzer  # noqa: E402
from recsys.arabic import STOP_WORDS, normalize_letters, words_terms  # noqa: E402
from recsys.evaluation import graded_metrics, related_metrics  # noqa: E402

_STEMMERS: dict[str, object] = {}  # per process: stemmer name -> its stem function
_KNOWN: dict[str, dict[str, tuple[str, ...]]] = {}  # per process: stemmer -> word -> terms
_PREFIXES = ("ال", "وال", "بال", "كال", "فال", "لل", "و")  # light10's, in its order


def light_rules(suffixes: tuple[str, ...]):
    """light10 with only ``suffixes`` (in light10's order) stripped, on a folded token."""
    def stem(token: str) -> str:
        for prefix in _PREFIXES:
            if token.startswith(prefix):
                if len(token) - len(prefix) >= (3 if prefix == "و" else 2):
                    token = token[len(prefix):]
                break
        for suffix in suffixes:
            if token.endswith(suffix) and len(token) - len(suffix) >= 2:
                token = token[: -len(suffix)]
        return token
    return stem


LIGHT_RULES = {  # name -> the suffixes kept of light10's ("ها", "ان", "ات", ... "ي")
    "prefixes": (),
    "plurals": ("ان", "ات", "ون", "ين"),
    "no-nisba": ("ها", "ان", "ات", "ون", "ين", "ه", "ة"),
    "no-yaa": ("ها", "ان", "ات", "ون", "ين", "يه", "ية", "ه", "ة"),
}


def stem_function(name: str):
    """The stemmer as a function of one token (made once per process): a library's,
    which takes the token as written, or light10 with fewer rules, which takes it folded."""
    if name not in _STEMMERS:
        if name == "snowball":
            import Stemmer
            _STEMMERS[name] = Stemmer.Stemmer("arabic").stemWord
        elif name == "isri":
            from nltk.stem.isri import ISRIStemmer
            _STEMMERS[name] = ISRIStemmer().stem
        elif name == "tashaphyne":
            from tashaphyne.stemming import ArabicLightStemmer
            _STEMMERS[name] = ArabicLightStemmer().light_stem
        else:
            rules = light_rules(LIGHT_RULES[name])
            _STEMMERS[name] = lambda token: rules(normalize_letters(token))
    return _STEMMERS[name]


class LibraryStemAnalyzer(ArabicAnalyzer):
    """The default analyzer with another stemmer in light10's place."""

    def __init__(self, library: str = "snowball") -> None:
        super().__init__(stem=None)
        self.library = library

    def terms_of(self, words, *, remember: bool = True) -> list[tuple[str, ...]]:
        known = _KNOWN.setdefault(self.library, {})
        words = list(words)
        missing = [w for w in dict.fromkeys(words) if w not in known]
        if missing:
            stem = stem_function(self.library)
            unfolded = words_terms(missing, stem=None, stop_words=False, alef=False,
                                   alef_maqsura=False, taa_marbuta=False, min_length=1)
            for word, tokens in zip(missing, unfolded):
                terms = []
                for token in tokens:
                    if normalize_letters(token) in STOP_WORDS:
                        continue
                    term = token if token.isdigit() else normalize_letters(stem(token))
                    if len(term) >= 2:
                        terms.append(term)
                known[word] = tuple(terms)
        return [known[w] for w in words]


VARIANTS = [  # (label, analyzer)
    ("**light10 (the product)**", None),
    ("no stemming", ArabicAnalyzer(stem=None)),
    ("Snowball (PyStemmer 3.1)", LibraryStemAnalyzer("snowball")),
    ("ISRI roots (nltk 3.10)", LibraryStemAnalyzer("isri")),
    ("Tashaphyne 0.3.6 light stem", LibraryStemAnalyzer("tashaphyne")),
    ("light10's prefixes only", LibraryStemAnalyzer("prefixes")),
    ("light10's prefixes and plural suffixes", LibraryStemAnalyzer("plurals")),
    ("light10 keeping the nisba (no ي, يه, ية)", LibraryStemAnalyzer("no-nisba")),
    ("light10 keeping final ي", LibraryStemAnalyzer("no-yaa")),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="labels (prefixes) of the variants to run; "
                        "the paired Δ is against the first one run")
    args = parser.parse_args(argv)
    for library in ("snowball", "isri", "tashaphyne"):
        try:
            stem_function(library)
        except ImportError:
            sys.exit("stemmer_trials.py needs PyStemmer, nltk and tashaphyne: "
                     "pip install -e '.[trials]'")
    started = time.perf_counter()
    factcheck, archive, gold, claims, judged = gold_sets()
    claim_gold = {q: gold[q] for q in claims}
    fold = {a.id: a.extra.get("fold") for a in factcheck}
    rows = []
    reference = None
    for label, analyzer in VARIANTS:
        if args.only and not any(label.strip("*").startswith(o) for o in args.only):
            continue
        E.say(f"fitting {label}")
        on_factcheck, features_a, on_archive = fitted_indexes(factcheck, archive,
                                                              analyzer=analyzer)
        E.say(f"scoring {label}")
        alone = lists(on_factcheck[0], factcheck, claims, *on_factcheck[1:])
        both = lists(on_archive[0], archive, claims + sorted(judged), *on_archive[1:])
        cf, ca = related_metrics(alone, claim_gold), related_metrics(both, claim_gold)
        graded = graded_metrics(both, judged, ks=(5, 10))
        readers = graded_metrics({q: both[q][:10] for q in judged}, judged, ks=(10,))
        topics = topics_cv(features_a)
        per_fold = claim_fold_ndcg(alone, claim_gold, fold)
        if reference is None:
            reference = per_fold
        delta = per_fold - reference
        rows.append(f"| {label} | {topics[0]:.4f} ± {topics[1]:.3f} | {topics[2][1]:.3f} | "
                    f"{topics[3][0]:.3f} | {cf['ndcg@10']:.4f} | {delta.mean():+.4f} ± "
                    f"{delta.std():.4f} | {ca['ndcg@10']:.4f} | "
                    f"{cf['ndcg@10'] - ca['ndcg@10']:.4f} | {graded['ndcg@10']:.4f} | "
                    f"{readers['ndcg@10']:.4f} | "
                    f"{on_archive[0].shape[1]:,} |")
        print(rows[-1], flush=True)
    made = (f"Made by `python training/stemmer_trials.py` ({time.perf_counter() - started:.0f} s; "
            f"{E.git_state()}).")
    header = ("| stemmer | topics macro-F1 (5-fold) | prisoners F1 | topics, no labels | "
              "claims nDCG@10, fact-check index | Δ (paired claim folds) | claims, +57k | drop | "
              "graded nDCG@10 | graded, 10-item lists | archive terms |")
    lines = [made, "", header, "|---|---|---|---|---|---|---|---|---|---|---|", *rows]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    # Run as the imported module, so that the counting processes import the analyzer
    # (with their own stemmer objects, which cannot be pickled) rather than receive it.
    import stemmer_trials
    sys.exit(stemmer_trials.main())
