"""Bundles: round trips, manifest, checksums, refusing what we did not write."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

import recsys
from recsys import BundleError, BundleVersionWarning, NewsModel, load_bundle, read_manifest


def test_round_trip_gives_identical_outputs(model: NewsModel, bundle: Path, corpus: list) -> None:
    loaded = load_bundle(bundle)
    texts = [(a.title, a.body) for a in corpus[::9]]
    assert loaded.classify(texts) == model.classify(texts)
    for article_id in model.archive["ids"][::11]:
        a, b = model.related(article_id, k=7), loaded.related(article_id, k=7)
        assert a.ids.tolist() == b.ids.tolist()
        np.testing.assert_array_equal(a.scores, b.scores)
    assert loaded.explain(corpus[0].id, ["hum-002"]) == model.explain(corpus[0].id, ["hum-002"])


def test_the_lsa_is_saved_in_half_precision_and_loads_as_trained(model: NewsModel, bundle: Path,
                                                                   corpus: list) -> None:
    trained = model.topic_features.lsa_.components_
    loaded = load_bundle(bundle).topic_features.lsa_.components_
    np.testing.assert_array_equal(loaded, trained)
    assert loaded.dtype == np.float32 and loaded.flags.f_contiguous  # as theme_projection reads it
    # Two bytes a component on disk, not four: the rest of what is pickled is the vectorizer.
    features = model.topic_features
    assert len(pickle.dumps(features)) < len(pickle.dumps(features.vectorizer_)) + 0.6 * trained.nbytes
    # A new text's themes are projected through these components.
    article = corpus[3]
    text = recsys.Article("new-1", article.title, article.body + " وقال شهود إن القصف استمر ليلا")
    a, b = model.related_to(text, k=10), load_bundle(bundle).related_to(text, k=10)
    assert a.ids.tolist() == b.ids.tolist()
    np.testing.assert_array_equal(a.scores, b.scores)


def test_the_archive_rows_are_saved_in_half_precision_and_load_as_trained(
        model: NewsModel, bundle: Path) -> None:
    assert np.load(bundle / "matrix_data.npy").dtype == np.float16  # 2 bytes a weight
    trained, loaded = model.index._rows[2], load_bundle(bundle).index._rows[2]
    assert trained.dtype == loaded.dtype == np.float32  # as the kernels read them
    np.testing.assert_array_equal(loaded, trained)
    # Rounded when fitted, not when saved: what a trained model scores with is what a
    # loaded one reads.
    np.testing.assert_array_equal(trained, trained.astype(np.float16).astype(np.float32))


def test_manifest_describes_the_model(bundle: Path, corpus: list) -> None:
    manifest = read_manifest(bundle)
    assert manifest["format"] == "recsys-bundle"
    assert manifest["topics"] == list(recsys.TOPICS)
    assert set(manifest["versions"]) >= {"recsys", "scikit-learn", "numpy", "python"}
    assert manifest["training_data_sha256"] == recsys.model.training_data_hash(corpus)
    assert manifest["counts"]["archive"] == len(corpus)
    assert 0.5 < manifest["metrics"]["classifier_cv_macro_f1"] <= 1
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())


def test_training_data_hash_is_of_the_fields_in_id_order() -> None:
    import datetime as dt
    import hashlib

    articles = [recsys.Article("b2", "قصف", "غارات على حلب", date=dt.date(2024, 5, 1), topic="combat"),
                recsys.Article("a1", "", "توزيع مساعدات")]
    expected = hashlib.sha256("a1\x1f\x1fتوزيع مساعدات\x1fNone\x1f\x1f"
                              "b2\x1fقصف\x1fغارات على حلب\x1f2024-05-01\x1fcombat\x1f".encode()).hexdigest()
    assert recsys.model.training_data_hash(articles) == expected
    assert recsys.model.training_data_hash(articles[::-1]) == expected


def _copy(bundle: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(bundle.resolve(), copy)
    return copy


def test_modified_file_is_refused_before_unpickling(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    with open(copy / "model.joblib", "ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(BundleError, match=r"model\.joblib: checksum mismatch"):
        load_bundle(copy)


def test_added_or_missing_files_are_refused(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    (copy / "evil.joblib").write_bytes(b"x")
    with pytest.raises(BundleError, match="unexpected file"):
        load_bundle(copy)
    (copy / "evil.joblib").unlink()
    (copy / "archive.jsonl").unlink()
    with pytest.raises(BundleError, match="missing file archive.jsonl"):
        load_bundle(copy)


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such model directory"):
        load_bundle(tmp_path / "absent")
    with pytest.raises(BundleError, match="not a recsys bundle"):
        load_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(BundleError, match="not a recsys bundle manifest"):
        load_bundle(tmp_path)


def test_other_versions_warn_or_are_refused(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text("utf-8"))
    manifest["versions"]["scikit-learn"] = "0.0.1"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.warns(BundleVersionWarning, match="scikit-learn 0.0.1"):
        load_bundle(copy)
    with pytest.raises(BundleError, match="scikit-learn 0.0.1"):
        load_bundle(copy, strict_versions=True)
    manifest["format_version"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match="bundle format 99"):
        load_bundle(copy)


def test_save_swaps_a_link_and_keeps_one_previous_version(model: NewsModel, tmp_path: Path) -> None:
    out = tmp_path / "model"
    versions = [Path(model.save(str(out))) for _ in range(3)]
    assert out.is_symlink() and out.resolve() == versions[-1]
    assert not versions[0].exists() and versions[1].exists()


def test_save_refuses_to_overwrite_a_foreign_directory(model: NewsModel, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(BundleError, match="is not a recsys bundle; refusing"):
        model.save(str(tmp_path / "mine"))
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep me"
