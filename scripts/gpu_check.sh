#!/usr/bin/env bash
# The prepared GPU check (issue 12): CUDA checks, BERT fine-tuned on all 25,000 IMDb training reviews
# (max_len 256, 2 epochs, bf16 autocast) tested on all 25,000, and the BiLSTM on the GPU; one results JSON.
#
#   make gpu-pack                                  # here: builds gpu-pack/ (ignored, <= 64 MiB)
#   scripts/gpu_check.sh [--out gpu-check.json]     # there: installs the pack's nlpkit wheel, runs the check
#   scripts/gpu_check.sh --dry-run [--pack DIR]     # anywhere: the same code on the CPU over a tiny subset
#
# On the GPU machine (python3.12 with torch, transformers, scikit-learn, rich and click; no network)
# nlpkit is installed from the pack's wheel into a venv that sees the system's packages. The dry run
# uses the python on PATH (or $PYTHON) with nlpkit importable.
#
# $GPU_CHECK names the check that runs (default gpu_check, module nlpkit.bench.gpu.check; scripts/gpu_lm_check.sh
# sets gpu_lm_check, nlpkit.bench.gpu.lm_check: the LM pretraining and the lm-lstm fine-tune); the results default to its name.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
check="${GPU_CHECK:-gpu_check}"
pack="$here/gpu-pack"
out="${check//_/-}.json"
dry_run=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry_run="--dry-run" ;;
        --pack) pack="$2"; shift ;;
        --out) out="$2"; shift ;;
        *) echo "${check}.sh: unknown argument $1 (use --dry-run, --pack DIR, --out FILE)" >&2; exit 2 ;;
    esac
    shift
done
pack="$(realpath -m "$pack")"
out="$(realpath -m "$out")"
[ -f "$pack/imdb.npz" ] || { echo "${check}.sh: no $pack/imdb.npz; build the pack with: make gpu-pack" >&2; exit 2; }

python="${PYTHON:-python3}"
if [ -z "$dry_run" ]; then
    venv="${TMPDIR:-/tmp}/nlpkit-gpu-venv"
    "$python" -m venv --system-site-packages "$venv"
    "$venv/bin/python" -m pip install --quiet --no-index --no-deps --find-links "$pack/wheels" nlpkit
    python="$venv/bin/python"
    # the checkout's own nlpkit must not shadow the installed wheel
    cd "${TMPDIR:-/tmp}"
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec "$python" -m "nlpkit.bench.gpu.${check#gpu_}" --pack "$pack" --out "$out" $dry_run
