"""Model bundles on disk: save atomically, load only what we wrote, follow retraining.

A bundle is a directory::

    manifest.json      format, versions, topics, data hash, counts, metrics, related-list
                       settings, and the SHA-256 of every other file
    model.joblib       the fitted vectorizer and classifier (pickle: see below)
    archive.jsonl      one JSON array per archived article: id, title, date, source, url,
                       topic, labelled
    ids.json           the archived articles' ids, in index order
    *.npy              the archive's TF-IDF matrix, index arrays and the byte offset of
                       each archive.jsonl line (no pickles; the matrix is memory-mapped)

**Trust.** ``model.joblib`` is a pickle, and unpickling runs code. :func:`load_bundle`
therefore reads ``manifest.json`` first, refuses anything that is not a recsys bundle of a
format it knows, and verifies each file's checksum before reading it, ``model.joblib``
included, before it is unpickled. That detects a bundle modified or damaged after it was
written; it does not make a bundle from a stranger safe, because whoever writes a bundle
also writes its manifest. Load only bundles that your own ``recsys train`` wrote, from a
directory only you can write to.

**Lazy loading.** ``load_bundle(path, lazy=True)`` (what ``recsys recommend`` and ``classify`` use) reads
only the manifest and the index arrays; the classifier is unpickled, and the archive table
read, when first used. A one-off related list by id then never imports scikit-learn.

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
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .corpus import TOPICS
from .errors import BundleError, BundleVersionWarning
from .model import NewsModel
from .related import RelatedIndex, RelatedSettings

__all__ = ["save_bundle", "load_bundle", "read_manifest", "LiveModel", "FORMAT_VERSION"]

FORMAT = "recsys-bundle"
# 8: the word rows in half precision, the index's phrase rows; 7: the LSA's components in
# half precision (an older recsys would compute in it);
# 6: the classifier learns `other` as clusters; 5: the index keeps each article's theme;
# 4: the vectorizer keeps the archive's words
FORMAT_VERSION = 8
MANIFEST = "manifest.json"
_MODEL_FILE = "model.joblib"
_MODEL_PARTS = ("vectorizer", "topic_features", "classifier")
_ARCHIVE_FILE = "archive.jsonl"
_OFFSETS_FILE = "archive_offsets.npy"
_IDS_FILE = "ids.json"
_ARCHIVE_FIELDS = ("id", "title", "date", "source", "url", "topic", "labelled")
_MMAP_ARRAYS = ("matrix_data", "matrix_indices", "matrix_indptr")
_STALE_PARTIAL_SECONDS = 3600


def _versions() -> dict[str, str]:
    return {"recsys": __version__, "scikit-learn": metadata.version("scikit-learn"),
            "numpy": np.__version__, "scipy": metadata.version("scipy"),
            "python": platform.python_version()}


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
    import joblib

    # zlib level 3: 56 -> 34 MB at 60k articles (the vocabulary and term lists compress;
    # the LSA components do not), for +0.5 s on an eager load; a lazy one never reads it.
    joblib.dump({name: getattr(model, name) for name in _MODEL_PARTS}, folder / _MODEL_FILE,
                compress=("zlib", 3))
    table = model.archive
    columns = [table[f"{name}s" if name != "labelled" else name] for name in _ARCHIVE_FIELDS]
    offsets = [0]
    with open(folder / _ARCHIVE_FILE, "wb") as handle:
        for record in zip(*columns):
            line = json.dumps(record, ensure_ascii=False) + "\n"
            offsets.append(offsets[-1] + handle.write(line.encode("utf-8")))
    np.save(folder / _OFFSETS_FILE, np.array(offsets, dtype=np.int64), allow_pickle=False)
    arrays = model.index.to_arrays()
    with open(folder / _IDS_FILE, "w", encoding="utf-8") as handle:
        json.dump(arrays.pop("ids").tolist(), handle, ensure_ascii=False)
    for name, array in arrays.items():
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
            "index_params": {"n_threads": model.index.n_threads,
                             "candidate_max_df": model.index.candidate_max_df},
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


def _listed_files(folder: Path, manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The manifest's file table, checked against the directory: nothing missing, nothing
    added."""
    files = manifest.get("files")
    if not isinstance(files, dict) or _MODEL_FILE not in files:
        raise BundleError(f"{folder}: manifest lists no files; not a bundle we wrote")
    on_disk = {p.name for p in folder.iterdir()} - {MANIFEST}
    extra = on_disk - set(files)
    if extra:
        raise BundleError(f"{folder}: unexpected file(s) {', '.join(sorted(extra))}; "
                          "refusing a modified bundle")
    for name, entry in files.items():
        if not isinstance(entry, dict):
            raise BundleError(f"{folder}: manifest entry for {name} is not an object; not a "
                              "bundle we wrote")
        if not (folder / name).is_file():
            raise BundleError(f"{folder}: missing file {name}; the bundle is incomplete, retrain")
    return files


