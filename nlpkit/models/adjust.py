"""Changing a saved model's decision files in place: ``nlpkit calibrate`` and ``nlpkit threshold --save``.

The model directory is rewritten atomically (nlpkit.files.AtomicDirectory): its other files are
kept as they are, calibration.json / threshold.json replaced, and the manifest resealed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nlpkit.decisions import DEFAULT_METHOD, Labels
from nlpkit.models.base import MANIFEST, load_model, read_manifest
from nlpkit.models.calibration import CALIBRATION_FILE, THRESHOLD_FILE, Calibrator, calibrate, write_decision_files


def rewrite_model_directory(directory: str | Path, model) -> dict:
    """Replace `directory`'s calibration.json and threshold.json by `model`'s, atomically, and reseal it.

    Every other file is kept (hard-linked into the new directory where the file system allows, else
    copied); the manifest gets the new ``calibration`` / ``threshold`` summaries and checksums. Returns
    the new manifest.
    """
    from nlpkit.files import AtomicDirectory, seal, write_json

    directory = Path(directory)
    manifest = read_manifest(directory)
    for key in ("calibration", "threshold", "checksums", "manifest_checksum"):
        manifest.pop(key, None)
    with AtomicDirectory(directory) as tmp:
        _link_tree(directory, tmp, skip={MANIFEST, CALIBRATION_FILE, THRESHOLD_FILE})
        manifest.update(write_decision_files(model, tmp))
        sealed = seal(tmp, manifest, MANIFEST)
        write_json(tmp / MANIFEST, sealed)
    return sealed


def _link_tree(source: Path, dest: Path, skip: set[str]) -> None:
    import os
    import shutil

    for entry in sorted(source.iterdir()):
        if entry.name in skip:
            continue
        target = dest / entry.name
        if entry.is_dir() and not entry.is_symlink():
            target.mkdir()
            _link_tree(entry, target, skip=set())
            continue
        try:
            os.link(entry, target)
        except OSError:
            shutil.copy2(entry, target)


def calibrate_directory(model_dir: str | Path, records: Sequence[dict], labels: Sequence[str],
                        method: str = DEFAULT_METHOD, source: str = "validation records") -> tuple[Calibrator | None, bool]:
    """Fit a calibrator of the saved model on held-out records and rewrite its directory.

    A saved threshold was chosen on the old probabilities, so it is removed; returns the calibrator
    (None for method none) and whether a threshold was removed.
    """
    model = load_model(model_dir)
    had_threshold = getattr(model.labels_, "threshold", None) is not None
    model.labels_ = Labels(list(model.labels_))
    calibrator = calibrate(model, records, labels, method, source=source)
    rewrite_model_directory(model_dir, model)
    return calibrator, had_threshold


def save_threshold(model_dir: str | Path, rule: dict | None) -> None:
    """Store `rule` (nlpkit.models.threshold.find_threshold) as the saved model's threshold; None removes it."""
    model = load_model(model_dir)
    model.labels_ = Labels(list(model.labels_), rule)
    rewrite_model_directory(model_dir, model)
