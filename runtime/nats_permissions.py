"""Who may publish and subscribe what on NATS: the permission matrix, derived from `contracts/`.

Nothing here is a hand-kept list of subjects. A service may publish the subjects of the streams it
owns (`StreamSpec.owner`) or produces into (`StreamSpec.producers`: the gateway into USAGE), the
`portal.<type>.v1` types it produces (`contracts.portal.v1.PRODUCERS`),
the requests that name it among their `callers`, and `dlq.<durable>` for its own durables; it may
subscribe to the requests it answers (`Request.responder()`) and to its private inbox
(`_INBOX_<service>.>`, set as nats-py's `inbox_prefix` in `runtime.nats_connect`). JetStream is
reached through `$JS.API` subjects named after its own streams and its own durables only
(`Message.durables`), so no service can read, create or delete another's consumer.

What is not a message is declared once below: the gateway's ephemeral readers of PORTAL (SSE live
feed and `Last-Event-ID` replay), its rate-limit bucket and its replica-to-replica broadcasts.
tests/unit/runtime/test_nats_permissions.py builds every service and fails when one registers a
consumer or a request handler, or holds a bucket, that this matrix does not cover.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.base import Message, Request, registry
from contracts.portal.v1 import PRODUCERS
from contracts.subjects import ALL_STREAMS, StreamSpec, dlq_subject, portal_subject

SERVICES = ("payments", "billing", "documents", "notify", "gateway")
PLATFORM = "platform"  # the outside producer of usage and reservations (API.md)
OPERATOR = "operator"  # humans and their tools: DLQ inspection and replay, stream administration
PROVISIONER = "provisioner"  # declares every stream (make run, the tests, the k8s Job)
USERS = (*SERVICES, PLATFORM, OPERATOR, PROVISIONER)

# Not messages, so not in contracts/: what the gateway does with JetStream besides its durables.
EPHEMERAL_READERS = {"gateway": ("PORTAL",)}  # SSE: ordered consumer (live) and pull consumers (replay)
KV_BUCKETS = {"gateway": ("gateway_ratelimit",)}  # services/gateway/ratelimit.py
BROADCASTS = {"gateway": ("gateway.cache.>",)}  # core NATS fan-out to every replica (key_cache.py)


def inbox_prefix(user: str) -> str:
    """Replies, JetStream API answers and pull deliveries come here; nobody else may read them.
    The platform keeps nats-py's default `_INBOX` so that an ordinary client works unchanged."""
    return "_INBOX" if user == PLATFORM else f"_INBOX_{user}"


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: `*` one token, `>` one or more trailing tokens."""
    pattern_tokens, tokens = pattern.split("."), subject.split(".")
    for i, token in enumerate(pattern_tokens):
        if token == ">":
            return len(tokens) > i
        if i >= len(tokens) or (token != "*" and token != tokens[i]):
            return False
    return len(tokens) == len(pattern_tokens)


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    allow_responses: bool = False

    def may_publish(self, subject: str) -> bool:
        return any(subject_matches(p, subject) for p in self.publish) and not any(
            subject_matches(p, subject) for p in self.publish_deny
        )

    def may_subscribe(self, subject: str) -> bool:
        """Subscribing to `subject` (itself possibly a pattern) is allowed when a grant covers it."""
        return any(subject_matches(p, subject) for p in self.subscribe)


@dataclass(frozen=True)
class Durable:
    """One durable pull consumer: `service` reads `filter_subject` of `stream` under `name`."""

    name: str
    service: str
    stream: str
    filter_subject: str
    message_cls: type[Message] = field(compare=False)


def _spec(name: str) -> StreamSpec:
    return next(s for s in ALL_STREAMS if s.name == name)


def _stream_of(cls: type[Message]) -> str:
    if cls.stream is None:
        raise TypeError(f"{cls.__name__} has durables but no stream")
    return cls.stream


def _consumer_filter(cls: type[Message]) -> str:
    """A class whose subject is a pattern (`portal.*.v1`) is read through its whole stream."""
    if "*" in cls.subject or ">" in cls.subject:
        return _spec(_stream_of(cls)).subjects[0]
    return cls.subject


def durables() -> list[Durable]:
    found = []
    for cls in registry():
        for name in cls.durables:
            found.append(Durable(name, name.split("-", 1)[0], _stream_of(cls), _consumer_filter(cls), cls))
    return sorted(found, key=lambda d: d.name)


def requests() -> list[type[Request]]:
    return [cls for cls in registry() if issubclass(cls, Request)]


def owned_streams(service: str) -> tuple[StreamSpec, ...]:
    return tuple(s for s in ALL_STREAMS if s.owner == service)


def produced_subjects(user: str) -> list[str]:
    """Subjects of the streams `user` publishes into without owning them (`StreamSpec.producers`)."""
    return [subject for spec in ALL_STREAMS if user in spec.producers for subject in spec.subjects]


def portal_types(service: str) -> list[str]:
    return [t for t, producer in PRODUCERS.items() if producer == service]


def _stream_admin(name: str) -> list[str]:
    return [f"$JS.API.STREAM.{op}.{name}" for op in ("INFO", "CREATE", "UPDATE")]


def _durable_api(d: Durable) -> list[str]:
    prefix = "$JS.API.CONSUMER"
    return [
        f"{prefix}.INFO.{d.stream}.{d.name}",
        f"{prefix}.CREATE.{d.stream}.{d.name}.{d.filter_subject}",
        f"{prefix}.MSG.NEXT.{d.stream}.{d.name}",
        f"$JS.ACK.{d.stream}.{d.name}.>",
    ]


def _ephemeral_reader(stream: str) -> list[str]:
    """Unnamed and randomly named consumers (`CREATE.<stream>[.<name>.<filter>]`), their fetches and
    deletes, the stream's last sequence, and flow-control answers of the ordered consumer."""
    return [
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.INFO.{stream}.*",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",
        f"$JS.API.CONSUMER.DELETE.{stream}.*",
        f"$JS.FC.{stream}.>",
    ]


