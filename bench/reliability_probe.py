"""Times GET /healthz every 100 ms from its own process and writes the round trips as JSON.

    python -m bench.reliability_probe URL SECONDS OUT.json

/healthz does no I/O, so its round trip on loopback is the time the server's event loop took
to get to it: an outside measure of event-loop lag (plus a fraction of a millisecond of HTTP).
A request that fails or times out (5 s) is recorded with status 0 and its elapsed time.
"""

from __future__ import annotations

import http.client
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

INTERVAL_S = 0.1
TIMEOUT_S = 5.0


class Stop(Exception):
    pass


def _stop(_sig: int, _frame: FrameType | None) -> None:
    raise Stop


def probe(url: str, seconds: float) -> list[tuple[float, int, float]]:
    """(seconds since start, HTTP status or 0, round trip ms) every INTERVAL_S."""
    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1":
        raise SystemExit(f"refusing to probe {parts.hostname}: loopback only")
    samples: list[tuple[float, int, float]] = []
    t0 = time.monotonic()
    conn: http.client.HTTPConnection | None = None
    try:
        while (now := time.monotonic()) - t0 < seconds:
            status = 0
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_S)
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
            samples.append((round(now - t0, 3), status, (time.monotonic() - now) * 1000))
            time.sleep(max(0.0, now + INTERVAL_S - time.monotonic()))
    except Stop:
        pass
    return samples


def main() -> None:
    url, seconds, out = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
    signal.signal(signal.SIGTERM, _stop)
    samples = probe(url, seconds)
    out.write_text(json.dumps({"interval_s": INTERVAL_S, "samples": samples}))


if __name__ == "__main__":
    main()
