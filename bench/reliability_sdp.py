"""Malformed and unanswerable SDP offers: mutations of one real aiortc offer (audio + video).

Each mutation takes the real offer and a seeded RNG and returns the request body to send:
a dict (sent as JSON) or bytes (sent raw). None of them should start a live interview: each
is malformed SDP (lines that are not <type>=<value>, control bytes, truncation, a BUNDLE
group naming a missing section, duplicate mids), lacks what a WebRTC peer needs (a DTLS
fingerprint, ICE credentials, DTLS-SRTP, a sending audio track, a codec in common), is not
SDP, or is not a valid request body. aiortc itself answers some of them (no fingerprint,
RTP/AVP, junk lines, an unknown BUNDLE mid), so the server has to refuse them on its own.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from typing import Any

Body = dict[str, Any] | bytes
Mutation = Callable[[str, random.Random], Body]

OVER_LIMIT_BYTES = 70 * 1024  # the server's SDP limit is 64 KiB
OVER_BODY_BYTES = (1 << 20) + 4096  # the server's body limit is 1 MiB


def _offer(sdp: Any) -> dict[str, Any]:
    return {"sdp": sdp, "type": "offer"}


def _section(sdp: str, kind: str) -> tuple[int, int]:
    """Start and end offsets of the first m=<kind> section."""
    start = sdp.index(f"m={kind} ")
    nxt = sdp.find("\nm=", start + 1)
    return start, (len(sdp) if nxt < 0 else nxt + 1)


def _drop_lines(sdp: str, prefix: str) -> str:
    return "".join(line for line in sdp.splitlines(keepends=True) if not line.startswith(prefix))


def _junk(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "%$#@!") for _ in range(n))


def truncated(sdp: str, rng: random.Random) -> Body:
    # Cut before the audio section's fingerprint: what is left cannot be answered.
    end = sdp.index("a=fingerprint", sdp.index("m=audio"))
    return _offer(sdp[: rng.randint(1, end - 1)])


def duplicate_mid(sdp: str, _rng: random.Random) -> Body:
    return _offer(sdp.replace("a=mid:1", "a=mid:0"))


def video_only(sdp: str, _rng: random.Random) -> Body:
    a, b = _section(sdp, "audio")
    return _offer((sdp[:a] + sdp[b:]).replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 1"))


def no_fingerprint(sdp: str, _rng: random.Random) -> Body:
    return _offer(_drop_lines(sdp, "a=fingerprint"))


def no_ice_ufrag(sdp: str, _rng: random.Random) -> Body:
    return _offer(_drop_lines(sdp, "a=ice-ufrag"))


def no_ice_pwd(sdp: str, _rng: random.Random) -> Body:
    return _offer(_drop_lines(sdp, "a=ice-pwd"))


def garbage_m_line(sdp: str, rng: random.Random) -> Body:
    # Garbage in place of the audio m= line's port, protocol and formats.
    return _offer(re.sub(r"m=audio [^\r\n]*", "m=audio " + _junk(rng, 24), sdp, count=1))


def garbage_lines(sdp: str, rng: random.Random) -> Body:
    # Lines that are not "<type>=<value>" at all: malformed SDP (RFC 8866 section 5).
    lines = sdp.splitlines(keepends=True)
    for _ in range(rng.randint(1, 8)):
        lines.insert(rng.randint(1, len(lines)), _junk(rng, rng.randint(1, 120)) + "\r\n")
    return _offer("".join(lines))


def control_bytes(sdp: str, rng: random.Random) -> Body:
    at = rng.randint(1, len(sdp) - 1)
    return _offer(sdp[:at] + "\x00\x01\x7f\ufffe\U0001f600" + sdp[at:])


def huge_attribute(sdp: str, rng: random.Random) -> Body:
    # Under the 64 KiB limit, a rtpmap that cannot be parsed.
    huge = f"a=rtpmap:96 {'A' * rng.randint(20_000, 55_000)}\r\n"
    a, _ = _section(sdp, "video")
    return _offer(sdp[:a] + huge + sdp[a:])


def over_limit(sdp: str, _rng: random.Random) -> Body:
    return _offer(sdp + "a=x-filler:" + "B" * OVER_LIMIT_BYTES + "\r\n")


def over_body_limit(sdp: str, _rng: random.Random) -> Body:
    return _offer(sdp + "a=x-filler:" + "C" * OVER_BODY_BYTES + "\r\n")


def no_common_codec(sdp: str, _rng: random.Random) -> Body:
    a, b = _section(sdp, "audio")
    section = re.sub(r"a=rtpmap:(\d+) [^\r\n]*", r"a=rtpmap:\1 x-nocodec/8000", sdp[a:b])
    return _offer(sdp[:a] + section + sdp[b:])


def no_payload_types(sdp: str, _rng: random.Random) -> Body:
    a, b = _section(sdp, "audio")
    section = re.sub(r"(m=audio \d+ \S+)[^\r\n]*", r"\1", sdp[a:b], count=1)
    section = _drop_lines(section, "a=rtpmap")
    return _offer(sdp[:a] + section + sdp[b:])


def plain_rtp(sdp: str, _rng: random.Random) -> Body:
    return _offer(sdp.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP"))


def audio_recvonly(sdp: str, _rng: random.Random) -> Body:
    a, b = _section(sdp, "audio")
    return _offer(sdp[:a] + sdp[a:b].replace("a=sendrecv", "a=recvonly") + sdp[b:])


def audio_inactive(sdp: str, _rng: random.Random) -> Body:
    a, b = _section(sdp, "audio")
    return _offer(sdp[:a] + sdp[a:b].replace("a=sendrecv", "a=inactive") + sdp[b:])


def bad_setup(sdp: str, _rng: random.Random) -> Body:
    return _offer(sdp.replace("a=setup:actpass", "a=setup:sideways"))


def bundle_unknown_mid(sdp: str, rng: random.Random) -> Body:
    return _offer(sdp.replace("a=group:BUNDLE 0 1", f"a=group:BUNDLE 0 1 {rng.randint(2, 99)}"))


def bad_candidate(sdp: str, rng: random.Random) -> Body:
    return _offer(sdp.replace("a=end-of-candidates", "a=candidate:" + _junk(rng, 30), 1))


def not_sdp(_sdp: str, rng: random.Random) -> Body:
    return _offer(rng.choice(["", " ", "hello", "v=1", "m=audio", "v=0\r\n", _junk(rng, 200)]))


def wrong_json_types(sdp: str, rng: random.Random) -> Body:
    bodies: list[Body] = [
        {"sdp": 12345, "type": "offer"},
        {"sdp": None, "type": "offer"},
        {"sdp": [sdp], "type": "offer"},
        {"sdp": sdp, "type": "answer"},
        {"type": "offer"},
        {"sdp": {"v": 0}},
    ]
    return rng.choice(bodies)


def not_json(sdp: str, rng: random.Random) -> Body:
    return rng.choice([sdp.encode(), b"{", b"\xff\xfe\x00", b"null", b"[]", b'"v=0"'])


MUTATIONS: dict[str, Mutation] = {
    f.__name__: f
    for f in (
        truncated,
        duplicate_mid,
        video_only,
        no_fingerprint,
        no_ice_ufrag,
        no_ice_pwd,
        garbage_m_line,
        garbage_lines,
        control_bytes,
        huge_attribute,
        over_limit,
        over_body_limit,
        no_common_codec,
        no_payload_types,
        plain_rtp,
        audio_recvonly,
        audio_inactive,
        bad_setup,
        bundle_unknown_mid,
        bad_candidate,
        not_sdp,
        wrong_json_types,
        not_json,
    )
}


def plan(n: int, seed: int) -> list[tuple[str, int]]:
    """n (mutation name, per-offer seed) pairs: every mutation in turn, order shuffled."""
    rng = random.Random(seed)  # noqa: S311 (reproducible inputs, not secrets)
    names = list(MUTATIONS)
    out = [(names[i % len(names)], rng.randrange(1 << 30)) for i in range(n)]
    rng.shuffle(out)
    return out


def make(name: str, sdp: str, seed: int) -> Body:
    return MUTATIONS[name](sdp, random.Random(seed))  # noqa: S311
