#!/usr/bin/env bash
# The prepared GPU check of the language models: the CUDA checks, an LSTM LM at AWD-LSTM's size
# (3 x 1150, 400-d tied embeddings) pretrained on IMDb's train + the pack's unlabelled reviews (never test)
# with bf16 autocast, then lm-lstm fine-tuned from it on all 25,000 training reviews and tested on all
# 25,000; one results JSON (docs/language-models.md, "The GPU check"). The same pack and options as
# scripts/gpu_check.sh, which runs it:
#
#   make gpu-pack                                       # here: builds gpu-pack/ (ignored, <= 64 MiB)
#   scripts/gpu_lm_check.sh [--out gpu-lm-check.json]   # there: installs the pack's nlpkit wheel, runs the check
#   scripts/gpu_lm_check.sh --dry-run [--pack DIR]      # anywhere: the same code on the CPU, tiny sizes
GPU_CHECK=gpu_lm_check exec bash "$(dirname "$0")/gpu_check.sh" "$@"
