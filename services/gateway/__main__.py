import asyncio

import uvloop

from runtime.service import main
from services.gateway.app import build

# uvloop: socket writes and task switches cost about half of asyncio's, which the SSE fan-out needs.
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
main(build)
