"""Benchmarks: `nlpkit bench imdb` runs every rung of the ladder on IMDb and writes a report.

    methods.py  the methods table (kinds, per-device settings, published figures)
    data.py     loading, seeded subsets, the validation slice, the shared preprocessing
    runner.py   prepares the data once, runs each method in its own process, resumes
    worker.py   one method: fit, predict the test split once, save, measure
    report.py   the rich table, report.md, report.html (matplotlib plots)

Nothing is imported here: the CLI stays light.
"""