def _verify(folder: Path, name: str, files: dict[str, dict[str, Any]]) -> Path:
    file = folder / name
    if _sha256(file) != files[name].get("sha256"):
        raise BundleError(f"{file}: checksum mismatch; the bundle was modified or damaged "
                          "after it was written. Refusing to load it; retrain")
    return file


class _BundleReader:
    """The parts of one bundle version that a model reads on first use (its
    :class:`~recsys.model.BundleParts`). Each file's checksum is verified before it is
    read, the pickle's before it is unpickled."""

    def __init__(self, folder: Path, files: dict[str, dict[str, Any]]) -> None:
        self.folder = folder
        self.files = files
        self._model: dict[str, Any] | None = None
        self._offsets: np.ndarray | None = None

    def _fail(self, exc: Exception) -> BundleError:
        return BundleError(f"{self.folder}: cannot read bundle ({type(exc).__name__}: {exc}); "
                           "retrain")

    def load(self, name: str) -> Any:
        if name == "archive":
            return self._archive_table()
        if self._model is None:
            import joblib

            file = _verify(self.folder, _MODEL_FILE, self.files)
            try:
                parts = joblib.load(file)
                missing = [p for p in _MODEL_PARTS if p not in parts]
            except Exception as exc:  # a damaged pickle can fail in many ways
                raise self._fail(exc) from None
            if missing:
                raise BundleError(f"{self.folder}: {_MODEL_FILE} lacks {', '.join(missing)}; "
                                  "not a bundle of this recsys version, retrain")
            self._model = parts
        return self._model[name]

    def _archive_table(self) -> dict[str, list]:
        table: dict[str, list] = {f"{f}s" if f != "labelled" else f: [] for f in _ARCHIVE_FIELDS}
        columns = list(table.values())
        try:
            with open(self.folder / _ARCHIVE_FILE, encoding="utf-8") as handle:
                for line in handle:
                    for column, value in zip(columns, json.loads(line), strict=True):
                        column.append(value)
        except (OSError, ValueError) as exc:
            raise self._fail(exc) from None
        return table

    def article(self, row: int) -> dict[str, Any]:
        if self._offsets is None:
            self._offsets = np.load(self.folder / _OFFSETS_FILE, allow_pickle=False)
        start, end = int(self._offsets[row]), int(self._offsets[row + 1])
        try:
            with open(self.folder / _ARCHIVE_FILE, "rb") as handle:
                handle.seek(start)
                return dict(zip(_ARCHIVE_FIELDS, json.loads(handle.read(end - start)), strict=True))
        except (OSError, ValueError) as exc:
            raise self._fail(exc) from None


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


def load_bundle(path: str | os.PathLike, *, strict_versions: bool = False,
                lazy: bool = False) -> NewsModel:
    """Load a bundle written by :func:`save_bundle`.

    Checks, in order, before reading anything else: the manifest is a recsys manifest of
    a known format; every file it lists is there and no file was added; each file
    matches its SHA-256 before it is read (the pickle before it is unpickled). A bundle
    written by another recsys or scikit-learn version loads with a
    :class:`BundleVersionWarning`, or is refused with ``strict_versions=True``. Large
    arrays are memory-mapped, read-only.

    With ``lazy=True`` only the related-articles index is read now; the vectorizer and
    classifier are unpickled, and the archive table read, when first used (errors then
    surface as :class:`BundleError` at that point). A web worker wants the default, so
    that nothing is read while it serves.
    """
    folder = Path(os.path.realpath(path))  # one version, even if a save swaps the link now
    manifest = read_manifest(folder if Path(path).exists() else path)
    files = _listed_files(folder, manifest)
    _check_versions(folder, manifest, strict_versions)
    reader = _BundleReader(folder, files)
    try:
        arrays = {}
        for name in files:
            if name.endswith(".npy") and name != _OFFSETS_FILE:
                stem = name.removesuffix(".npy")
                arrays[stem] = np.load(_verify(folder, name, files), allow_pickle=False,
                                       mmap_mode="r" if stem in _MMAP_ARRAYS else None)
        arrays["ids"] = json.loads(_verify(folder, _IDS_FILE, files).read_text("utf-8"))
        _verify(folder, _ARCHIVE_FILE, files)
        _verify(folder, _OFFSETS_FILE, files)
        settings = manifest.get("settings") or None
        index = RelatedIndex.from_arrays(arrays, RelatedSettings(**settings) if settings else None,
                                         defer_postings=lazy, **manifest.get("index_params", {}))
    except BundleError:
        raise
    except Exception as exc:  # a damaged bundle can fail in many ways; say which and where
        raise reader._fail(exc) from None
    info = {k: manifest[k] for k in ("trained_at", "training_seconds", "training_data_sha256",
                                     "counts", "labels_from", "metrics", "added_since_training",
                                     "replaced_since_training", "withdrawn_since_training")
            if k in manifest}
    model = NewsModel.from_bundle_parts(index, info, reader)
    model.bundle_path = str(folder)
    if not lazy:
        for name in (*_MODEL_PARTS, "archive"):
            getattr(model, name)
        index.warm()
        model.vectorizer.warm()
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
