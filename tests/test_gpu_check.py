"""The GPU check's dry run: a tiny pack from the embedded sample, then scripts/gpu_check.sh --dry-run on the CPU.

The same code as on the GPU machine runs end to end (pack reading, the
pre-tokenized BERT, the BiLSTM over WordPiece tokens, the results JSON); only
the device and the sizes differ. No GPU is needed, and none is used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def test_gpu_check_dry_run(tmp_path):
    pack = tmp_path / "pack"
    made = subprocess.run([sys.executable, str(REPO / "scripts" / "make_gpu_pack.py"), "--data",
                           str(REPO / "corpora" / "imdb-sample"), "--limit", "16", "--no-wheel", "--out", str(pack)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    manifest = json.loads((pack / "manifest.json").read_text())
    assert set(manifest["files"]) == {"imdb.npz", "minilm/model.safetensors", "minilm/config.json", "minilm/vocab.txt",
                                      "minilm/tokenizer.json", "minilm/tokenizer_config.json",
                                      "minilm/special_tokens_map.json"}
    assert manifest["total_bytes"] < manifest["limit_bytes"] == 64 * 2**20
    with np.load(pack / "imdb.npz") as arrays:
        assert arrays["train_ids"].dtype == np.uint16 and len(arrays["train_labels"]) == 16
        lengths = np.diff(arrays["train_offsets"])
        assert lengths.max() <= 254 and arrays["train_offsets"][-1] == len(arrays["train_ids"])
    from safetensors import safe_open

    with safe_open(str(pack / "minilm" / "model.safetensors"), "pt") as weights:
        assert {str(weights.get_slice(k).get_dtype()) for k in weights.keys()} <= {"BF16", "I64"}

    out = tmp_path / "gpu-check.json"
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "2"}
    run = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), "--dry-run", "--pack", str(pack),
                          "--out", str(out)], capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert run.returncode == 0, run.stderr
    results = json.loads(out.read_text())
    assert results["dry_run"] is True and results["device"] == "cpu" and results["gpu"] is None
    checks = {c["name"]: c["ok"] for c in results["cuda_checks"]}
    assert checks == {"cuda available": None, "auto resolves to cuda": None, "bf16 autocast": None,
                      "save/load on cpu keeps predictions": True}
    for name in ("bert", "bilstm"):
        part = results[name]
        assert (part["n_train"], part["n_test"]) == (16, 16)
        assert 0 <= part["accuracy"] <= 1 and part["train_seconds"] > 0 and part["steps_per_second"] > 0
        assert part["optimizer_steps"] == 1 and part["peak_gpu_mb"] is None  # 16 reviews, batch 16, 1 epoch
    assert results["bert"]["params"]["max_len"] == 64 and results["bilstm"]["params"]["padding"] == "packed"
    assert results["absent_libraries_imported"] == []  # nltk, spaCy, gensim, fastText: not on the GPU machine
    assert results["pack"]["total_bytes"] == manifest["total_bytes"]
    assert "gpu_check: results:" in run.stderr


def test_gpu_check_without_a_pack(tmp_path):
    run = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), "--dry-run", "--pack", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "build the pack with: make gpu-pack" in run.stderr
