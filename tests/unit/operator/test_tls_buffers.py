"""TLS connections opened after `shrink_tls_read_buffers` read into 16 KiB buffers, not asyncio's
256 KiB (controller.operator.tls_buffers says why)."""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import ssl
from collections.abc import Iterator

import pytest

from controller.operator.tls_buffers import TLS_READ_BUFFER_BYTES, shrink_tls_read_buffers

ASYNCIO_DEFAULT = 256 * 1024


@pytest.fixture
def restored() -> Iterator[None]:
    """asyncio's default for the test (another test may have run the operator's main), then
    whatever was there before."""
    saved = asyncio.sslproto.SSLProtocol.max_size
    asyncio.sslproto.SSLProtocol.max_size = ASYNCIO_DEFAULT
    yield
    asyncio.sslproto.SSLProtocol.max_size = saved


def buffer_of_a_new_tls_connection() -> int:
    async def build() -> int:
        loop = asyncio.get_running_loop()
        protocol = asyncio.sslproto.SSLProtocol(
            loop, asyncio.Protocol(), ssl.create_default_context(), loop.create_future()
        )
        buffer: bytearray = getattr(protocol, "_ssl_buffer")  # noqa: B009 (not in typeshed)
        return len(buffer)

    return asyncio.run(build())


@pytest.mark.usefixtures("restored")
def test_new_tls_connections_get_the_small_buffer() -> None:
    assert buffer_of_a_new_tls_connection() == ASYNCIO_DEFAULT
    assert shrink_tls_read_buffers() is True
    assert buffer_of_a_new_tls_connection() == TLS_READ_BUFFER_BYTES == 16 * 1024


@pytest.mark.usefixtures("restored")
def test_an_asyncio_without_the_setting_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delattr(asyncio.sslproto.SSLProtocol, "max_size")
    assert shrink_tls_read_buffers() is False
    assert "TLS buffers unchanged" in caplog.text
