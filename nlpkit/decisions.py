"""The choices of how a model's probabilities become decisions: calibration methods, threshold metrics.

Declared here, in a module that imports nothing, so that the command line can offer them
at start-up without importing numpy; the code that uses them is nlpkit.models.calibration.
"""

# how ``train --calibrate`` / ``nlpkit calibrate --method`` map raw probabilities to calibrated ones
METHODS = ("auto", "sigmoid", "isotonic", "temperature", "none")
DEFAULT_METHOD = "auto"

# what ``nlpkit threshold --metric`` optimises: F1 of the positive label, the best precision at a
# recall of at least R, the best recall at a precision of at least P
THRESHOLD_METRICS = ("f1", "precision@recall=R", "recall@precision=P")
DEFAULT_THRESHOLD_METRIC = "f1"
