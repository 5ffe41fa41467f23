"""The server's default bounds, light to import (the CLI's options take their defaults from here)."""

REQUEST_TIMEOUT_S = 30.0  # serve --request-timeout: a request's wall time; then its work stops and it gets 504
READ_TIMEOUT_S = 10.0  # serve --read-timeout: a request's head and body must arrive within this
