"""Build the folder the GPU check carries (`make gpu-pack`): everything the GPU machine lacks, at most 64 MiB.

    python scripts/make_gpu_pack.py [--data ../shared/corpora/imdb] [--out gpu-pack] [--limit N] [--no-wheel]

- wheels/: nlpkit as a wheel (pip wheel --no-deps), plus any cp312 wheel named in
  EXTRA_WHEELS that the GPU machine's python3.12 lacks (none is needed today: the
  check imports torch, transformers, numpy, scikit-learn, rich and click, all there);
- minilm/: all-MiniLM-L6-v2 (the bert kind's offline checkpoint) with its floating
  weights cast to bf16 in safetensors, and its tokenizer;
- imdb.npz: train and test as WordPiece ids of that tokenizer (uint16, compressed),
  head+tail truncated to max_len - 2 ids (Sun et al. 2019), with the labels;
- unsup.npz: UNSUP_REVIEWS of the unlabelled reviews (a seeded sample), whole, as the
  same ids, for the LM check's pretraining (scripts/gpu_lm_check.sh): as many as fit
  beside the rest with about 1 MiB to spare (~413 bytes a review compressed);
- manifest.json: each file's bytes and sha256, and the total.

--limit N takes a balanced seeded subset of each split, and N unlabelled reviews (the test's tiny pack).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LIMIT_BYTES = 64 * 2**20
MAX_LEN = 256
TRUNCATE = "head+tail"
TOKENIZER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
# unlabelled reviews carried for the LM check: 15,000 whole reviews are 6.2 MB (4.7M ids), the most
# that fit the 64 MiB beside the model and the labelled splits with a margin for the wheel to grow
UNSUP_REVIEWS = 15_000
# cp312 wheels the GPU machine lacks: "name==version" entries, fetched with pip download (none needed today)
EXTRA_WHEELS: list[str] = []


def build_wheels(out: Path) -> None:
    wheels = out / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(REPO)], check=True)
    if EXTRA_WHEELS:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--no-deps",
                        "--python-version", "3.12", "--platform", "manylinux2014_x86_64", "-d", str(wheels),
                        *EXTRA_WHEELS], check=True)


def write_minilm(out: Path) -> Path:
    """The checkpoint with bf16 weights: half the bytes; the bert kind loads them back into fp32 master weights."""
    import torch
    from safetensors.torch import load_file, save_file

    from nlpkit.resources import default_bert_checkpoint

    source = Path(default_bert_checkpoint())
    dest = out / "minilm"
    dest.mkdir(parents=True, exist_ok=True)
    tensors = load_file(str(source / "model.safetensors"))
    save_file({name: (t.to(torch.bfloat16) if t.is_floating_point() else t).contiguous() for name, t in tensors.items()},
              str(dest / "model.safetensors"), metadata={"format": "pt"})
    for name in TOKENIZER_FILES:
        shutil.copy2(source / name, dest / name)
    return dest


def packed(name: str, pieces: list[list[int]]) -> dict[str, np.ndarray]:
    """Reviews of ids as one uint16 array and the offsets where each starts (and the last ends)."""
    return {f"{name}_ids": np.concatenate([np.asarray(p, dtype=np.uint16) for p in pieces]),
            f"{name}_offsets": np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)}


def write_ids(data: Path, out: Path, tokenizer_dir: Path, limit: int | None) -> None:
    from transformers import AutoTokenizer

    from nlpkit.bench.data import balanced_subset, load_split, load_unlabelled
    from nlpkit.corpora import split_path
    from nlpkit.training.vocab import truncate

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    assert len(tokenizer) < 2**16, "WordPiece ids must fit in uint16"

    def encode(records):
        return tokenizer([r["text"] for r in records], add_special_tokens=False, truncation=False)["input_ids"]

    arrays: dict[str, np.ndarray] = {}
    label_names: list[str] = []
    for split in ("train", "test"):
        records = balanced_subset(load_split(data, split), limit, seed=0)
        label_names = sorted({r["label"] for r in records})
        arrays.update(packed(split, [truncate(ids, MAX_LEN - 2, TRUNCATE) for ids in encode(records)]))
        arrays[f"{split}_labels"] = np.asarray([label_names.index(r["label"]) for r in records], dtype=np.uint8)
    np.savez_compressed(out / "imdb.npz", label_names=np.asarray(label_names), max_len=np.asarray(MAX_LEN),
                        truncate=np.asarray(TRUNCATE), **arrays)
    unsup_file = split_path(data, "unsup")
    if unsup_file is not None:
        unsup = load_unlabelled(unsup_file)
        chosen = np.random.default_rng(0).permutation(len(unsup))[:min(UNSUP_REVIEWS, limit or UNSUP_REVIEWS)]
        np.savez_compressed(out / "unsup.npz", **packed("unsup", encode([unsup[i] for i in sorted(chosen)])))


def write_manifest(out: Path) -> dict:
    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json"):
        files[str(path.relative_to(out))] = {"bytes": path.stat().st_size,
                                             "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    manifest = {"files": files, "total_bytes": sum(f["bytes"] for f in files.values()), "limit_bytes": LIMIT_BYTES}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "corpora" / "imdb")
    parser.add_argument("--out", type=Path, default=REPO / "gpu-pack")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--no-wheel", action="store_true", help="skip the wheels (the dry run uses this checkout)")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    if not args.no_wheel:
        build_wheels(args.out)
    write_ids(args.data, args.out, write_minilm(args.out), args.limit)
    manifest = write_manifest(args.out)
    total = manifest["total_bytes"]
    print(f"gpu-pack: {len(manifest['files'])} files, {total / 2**20:.1f} MiB in {args.out}", file=sys.stderr)
    if total > LIMIT_BYTES:
        print(f"gpu-pack: over the {LIMIT_BYTES / 2**20:.0f} MiB a device run may carry", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
