"""Model bundles on disk: save atomically, load only what we wrote, follow retraining.

A bundle is a directory::

    manifest.json      format, versions, topics, data hash, counts, metrics, and the
                       SHA-256 of every other file
    model.joblib       the fitted vectorizer and classifier (pickle: see below)
    archive.json       ids, titles, dates, sources, urls and topics of the archive
    *.npy              the archive's TF-IDF matrix and index arrays (memory-mapped)

**Trust.** ``model.joblib`` is a pickle, and unpickling runs code. :func:`load_bundle`
therefore reads ``manifest.json`` first, refuses anything that is not a recsys bundle of a
format it knows, and verifies every file's checksum before unpickling. That detects a
bundle modified or damaged after it was written; it does not make a bundle from a
stranger safe, because whoever writes a bundle also writes its manifest. Load only
bundles that your own ``recsys train`` wrote, from a directory only you can write to.

**Atomic saves.** The path given (``artifacts/model``) is a symbolic link to a versioned
directory beside it (``.model.<stamp>``). A save writes a new versioned directory, then
swaps the link with one atomic rename, so a reader sees either the old bundle or the new
one, never a mixture, and a save killed at any point leaves the old bundle in place. The
previous version is kept for readers still loading it; older ones are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy
import sklearn

from . import __version__
from .corpus import TOPICS
from .errors import BundleError, BundleVersionWarning
from .model import NewsModel
from .related import RelatedIndex

__all__ = ["save_bundle", "load_bundle", "read_manifest", "LiveModel", "FORMAT_VERSION"]

FORMAT = "recsys-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_MODEL_FILE = "model.joblib"
_ARCHIVE_FILE = "archive.json"
_MMAP_ARRAYS = ("matrix_data", "matrix_indices", "matrix_indptr")
_STALE_PARTIAL_SECONDS = 3600


def _versions() -> dict[str, str]:
    return {"recsys": __version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "python": platform.python_version()}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_files(model: NewsModel, folder: Path) -> dict[str, dict[str, Any]]:
    joblib.dump({"vectorizer": model.vectorizer, "topic_features": model.topic_features,
                 "classifier": model.classifier, "settings": model.index.settings,
                 "index_params": {"n_threads": model.index.n_threads,
                                  "candidate_max_df": model.index.candidate_max_df}},
                folder / _MODEL_FILE)
    with open(folder / _ARCHIVE_FILE, "w", encoding="utf-8") as handle:
        json.dump(model.archive, handle, ensure_ascii=False)
    for name, array in model.index.to_arrays().items():
        np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
    files = {}
    for file in sorted(folder.iterdir()):
        _fsync(file)
        files[file.name] = {"sha256": _sha256(file), "bytes": file.stat().st_size}
    return files


def save_bundle(model: NewsModel, path: str | os.PathLike) -> Path:
    """Save ``model`` at ``path`` atomically and return the versioned directory written.

    ``path`` becomes (or stays) a symbolic link to the new version. An existing plain
    directory at ``path`` is taken over only if it is a recsys bundle; anything else
    there is refused, never overwritten.
    """
    path = Path(path)
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_symlink() and not (path / MANIFEST).is_file():
        raise BundleError(f"{path} exists and is not a recsys bundle; refusing to overwrite it "
                          "(choose another --out or remove it)")
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
    partial = parent / f".{path.name}.{stamp}.partial"
    final = parent / f".{path.name}.{stamp}"
    partial.mkdir()
    try:
        files = _write_files(model, partial)
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "versions": _versions(),
            "topics": list(TOPICS), **model.info, "settings": _settings_dict(model),
            "files": files,
        }
        with open(partial / MANIFEST, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, ensure_ascii=False, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(partial, final)
        _fsync(parent)
        served = Path(os.path.realpath(path)) if path.is_symlink() else None
        _point_link(path, final, stamp)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _prune(path, keep={final, served})
    return final


def _settings_dict(model: NewsModel) -> dict[str, Any]:
    settings = model.index.settings
    return {} if settings is None else dict(vars(settings))


def _point_link(path: Path, target: Path, stamp: str) -> None:
    if path.exists() and not path.is_symlink():
        # A plain bundle directory from an older layout: move it aside, then link.
        os.rename(path, path.parent / f".{path.name}.{stamp}.previous")
    link = path.parent / f".{path.name}.{stamp}.link"
    os.symlink(target.name, link)
    os.replace(link, path)  # the atomic step: readers see the old or the new target
    _fsync(path.parent)


def _prune(path: Path, keep: set[Path | None]) -> None:
    """Remove every version but the new one and the one served until now (readers may
    still be loading it), and partial saves left by crashes."""
    for old in path.parent.glob(f".{path.name}.*"):
        if old.is_dir() and not old.name.endswith(".partial") and old not in keep:
            shutil.rmtree(old, ignore_errors=True)
    for partial in path.parent.glob(f".{path.name}.*.partial"):
        if time.time() - partial.stat().st_mtime > _STALE_PARTIAL_SECONDS:
            shutil.rmtree(partial, ignore_errors=True)


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of the bundle at ``path``, checked to be a recsys bundle we can read."""
    folder = Path(path)
    if not folder.exists():
        raise BundleError(f"{folder}: no such model directory; train one with `recsys train "
                          f"--out {folder}`")
    if not folder.is_dir():
        raise BundleError(f"{folder}: not a directory; --model takes a bundle directory")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BundleError(f"{folder}: not a recsys bundle (no {MANIFEST}); train one with "
                          f"`recsys train --out {folder}`")
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{manifest_path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{manifest_path}: not a recsys bundle manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{manifest_path}: bundle format {manifest.get('format_version')} "
                          f"but this recsys reads format {FORMAT_VERSION}; retrain with "
                          "this version")
    return manifest


