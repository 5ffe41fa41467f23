"""Benchmarks: `nlpkit bench imdb` runs every rung of the ladder on IMDb and writes a report.

    methods.py  the methods table (kinds, per-device settings, published figures)
    data.py     loading, seeded subsets, the validation slice, the shared preprocessing
    runner.py   prepares the data once, runs each method in its own process, resumes
    worker.py   one method: fit, predict the test split once, save, measure
    report.py   the rich table, report.md, report.html (matplotlib plots)

`nlpkit bench ud` and `nlpkit bench ner` measure the linguistic rungs on treebanks:

    engines.py            engines (spaCy sm/md, NLTK), finding or fetching the gold file, one process
                          per engine, resuming
    ud.py, ner.py         what one engine does over UD English-EWT / Universal NER, and the references
    linguistic_report.py  their tables, report.md and report.html

Nothing is imported here: the CLI stays light.
"""
