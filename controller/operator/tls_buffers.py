"""Smaller TLS read buffers for the process: memory that scales with concurrent API requests.

asyncio gives every TLS connection a 256 KiB read buffer (`asyncio.sslproto.SSLProtocol.max_size`),
and Kopf's API client opens a connection per concurrent request to the API server (its aiohttp
connector has no limit). A fleet seen at once (start-up, a fleet applied) has hundreds of requests
in flight: at 1,000 resources those buffers alone raised the operator's RSS from about 150 to
195-330 MiB (docs/development/fleet-memory.md), and the allocator keeps that peak. 16 KiB is the
largest TLS record, so a read still takes a whole record; only large responses (the initial list)
take more reads.

Bounding Kopf's per-object workers instead (`queueing.worker_limit`) was measured and dropped:
Kopf sleeps inside a worker for a handler's retry delay, so deletions waiting for Twilio to end
a review would hold every slot and stop the handling of all other events, and deleting 200
resources took 17.4 s instead of 2.9 s.
"""

from __future__ import annotations

import asyncio.sslproto
import logging

TLS_READ_BUFFER_BYTES = 16 * 1024

_log = logging.getLogger(__name__)


def shrink_tls_read_buffers(size: int = TLS_READ_BUFFER_BYTES) -> bool:
    """Make TLS connections opened from now on read into `size`-byte buffers; False (and a
    warning) when this Python's asyncio has no such setting, and nothing changed."""
    protocol = asyncio.sslproto.SSLProtocol
    if not isinstance(getattr(protocol, "max_size", None), int):
        _log.warning("asyncio.sslproto.SSLProtocol.max_size not found: TLS buffers unchanged")
        return False
    protocol.max_size = size
    return True
