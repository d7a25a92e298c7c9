"""recsys: topics and related articles for Arabic news.

>>> import recsys
>>> model = recsys.NewsModel.train(recsys.read_articles(recsys.default_corpus_path()).articles)
>>> prediction = model.classify(["أفرجت السلطات عن عشرات المعتقلين بموجب عفو عام"])[0]
>>> prediction.topic
'prisoners'
>>> related = model.related(model.archive["ids"][0], k=3)
>>> len(related.ids) <= 3
True
"""

__version__ = "0.1.0"

import importlib

# Public names and the module defining each. They are imported on first use, so that a
# process that only serves related lists never imports scikit-learn (a second or more).
_EXPORTS = {
    "arabic": ["STOP_WORDS", "clean", "light_stem", "normalize", "normalize_letters",
               "strip_html", "tokenize"],
    "corpus": ["TOPICS", "Article", "ReadResult", "default_corpus_path", "parse_article",
               "read_articles", "read_labels", "read_text_file"],
    "errors": ["BundleError", "BundleVersionWarning", "CorpusError", "NotFittedError",
               "RecsysError", "UnknownArticleError"],
    "features": ["ArabicAnalyzer", "ArticleVectorizer"],
    "model": ["NewsModel", "apply_labels"],
    "related": ["EditorRules", "Related", "RelatedIndex", "RelatedSettings"],
    "topics": ["TopicClassifier", "TopicFeatures", "TopicPrediction", "make_topic_pipeline"],
    "batch": ["export_related"],
    "bundle": ["LiveModel", "load_bundle", "read_manifest", "save_bundle"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


_SUBMODULES = set(_EXPORTS) | {"evaluation", "kernels", "report"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'recsys' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))


__all__ = [
    "__version__",
    # text
    "strip_html", "clean", "normalize_letters", "normalize", "tokenize", "light_stem",
    "STOP_WORDS", "ArabicAnalyzer",
    # corpus
    "TOPICS", "Article", "ReadResult", "read_articles", "read_labels", "read_text_file", "parse_article",
    "default_corpus_path", "apply_labels",
    # models
    "ArticleVectorizer", "TopicFeatures", "TopicClassifier", "TopicPrediction", "make_topic_pipeline",
    "RelatedIndex", "Related", "RelatedSettings", "EditorRules", "NewsModel",
    # bundles
    "save_bundle", "load_bundle", "read_manifest", "LiveModel", "export_related",
    # errors
    "RecsysError", "CorpusError", "BundleError", "UnknownArticleError", "NotFittedError",
    "BundleVersionWarning",
]
