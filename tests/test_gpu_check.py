"""The GPU checks' dry runs: a tiny pack from the embedded sample, then scripts/gpu_check.sh and
scripts/gpu_lm_check.sh --dry-run on the CPU.

The same code as on the GPU machine runs end to end (pack reading, the
pre-tokenized BERT, the BiLSTM over WordPiece tokens, the LM pretrained over the
pack's ids and lm-lstm fine-tuned from it, the results JSON); only the device and
the sizes differ. No GPU is needed, and none is used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    """A 16 + 16-review pack (and 16 unlabelled reviews) of the embedded sample, without the wheel."""
    pack = tmp_path_factory.mktemp("gpu") / "pack"
    made = subprocess.run([sys.executable, str(REPO / "scripts" / "make_gpu_pack.py"), "--data",
                           str(REPO / "corpora" / "imdb-sample"), "--limit", "16", "--no-wheel", "--out", str(pack)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    return pack


def dry_run(script: str, pack: Path, out: Path) -> tuple[subprocess.CompletedProcess, dict]:
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "2"}
    run = subprocess.run(["bash", str(REPO / "scripts" / script), "--dry-run", "--pack", str(pack), "--out", str(out)],
                         capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert run.returncode == 0, run.stderr
    results = json.loads(out.read_text())
    assert results["dry_run"] is True and results["device"] == "cpu" and results["gpu"] is None
    checks = {c["name"]: c["ok"] for c in results["cuda_checks"]}
    assert checks == {"cuda available": None, "auto resolves to cuda": None, "bf16 autocast": None,
                      "save/load on cpu keeps predictions": True}
    assert results["absent_libraries_imported"] == []  # nltk, spaCy, gensim, fastText: not on the GPU machine
    assert results["pack"]["total_bytes"] == json.loads((pack / "manifest.json").read_text())["total_bytes"]
    return run, results


def test_gpu_check_dry_run(pack, tmp_path):
    manifest = json.loads((pack / "manifest.json").read_text())
    assert set(manifest["files"]) == {"imdb.npz", "unsup.npz", "minilm/model.safetensors", "minilm/config.json",
                                      "minilm/vocab.txt", "minilm/tokenizer.json", "minilm/tokenizer_config.json",
                                      "minilm/special_tokens_map.json"}
    assert manifest["total_bytes"] < manifest["limit_bytes"] == 64 * 2**20
    with np.load(pack / "imdb.npz") as arrays:
        assert arrays["train_ids"].dtype == np.uint16 and len(arrays["train_labels"]) == 16
        lengths = np.diff(arrays["train_offsets"])
        assert lengths.max() <= 254 and arrays["train_offsets"][-1] == len(arrays["train_ids"])
    with np.load(pack / "unsup.npz") as arrays:  # whole reviews: the LM check's, not cut to the classifiers' 254
        assert arrays["unsup_ids"].dtype == np.uint16 and len(arrays["unsup_offsets"]) == 16 + 1
        assert arrays["unsup_offsets"][-1] == len(arrays["unsup_ids"])
    from safetensors import safe_open

    with safe_open(str(pack / "minilm" / "model.safetensors"), "pt") as weights:
        assert {str(weights.get_slice(k).get_dtype()) for k in weights.keys()} <= {"BF16", "I64"}

    run, results = dry_run("gpu_check.sh", pack, tmp_path / "gpu-check.json")
    for name in ("bert", "bilstm"):
        part = results[name]
        assert (part["n_train"], part["n_test"]) == (16, 16)
        assert 0 <= part["accuracy"] <= 1 and part["train_seconds"] > 0 and part["steps_per_second"] > 0
        assert part["optimizer_steps"] == 1 and part["peak_gpu_mb"] is None  # 16 reviews, batch 16, 1 epoch
    assert results["bert"]["params"]["max_len"] == 64 and results["bilstm"]["params"]["padding"] == "packed"
    assert "gpu_check: results:" in run.stderr


def test_gpu_lm_check_dry_run(pack, tmp_path):
    from nlpkit.bench.gpu.lm_check import LM_DRY, LM_FULL

    run, results = dry_run("gpu_lm_check.sh", pack, tmp_path / "gpu-lm-check.json")
    lm = results["lm"]
    # the corpus: 16 training + 16 unlabelled reviews, 8 held out; the same code as the full size, only smaller
    assert (lm["n_train_reviews"], lm["n_valid_reviews"]) == (24, 8) and lm["vocab_size"] == 30522
    assert {k: lm["params"][k] for k in ("arch", "tokenizer", "layers", "tie_weights")} == \
        {"arch": "lstm", "tokenizer": "wordpiece", "layers": 3, "tie_weights": True}
    assert (lm["params"]["hidden"], lm["params"]["dim"]) == (LM_DRY["hidden"], LM_DRY["dim"])
    assert (LM_FULL["hidden"], LM_FULL["dim"], LM_FULL["layers"]) == (1150, 400, 3)  # AWD-LSTM's, as ULMFiT's
    assert lm["epochs_run"] == 1 and lm["optimizer_steps"] == lm["planned_steps"] > 0 and not lm["stopped_by_time_budget"]
    assert lm["tokens_trained"] == lm["tokens_per_epoch"] <= lm["corpus_tokens"]
    assert 1 < lm["valid_perplexity"] == lm["valid_perplexity_per_epoch"][-1]
    assert lm["tokens_per_second"] > 0 and lm["steps_per_second"] > 0 and lm["train_seconds"] > 0
    assert lm["peak_gpu_mb"] is None and lm["parameters"] > 0
    part = results["lm_lstm"]
    assert part["model"] == "lm-lstm" and (part["n_train"], part["n_test"]) == (16, 16)
    assert 0 <= part["accuracy"] <= 1 and part["optimizer_steps"] == 1 and part["peak_gpu_mb"] is None
    assert part["steps_per_second"] > 0 and part["tokens_per_second"] > 0 and part["params"]["max_len"] == 64
    assert results["seconds"] > 0 and "gpu_lm_check: results:" in run.stderr


def test_gpu_check_without_a_pack(tmp_path):
    run = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), "--dry-run", "--pack", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "build the pack with: make gpu-pack" in run.stderr
