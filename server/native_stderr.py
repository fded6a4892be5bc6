"""Keep native libraries' start-up chatter off the terminal.

MediaPipe and TFLite print banners from C++ straight to file descriptor 2 (not through
Python), e.g. "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.". Inside `captured()`
fd 2 goes to a temporary file; on the way out, every captured line that is not such chatter
is written to the real stderr, so real errors and our own log lines are never lost.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import TextIO

CHATTER = re.compile(
    r"^(W0000|I0000|WARNING: Logging before InitGoogle|INFO: Created TensorFlow Lite)"
)


@contextlib.contextmanager
def captured() -> Iterator[TextIO]:
    """Yields a stream to the real stderr (for progress bars) while fd 2 is captured."""
    sys.stderr.flush()
    saved = os.dup(2)
    real = os.fdopen(os.dup(saved), "w", buffering=1)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield real
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            for line in tmp.read().decode(errors="replace").splitlines():
                if line and not CHATTER.match(line):
                    print(line, file=sys.stderr)
            real.close()
