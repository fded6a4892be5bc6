"""HTTP server: pages, REST API, signaling, auth, WebSocket fan-out; the `hirestream` CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hirestream")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
