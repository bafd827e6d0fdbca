"""An oversized ingestion body is refused with 413 as soon as it passes 1 MiB (issue 20).

The client below never finishes its body: a gateway that read the whole body before deciding would
never answer. It must answer once the cap is passed, having held at most the cap.
"""

from __future__ import annotations

import asyncio
import json

from tests.support.ingest import BATCH, platform_key

MIB = 1 << 20


async def raw_post(port: int, headers: dict, chunks, *, finish: bool) -> tuple[int, dict]:
    """POST /ingest/v1/events over a bare socket with a chunked body; answers (status, JSON body).
    Without `finish` the body is left open: only an answer given before its end arrives."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "".join(
        f"{name}: {value}\r\n"
        for name, value in {"Host": "gateway", "Content-Type": BATCH, "Transfer-Encoding": "chunked", **headers}.items()
    )
    writer.write(f"POST /ingest/v1/events HTTP/1.1\r\n{head}\r\n".encode())
    try:
        for chunk in chunks:
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
        if finish:
            writer.write(b"0\r\n\r\n")
        status_line = await asyncio.wait_for(reader.readline(), 10)
        response_head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode().lower()
        length = int(response_head.split("content-length:")[1].split("\r\n")[0])
        body = await asyncio.wait_for(reader.readexactly(length), 10)
        return int(status_line.split()[1]), json.loads(body)
    finally:
        writer.close()


def endless_array(chunk_bytes: int = 64 * 1024, total: int = 2 * MIB):
    """The start of a JSON array of events, `total` bytes of it, never closed."""
    event = json.dumps(
        {
            "specversion": "1.0",
            "id": "x",
            "source": "s",
            "type": "usage.recorded",
            "subject": "ten_x",
            "time": "2026-11-26T10:00:00Z",
            "data": {"amount_cents": 1},
        }
    )
    body = ("[" + ",".join([event] * (total // len(event) + 1))).encode()[:total]
    return [body[i : i + chunk_bytes] for i in range(0, len(body), chunk_bytes)]


async def test_a_body_past_one_mib_is_refused_before_it_ends(stack):
    async with stack() as s:
        key = await platform_key(s.http)

        status, body = await raw_post(s.gateway.port, key, endless_array(), finish=False)

        assert status == 413
        assert body["error"]["code"] == "payload_too_large"


async def test_a_declared_length_past_one_mib_is_refused_without_reading_it(stack):
    async with stack() as s:
        key = await platform_key(s.http)
        reader, writer = await asyncio.open_connection("127.0.0.1", s.gateway.port)
        writer.write(
            f"POST /ingest/v1/events HTTP/1.1\r\nHost: gateway\r\nContent-Type: {BATCH}\r\n"
            f"Authorization: {key['Authorization']}\r\nContent-Length: {MIB + 1}\r\n\r\n[".encode()
        )
        status_line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()

        assert status_line.split()[1] == b"413"


async def test_a_body_of_exactly_one_mib_is_read(stack):
    async with stack() as s:
        key = await platform_key(s.http)
        padding = b" " * (MIB - 2)

        status, body = await raw_post(s.gateway.port, key, [b"[", padding, b"]"], finish=True)

        assert status == 202, body  # an empty batch: nothing to accept, but not too large
        assert body == {"accepted": 0}
