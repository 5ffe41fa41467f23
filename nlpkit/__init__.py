"""nlpkit: the classic NLP ladder as composable Unix filters over JSON Lines records."""

__version__ = "0.1.0"