def _verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict) or _MODEL_FILE not in files:
        raise BundleError(f"{folder}: manifest lists no files; not a bundle we wrote")
    on_disk = {p.name for p in folder.iterdir()} - {MANIFEST}
    extra = on_disk - set(files)
    if extra:
        raise BundleError(f"{folder}: unexpected file(s) {', '.join(sorted(extra))}; "
                          "refusing a modified bundle")
    for name, entry in files.items():
        file = folder / name
        if not isinstance(entry, dict):
            raise BundleError(f"{folder}: manifest entry for {name} is not an object; not a "
                              "bundle we wrote")
        if not file.is_file():
            raise BundleError(f"{folder}: missing file {name}; the bundle is incomplete, retrain")
        if _sha256(file) != entry.get("sha256"):
            raise BundleError(f"{file}: checksum mismatch; the bundle was modified or damaged "
                              "after it was written. Refusing to load it; retrain")


def _check_versions(folder: Path, manifest: dict[str, Any], strict: bool) -> None:
    saved = manifest.get("versions", {})
    if not isinstance(saved, dict):
        raise BundleError(f"{folder}: manifest 'versions' is not an object; not a bundle we wrote")
    current = _versions()
    for name in ("recsys", "scikit-learn"):
        if saved.get(name) != current[name]:
            message = (f"{folder}: bundle written with {name} {saved.get(name)}, running {current[name]}; "
                       "results may differ: retrain with the running versions")
            if strict:
                raise BundleError(message)
            warnings.warn(message, BundleVersionWarning, stacklevel=3)


def load_bundle(path: str | os.PathLike, *, strict_versions: bool = False) -> NewsModel:
    """Load a bundle written by :func:`save_bundle`.

    Checks, in order, before any unpickling: the manifest is a recsys manifest of a
    known format; every file is listed and matches its SHA-256; no file was added.
    A bundle written by another recsys or scikit-learn version loads with a
    :class:`BundleVersionWarning`, or is refused with ``strict_versions=True``.
    Large arrays are memory-mapped, read-only.
    """
    folder = Path(os.path.realpath(path))  # one version, even if a save swaps the link now
    manifest = read_manifest(folder if Path(path).exists() else path)
    _verify_files(folder, manifest)
    _check_versions(folder, manifest, strict_versions)
    try:
        parts = joblib.load(folder / _MODEL_FILE)
        archive = json.loads((folder / _ARCHIVE_FILE).read_text("utf-8"))
        arrays = {p.stem: np.load(p, mmap_mode="r" if p.stem in _MMAP_ARRAYS else None,
                                  allow_pickle=False)
                  for p in folder.glob("*.npy")}
        index = RelatedIndex.from_arrays(arrays, parts["settings"], **parts["index_params"])
        model = NewsModel(parts["vectorizer"], parts["topic_features"], parts["classifier"],
                          index, archive, {})
    except Exception as exc:  # a damaged bundle can fail in many ways; say which and where
        raise BundleError(f"{folder}: cannot read bundle ({type(exc).__name__}: {exc}); "
                          "retrain") from None
    model.info = {k: manifest[k] for k in ("trained_at", "training_seconds",
                                           "training_data_sha256", "counts", "labels_from",
                                           "metrics", "added_since_training") if k in manifest}
    model.bundle_path = str(folder)
    return model


class LiveModel:
    """A model that follows retraining: the web worker's handle on a bundle path.

    Every ``check_interval`` seconds at most, :attr:`model` looks at where the bundle
    link points; when a save has swapped in a new version, it loads it and serves it
    from then on. If the new version cannot be loaded, the old model keeps serving and
    the error is kept in :attr:`last_error`. Queries never see a half-written bundle.

    >>> live = LiveModel("artifacts/model")             # doctest: +SKIP
    >>> live.model.related("some-id", k=5)              # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, check_interval: float = 2.0) -> None:
        self.path = Path(path)
        self.check_interval = check_interval
        self._model = load_bundle(self.path)
        self._version = self._model.bundle_path
        self._checked = time.monotonic()
        self.last_error: Exception | None = None

    @property
    def version(self) -> str:
        """The versioned directory being served."""
        return self._version

    def reload(self) -> bool:
        """Load the bundle now if it changed; return whether a new version is served."""
        self._checked = time.monotonic()
        target = os.path.realpath(self.path)
        if target == self._version:
            return False
        try:
            model = load_bundle(self.path)
        except (BundleError, OSError) as exc:
            self.last_error = exc
            return False
        self._model, self._version, self.last_error = model, model.bundle_path, None
        return True

    @property
    def model(self) -> NewsModel:
        """The current model, reloaded first if the bundle changed."""
        if time.monotonic() - self._checked >= self.check_interval:
            self.reload()
        return self._model
