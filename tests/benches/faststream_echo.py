"""The echo agent of the request-reply benchmark written with FastStream, as a user of the seed's Python would:
it answers `ping` envelopes (MessagePack maps with named fields) with `pong` envelopes, in a queue group.

    python3 tests/benches/faststream_echo.py nats://127.0.0.1:4222
"""

import asyncio
import sys
import time
import uuid

import msgpack
from faststream import FastStream
from faststream.nats import NatsBroker

SUBJECT = "bench.faststream.ping"
AGENT_ID = "faststream_" + uuid.uuid4().hex[:8]

# FastStream logs every message at INFO by default; what is measured is the framework, not its log.
broker = NatsBroker(sys.argv[1], logger=None)
app = FastStream(broker, logger=None)


@broker.subscriber(SUBJECT, queue="faststream")
async def ping(body: bytes) -> bytes:
    request = msgpack.unpackb(body)
    reply = {
        "id": str(uuid.uuid4()),
        "type": "pong",
        "sender_id": AGENT_ID,
        "recipient_id": request.get("sender_id", ""),
        "payload": {"agent_id": AGENT_ID},
        "timestamp": time.time(),
        "priority": 0,
        "requires_response": False,
        "correlation_id": request.get("id"),
        "schema_version": 1,
    }
    return msgpack.packb(reply)


if __name__ == "__main__":
    asyncio.run(app.run())
