"""``nlpkit serve``: models and stages over HTTP (app.py), micro-batching (batching.py),
Prometheus metrics (metrics.py), the page at / (page.py), JSON logs (logs.py).

Imports FastAPI when used; the CLI layer (nlpkit/cli/serve.py) only parses options.
"""
