"""The prepared GPU checks (scripts/gpu_check.sh, scripts/gpu_lm_check.sh), apart from the benchmarks: they run on a lent GPU machine over a pack that `make gpu-pack` builds."""