def _others_durable(d: Durable) -> list[str]:
    """What a reader of the same stream must not do to someone else's durable: read it, look at it,
    delete it, or create it anew with another filter (a server since 2.10 would update it)."""
    base = f"{d.stream}.{d.name}"
    return [f"$JS.API.CONSUMER.{op}.{base}" for op in ("INFO", "MSG.NEXT", "DELETE", "CREATE")] + [
        f"$JS.API.CONSUMER.CREATE.{base}.>"
    ]


def _kv_bucket(bucket: str) -> list[str]:
    return [
        *_stream_admin(f"KV_{bucket}"),
        f"$JS.API.DIRECT.GET.KV_{bucket}.>",
        f"$JS.API.STREAM.MSG.GET.KV_{bucket}",
        f"$KV.{bucket}.>",
    ]


def service_permissions(service: str) -> Permissions:
    mine = [d for d in durables() if d.service == service]
    publish = [subject for spec in owned_streams(service) for subject in spec.subjects]
    publish += produced_subjects(service)
    publish += [portal_subject(t) for t in portal_types(service)]
    publish += [cls.subject for cls in requests() if service in cls.callers]
    publish += [dlq_subject(d.name) for d in mine]
    publish += [subject for spec in owned_streams(service) for subject in _stream_admin(spec.name)]
    publish += [subject for d in mine for subject in _durable_api(d)]
    subscribe = [f"{inbox_prefix(service)}.>"]
    subscribe += [cls.subject for cls in requests() if cls.responder() == service]
    deny: list[str] = []
    for stream in EPHEMERAL_READERS.get(service, ()):
        publish += _ephemeral_reader(stream)
        # `*` in the reader's grants must not reach another service's durable on the same stream.
        deny += [
            subject for d in durables() if d.stream == stream and d.service != service for subject in _others_durable(d)
        ]
    for bucket in KV_BUCKETS.get(service, ()):
        publish += _kv_bucket(bucket)
    for subject in BROADCASTS.get(service, ()):
        publish.append(subject)
        subscribe.append(subject)
    return Permissions(
        tuple(dict.fromkeys(publish)), tuple(dict.fromkeys(subscribe)), tuple(deny), allow_responses=True
    )


def platform_permissions() -> Permissions:
    calls = [cls.subject for cls in requests() if PLATFORM in cls.callers]
    return Permissions((*produced_subjects(PLATFORM), *calls), (f"{inbox_prefix(PLATFORM)}.>",))


def provisioner_permissions() -> Permissions:
    return Permissions(
        tuple(s for spec in ALL_STREAMS for s in _stream_admin(spec.name)), (f"{inbox_prefix(PROVISIONER)}.>",)
    )


def operator_permissions() -> Permissions:
    """Everything: inspecting and replaying dead letters means reading any stream and publishing
    to any subject. Its password is for people and their tools only, never for a service."""
    return Permissions((">",), (">",), allow_responses=False)


def matrix() -> dict[str, Permissions]:
    """Every NATS user and what it may do, in the order of USERS."""
    found = {service: service_permissions(service) for service in SERVICES}
    found[PLATFORM] = platform_permissions()
    found[OPERATOR] = operator_permissions()
    found[PROVISIONER] = provisioner_permissions()
    return found


def streams_declared_by(service: str, *, authenticated: bool) -> tuple[StreamSpec, ...]:
    """With its own NATS user a service declares only its own streams (it may touch no other); the
    provisioning step declares them all. On a server without authentication every service still
    declares every stream, so an existing deployment without credentials keeps working."""
    return owned_streams(service) if authenticated else ALL_STREAMS
