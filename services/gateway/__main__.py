import asyncio
import resource

import uvloop

from runtime.service import main
from services.gateway.app import build

# uvloop: socket writes and task switches cost about half of asyncio's, which the SSE fan-out needs.
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
# Each open SSE stream is a socket: take every file the hard limit allows (a shell's soft limit is
# often 1,024; one gateway process is built for 20,000 streams).
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft < _hard != resource.RLIM_INFINITY:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))
main(build)
