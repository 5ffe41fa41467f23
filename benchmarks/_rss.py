"""Run a command with inherited stdin/stdout and append its peak RSS (MB) to $RSS_LOG as 'NAME MB'.

    python benchmarks/_rss.py NAME nlpkit clean
"""

import os
import resource
import subprocess
import sys

name, *command = sys.argv[1:]
rc = subprocess.call(command)
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
with open(os.environ["RSS_LOG"], "a") as log:
    log.write(f"{name} {peak_mb:.1f}\n")
sys.exit(rc)
