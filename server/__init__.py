"""HTTP server: pages, REST API, signaling, auth, WebSocket fan-out; the `hirestream` CLI."""

import os
from importlib.metadata import PackageNotFoundError, version

# Before anything imports numpy: its OpenBLAS pool would otherwise start a thread per core
# that busy-waits after every matrix product (one per Whisper decode, in the feature
# extractor). Measured by bench.live's profile: 0.17 of a core wasted with one live
# interview, 0.30 with four; the products here are small and gain nothing from threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:
    __version__ = version("hirestream")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
