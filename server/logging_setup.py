"""Process-wide logging: one readable line per record on stderr.

Never log tokens, transcripts or full URLs with credentials (use redact helpers).
"""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Chatty at INFO (every request, every schema check from /readyz): keep for debugging only.
    for name in ("aiohttp.access", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
