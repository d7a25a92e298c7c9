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

from .arabic import (  # noqa: E402
    STOP_WORDS,
    ArabicAnalyzer,
    clean,
    light_stem,
    normalize,
    normalize_letters,
    strip_html,
    tokenize,
)
from .corpus import (  # noqa: E402
    TOPICS,
    Article,
    ReadResult,
    default_corpus_path,
    parse_article,
    read_articles,
    read_labels,
    read_text_file,
)
from .errors import (  # noqa: E402
    BundleError,
    BundleVersionWarning,
    CorpusError,
    NotFittedError,
    RecsysError,
    UnknownArticleError,
)
from .features import ArticleVectorizer  # noqa: E402
from .model import NewsModel, apply_labels  # noqa: E402
from .related import EditorRules, Related, RelatedIndex, RelatedSettings  # noqa: E402
from .topics import TopicClassifier, TopicFeatures, TopicPrediction, make_topic_pipeline  # noqa: E402
from .batch import export_related  # noqa: E402
from .bundle import LiveModel, load_bundle, read_manifest, save_bundle  # noqa: E402

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
