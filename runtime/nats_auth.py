"""The nats-server side of authentication: users with the permissions of `runtime.nats_permissions`.

    python -m runtime.nats_auth passwords DIR         # one password file per user (kept if present)
    python -m runtime.nats_auth config DIR            # a server `authorization` block with those passwords
    python -m runtime.nats_auth k8s                   # the same, passwords as $<USER>_NATS_PASSWORD
    python -m runtime.nats_auth matrix                # the permission matrix as a Markdown table
    python -m runtime.nats_auth provision             # declare every stream (NATS_URL, NATS_USER, ...)

Passwords are written as they are, not as bcrypt hashes: the config either sits beside the password
files (`make run`, tests) or references environment variables filled from the same Secrets the
services read (Kubernetes), so a hash would protect nothing the file system does not, and it would
cost the server a bcrypt check (tens to hundreds of ms of CPU) on every connect and reconnect.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

from runtime.nats_permissions import USERS, Permissions, matrix


def env_var(user: str) -> str:
    """The nats-server's environment variable holding a user's password (Kubernetes)."""
    return f"{user.upper()}_NATS_PASSWORD"


def new_password() -> str:
    # Letters and digits only, starting with a letter: safe unquoted in a nats-server config
    # (where `$VAR` values are parsed as config tokens) and in URLs.
    return "p" + secrets.token_hex(24)


def ensure_passwords(directory: Path, users: tuple[str, ...] = USERS) -> dict[str, str]:
    """Read `<dir>/<user>` for every user, creating the missing ones (mode 0600)."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    found = {}
    for user in users:
        path = directory / user
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(new_password())
        found[user] = path.read_text().strip()
    return found


def _quoted(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _user_block(user: str, password: str, perms: Permissions) -> str:
    publish = f"{{allow: {_quoted(perms.publish)}"
    publish += f", deny: {_quoted(perms.publish_deny)}}}" if perms.publish_deny else "}"
    lines = [
        f"    {{user: {json.dumps(user)}, password: {password}, permissions: {{",
        f"      publish: {publish},",
        f"      subscribe: {{allow: {_quoted(perms.subscribe)}}}",
    ]
    if perms.allow_responses:
        lines[-1] += ","
        lines.append("      allow_responses: true")
    lines.append("    }}")
    return "\n".join(lines)


def authorization(passwords: Mapping[str, str] | None = None) -> str:
    """The `authorization {}` block. Without `passwords`, each is `$<USER>_NATS_PASSWORD`, resolved
    by nats-server from its environment. No `no_auth_user`: an anonymous connection is refused."""
    blocks = []
    for user, perms in matrix().items():
        password = env_var(user) if passwords is None else None
        blocks.append(_user_block(user, f"${password}" if password else json.dumps(passwords[user]), perms))
    return "authorization {\n  users: [\n" + "\n".join(blocks) + "\n  ]\n}\n"


def server_config(*, port: int, store_dir: str, passwords: Mapping[str, str] | None, host: str = "127.0.0.1",
                  tls_cert: str | None = None, tls_key: str | None = None) -> str:
    """A whole single-server config (make run, tests): JetStream, and users when `passwords` is given."""
    parts = [f"listen: {json.dumps(f'{host}:{port}')}", f"jetstream {{ store_dir: {json.dumps(store_dir)} }}"]
    if tls_cert and tls_key:
        parts.append(f"tls {{ cert_file: {json.dumps(tls_cert)}, key_file: {json.dumps(tls_key)} }}")
    if passwords is not None:
        parts.append(authorization(passwords))
    return "\n".join(parts) + "\n"


def matrix_table() -> str:
    """Markdown: user × publish / subscribe (docs/operations.md keeps a generated copy)."""
    rows = ["| user | publish | subscribe |", "|---|---|---|"]
    for user, perms in matrix().items():
        publish = "<br>".join(f"`{s}`" for s in perms.publish)
        if perms.publish_deny:
            publish += "<br>denied: " + "<br>".join(f"`{s}`" for s in perms.publish_deny)
        subscribe = "<br>".join(f"`{s}`" for s in perms.subscribe)
        if perms.allow_responses:
            subscribe += "<br>(replies to requests it answers)"
        rows.append(f"| `{user}` | {publish} | {subscribe} |")
    return "\n".join(rows) + "\n"


async def provision(settings=None, *, replicas: int | None = None) -> None:
    """Declare every stream, as the identity of `settings` (the environment's by default: in
    Kubernetes the `provisioner` user), with NATS_STREAM_REPLICAS replicas."""
    from runtime.messaging import ensure_streams
    from runtime.nats_connect import connect
    from runtime.settings import ServiceSettings

    settings = settings or ServiceSettings()
    nc = await connect(settings, name="provisioner")
    try:
        await ensure_streams(nc.jetstream(), replicas=replicas or settings.nats_stream_replicas)
    finally:
        await nc.close()


def main(argv: list[str]) -> None:
    command, *rest = argv or ["matrix"]
    if command == "passwords":
        ensure_passwords(Path(rest[0]))
    elif command == "config":
        sys.stdout.write(authorization(ensure_passwords(Path(rest[0]))))
    elif command == "k8s":
        sys.stdout.write(authorization())
    elif command == "matrix":
        sys.stdout.write(matrix_table())
    elif command == "provision":
        asyncio.run(provision())
    else:
        raise SystemExit(f"unknown command {command!r}: passwords DIR | config DIR | k8s | matrix | provision")


if __name__ == "__main__":
    main(sys.argv[1:])
