"""Talk to Mneme's memory harvester from Python: MessagePack, JSON, and a malformed request."""
import asyncio
import json
import sys

import msgpack
import nats


async def main(url):
    nc = await nats.connect(url)
    subject = "mneme.agent.memory_harvester.process_memory"
    request = {
        "type": "process_memory",
        "payload": {"raw_input": "Met Sara for coffee; she is moving to Oslo in May.", "owner": "ann"},
    }

    # MessagePack: a map with `type` and `payload` is a whole request.
    reply = await nc.request(subject, msgpack.packb(request), timeout=5)
    message = msgpack.unpackb(reply.data)
    print(message["type"], message["payload"]["processed_memory"]["id"])

    # JSON: say so in Content-Type, and the reply comes back in JSON.
    reply = await nc.request(
        subject, json.dumps(request).encode(), timeout=5, headers={"Content-Type": "application/json"}
    )
    print(json.loads(reply.data)["type"])

    # Malformed: a typed error_response, and the agent keeps serving.
    reply = await nc.request(subject, b"\xc1 not msgpack", timeout=5)
    error = msgpack.unpackb(reply.data)
    print(error["type"], error["payload"]["code"], reply.headers["Nats-Service-Error-Code"])
    await nc.close()


asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "nats://127.0.0.1:4222"))
