"""The linguistic rungs: POS tags, named entities, dependency parses, SVO triples.

One module per stage (tag, ner, parse, svo, evaluate); `annotate` holds the
spaCy runner they share. Nothing here imports spaCy or NLTK at import time.
"""
