"""Downloads that survive a broken connection: HTTP Range resume, a size and md5 check, a file whole or absent.

Used by ``nlpkit corpora fetch`` (the corpora's original archives) and the UD and
Universal NER downloads of ``bench ud`` / ``bench ner``. A transfer goes to
``DEST.part``; a later call resumes it where it stopped; only a complete file with
the right md5 is renamed to ``DEST``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from nlpkit.errors import NlpkitError

CHUNK = 1 << 16

Progress = Callable[[int, "int | None"], None]  # (bytes so far, total bytes or None)


class DownloadInterrupted(NlpkitError):
    pass


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    md5: str | None = None,
    size: int | None = None,
    progress: Progress | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    retry_wait: float = 1.0,
) -> Path:
    """Download `url` to `dest`, resuming from `dest`.part with HTTP Range; check size and md5.

    A transfer that breaks is retried `retries` times from where it stopped; if
    it still fails the partial file stays, and the next call resumes it. A file
    whose checksum does not match is deleted (it cannot be resumed into a good one).
    """
    from nlpkit import __version__

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and (md5 is None or file_md5(dest) == md5):
        return dest
    part = dest.with_name(dest.name + ".part")
    total: int | None = size
    last_error: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(retry_wait)
        have = part.stat().st_size if part.exists() else 0
        if size is not None and have == size:
            break
        headers = {"User-Agent": f"nlpkit/{__version__}"}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
                status = response.status
                length = response.headers.get("Content-Length")
                if have and status == 206:
                    start = _content_range_start(response.headers.get("Content-Range"))
                    if start != have:
                        raise DownloadInterrupted(f"server resumed at byte {start}, not {have}")
                    mode = "ab"
                else:  # 200: the server ignored Range (or there was nothing to resume): start over
                    have, mode = 0, "wb"
                expected = have + int(length) if length is not None else None
                total = expected if expected is not None else total
                written = have
                with open(part, mode) as out:
                    while True:
                        chunk = response.read(CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)
                        written += len(chunk)
                        if progress:
                            progress(written, total)
                if expected is not None and written < expected:
                    raise DownloadInterrupted(f"connection closed after {written:,} of {expected:,} bytes")
            last_error = None
            break
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:  # nothing left to send: the partial file is complete (the md5 decides)
                last_error = None
                break
            raise NlpkitError(f"cannot download {url}: HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, OSError, socket.timeout, http.client.HTTPException, DownloadInterrupted,
                ValueError) as e:
            reason = getattr(e, "reason", None) or e
            last_error = e if not isinstance(reason, Exception) else reason
            if isinstance(e, urllib.error.URLError) and not part.exists():
                # nothing was received: a wrong host or no network; retrying will not help
                raise NlpkitError(f"cannot download {url}: {reason}") from None
    if last_error is not None:
        have = part.stat().st_size if part.exists() else 0
        of = f" of {total:,}" if total else ""
        raise DownloadInterrupted(
            f"download of {url} interrupted at {have:,}{of} bytes ({last_error}); "
            "run the same command again to resume it"
        )
    got_size = part.stat().st_size
    if size is not None and got_size != size:
        part.unlink()
        raise NlpkitError(
            f"{url}: downloaded {got_size:,} bytes, expected {size:,}; the file was deleted, run the command again"
        )
    if md5 is not None:
        got = file_md5(part)
        if got != md5:
            part.unlink()
            raise NlpkitError(
                f"{url}: checksum mismatch (md5 {got}, expected {md5}); the damaged download was deleted, "
                "run the command again"
            )
    os.replace(part, dest)
    return dest


def _content_range_start(value: str | None) -> int | None:
    match = re.match(r"bytes (\d+)-", value or "")
    return int(match.group(1)) if match else None


def file_md5(path: str | os.PathLike) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
