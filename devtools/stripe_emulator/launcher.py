"""Run the extended localstripe: ``python -m devtools.stripe_emulator [--port 0]``.

Prints one line ``STRIPE_EMULATOR_READY http://host:port`` on stdout once it listens
(port 0 picks a free one), then serves until SIGTERM/SIGINT. ``--webhook URL`` with
``--webhook-secret whsec_…`` registers a webhook endpoint at start.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys

from aiohttp import web
from localstripe import webhooks

from .app import build_app

READY = "STRIPE_EMULATOR_READY"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stripe_emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--webhook", help="URL that receives every event")
    parser.add_argument("--webhook-secret", help="whsec_… used to sign --webhook deliveries")
    parser.add_argument("--verbose", action="store_true", help="log requests and deliveries to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.webhook:
        if not args.webhook_secret:
            raise SystemExit("--webhook needs --webhook-secret")
        webhooks.register_webhook("cli", args.webhook, args.webhook_secret, None)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)  # connections queue until the app serves, so READY is never early
    host, port = sock.getsockname()[:2]

    async def announce(_app: web.Application) -> None:
        print(f"{READY} http://{host}:{port}", flush=True)

    app = build_app()
    app.on_startup.append(announce)
    access_log = logging.getLogger("aiohttp.access") if args.verbose else None
    web.run_app(app, sock=sock, access_log=access_log, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
