"""JSON lines on stderr for the server's own messages and its access log."""

from __future__ import annotations

import json
import logging
import time


class JsonLines(logging.Formatter):
    """An access-log record is already a JSON object; anything else becomes one."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.name == "nlpkit.access":
            return message
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
                "level": record.levelname.lower(), "logger": record.name, "message": message.rstrip()}
        if record.exc_info:  # a bug in a request: the traceback stays, inside the line
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line)


def log_config() -> dict:
    """uvicorn's log_config: its loggers and nlpkit.access, one JSON line each on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    logger = {"handlers": ["stderr"], "level": "INFO", "propagate": False}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": "nlpkit.serve.logs.JsonLines"}},
        "handlers": {"stderr": handler},
        "loggers": {"uvicorn": logger, "uvicorn.error": {"level": "INFO"},  # .error propagates to uvicorn
                    "uvicorn.access": {"handlers": [], "propagate": False},  # nlpkit.access writes the access log
                    "nlpkit.access": logger},
    }
