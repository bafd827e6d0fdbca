"""Dead letters: list them, look at one, and replay them once their cause is fixed.

    python -m runtime.dlq list   [--consumer billing-usage] [--since 2h|2026-12-01T00:00Z] [--limit 50]
    python -m runtime.dlq show   SEQ
    python -m runtime.dlq replay (--seq SEQ … | --consumer NAME [--since …]) [--keep] [--dry-run]

Each dead letter is a message of the DLQ stream on `dlq.<durable>`: the original subject, body and
headers, the error, and how often it was delivered. `replay` publishes the body to its original
subject, marked for that one durable (`Dlq-Replay-For`): other consumers of the subject skip it, and
the target's inbox makes a replay of something already applied a no-op, so replaying twice is
harmless. The replay's `Nats-Msg-Id` is derived from the dead letter's sequence, so a replay repeated
within the stream's duplicate window is dropped by JetStream before anyone sees it. A replayed dead
letter is deleted from the DLQ unless `--keep` is given; if it fails again, it comes back as a new one.

Connects like the services (NATS_URL and, when given, NATS credentials — the `operator` user).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from contracts.subjects import DLQ, dlq_subject

REPLAY_HEADER = "Dlq-Replay-For"
FETCH_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    consumer: str
    subject: str
    error: str
    data: str
    headers: dict[str, str]
    num_delivered: int | None
    dead_at: datetime

    @classmethod
    def from_message(cls, msg) -> DeadLetter:
        body = json.loads(msg.data)
        return cls(
            seq=msg.metadata.sequence.stream,
            consumer=body.get("consumer", ""),
            subject=body.get("subject", ""),
            error=body.get("error", ""),
            data=body.get("data", ""),
            headers=body.get("headers") or {},
            num_delivered=body.get("num_delivered"),
            dead_at=msg.metadata.timestamp,
        )


async def dead_letters(
    js, *, consumer: str | None = None, since: datetime | None = None, limit: int = 10_000
) -> list[DeadLetter]:
    """The DLQ's messages (of one durable, since a moment), oldest first; read without consuming them."""
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        inactive_threshold=30.0,
        mem_storage=True,
        deliver_policy=DeliverPolicy.BY_START_TIME if since else DeliverPolicy.ALL,
        opt_start_time=since.astimezone(UTC) if since else None,
    )
    subject = dlq_subject(consumer) if consumer else "dlq.>"
    sub = await js.pull_subscribe(subject, stream=DLQ.name, config=config)
    found: list[DeadLetter] = []
    try:
        while len(found) < limit:
            try:
                batch = await sub.fetch(min(256, limit - len(found)), timeout=FETCH_TIMEOUT_S)
            except (NatsTimeout, TimeoutError):
                break
            found.extend(DeadLetter.from_message(m) for m in batch)
            if batch[-1].metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    return found


async def dead_letter(js, seq: int) -> DeadLetter:
    raw = await js.get_msg(DLQ.name, seq)
    body = json.loads(raw.data)
    return DeadLetter(
        seq=seq,
        consumer=body.get("consumer", ""),
        subject=body.get("subject", ""),
        error=body.get("error", ""),
        data=body.get("data", ""),
        headers=body.get("headers") or {},
        num_delivered=body.get("num_delivered"),
        dead_at=_raw_time(raw),
    )


def _raw_time(raw) -> datetime:
    value = getattr(raw, "time", None)
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else datetime.now(UTC)


async def replay(js, letters: list[DeadLetter], *, keep: bool = False) -> int:
    """Publish each to its original subject for its durable alone; answer how many were replayed."""
    done = 0
    for letter in letters:
        headers = {k: v for k, v in letter.headers.items() if k != "Nats-Msg-Id"}
        headers.update({"Nats-Msg-Id": f"dlq-replay-{letter.seq}", REPLAY_HEADER: letter.consumer})
        await js.publish(letter.subject, letter.data.encode(), headers=headers)
        if not keep:
            await js.delete_msg(DLQ.name, letter.seq)
        done += 1
    return done


def replay_target(msg) -> str | None:
    """The durable a replayed message is meant for (None: an ordinary message, for every consumer)."""
    headers = getattr(msg, "headers", None) or {}
    return headers.get(REPLAY_HEADER)


def parse_since(text: str | None) -> datetime | None:
    if not text:
        return None
    match = re.fullmatch(r"(\d+)([smhd])", text)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match[2]]
        return datetime.now(UTC) - timedelta(**{unit: int(match[1])})
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _line(letter: DeadLetter) -> str:
    return (
        f"{letter.seq:>8}  {letter.dead_at:%Y-%m-%d %H:%M:%S}  {letter.consumer:<32} "
        f"{letter.subject:<36} {letter.error[:100]}"
    )


async def _connect(options: dict[str, Any] | None = None):
    import nats

    from runtime.settings import ServiceSettings

    settings = ServiceSettings()
    return await nats.connect(settings.nats_servers, **(options or {}), **_credentials(settings))


def _credentials(settings) -> dict[str, Any]:
    return {
        key: value
        for key, value in (
            ("user", getattr(settings, "nats_user", None)),
            ("password", getattr(settings, "nats_password", None)),
            ("user_credentials", getattr(settings, "nats_creds", None)),
        )
        if value
    }


async def _main(args: argparse.Namespace) -> int:
    nc = await _connect()
    js = nc.jetstream()
    try:
        if args.command == "list":
            letters = await dead_letters(js, consumer=args.consumer, since=parse_since(args.since), limit=args.limit)
            for letter in letters:
                print(_line(letter))
            print(f"{len(letters)} dead letter(s)")
        elif args.command == "show":
            letter = await dead_letter(js, args.seq)
            print(json.dumps({**letter.__dict__, "dead_at": letter.dead_at.isoformat()}, indent=2, ensure_ascii=False))
        else:
            if args.seq:
                letters = [await dead_letter(js, seq) for seq in args.seq]
            elif args.consumer:
                letters = await dead_letters(js, consumer=args.consumer, since=parse_since(args.since))
            else:
                print("replay needs --seq or --consumer", file=sys.stderr)
                return 2
            for letter in letters:
                print(("would replay " if args.dry_run else "replaying ") + _line(letter))
            if not args.dry_run:
                print(f"{await replay(js, letters, keep=args.keep)} replayed")
    finally:
        await nc.drain()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.dlq", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list dead letters, oldest first")
    listing.add_argument("--consumer", help="durable name, e.g. billing-usage")
    listing.add_argument("--since", help="e.g. 2h, 3d or 2026-12-01T00:00Z")
    listing.add_argument("--limit", type=int, default=1000)
    show = sub.add_parser("show", help="one dead letter with its body and error")
    show.add_argument("seq", type=int)
    again = sub.add_parser("replay", help="publish dead letters to their original subject, for their durable")
    again.add_argument("--seq", type=int, nargs="*", default=[])
    again.add_argument("--consumer")
    again.add_argument("--since")
    again.add_argument("--keep", action="store_true", help="keep them in the DLQ after replaying")
    again.add_argument("--dry-run", action="store_true")
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
