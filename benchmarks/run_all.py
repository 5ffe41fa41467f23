"""`make perf`: run every benchmarks/bench_*.py in turn; each writes benchmarks/results/<name>.json.

    python benchmarks/run_all.py            # all of them
    python benchmarks/run_all.py text ray   # only bench_text.py and bench_ray.py

Benchmarks compare nlpkit against the raw library side by side in one run (this
machine is noisy), and report ratios. They are never part of `make test`.
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    failed = []
    for script in scripts:
        started = time.perf_counter()
        print(f"== {script.name}", flush=True)
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"== {script.name}: exit {rc} in {time.perf_counter() - started:.0f} s", flush=True)
        if rc:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
