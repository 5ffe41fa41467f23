"""nlpkit: the classic NLP ladder as composable Unix filters over JSON Lines records."""

import os

__version__ = "0.3.0"

# torch's OpenMP threads otherwise spin while they wait for work; on a machine whose cores
# other jobs keep busy, that made a small LSTM 10-40x slower. It must be set before torch
# loads; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
