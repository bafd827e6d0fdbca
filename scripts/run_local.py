"""`make run`: the whole stack on one machine, no container engine.

Starts a private PostgreSQL with its data under var/pg/ (unless DATABASE_URL is set), NATS with
JetStream (unless NATS_URL is set), local stand-ins for Stripe (test mode), SMTP (mails saved as .eml
under var/mail) and SMS (unless the real ones are configured), migrates and starts the five services,
creates a demo tenant — on the first start with a paid top-up, its invoice, a month of usage and
statements (scripts/demo.py) — and prints the portal URL, the admin token and the demo tenant's API
key. Ctrl-C stops everything and leaves no process behind; the next start finds the same data.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devtools.infra import free_port, nats_server_binary, port_open
from devtools.postgres import PostgresError, PrivatePostgres
from runtime.nats_auth import ensure_passwords, provision, server_config
from runtime.settings import ServiceSettings
from scripts import demo

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
NATS_SECRETS = VAR / "secrets" / "nats"  # one password file per NATS user
SERVICES = {"billing": 8002, "payments": 8001, "documents": 8003, "notify": 8004, "gateway": 8000}
children: list[subprocess.Popen] = []
databases: list[PrivatePostgres] = []


def spawn(
    args: list[str], env: dict, log_name: str, *, capture_ready: str | None = None
) -> tuple[subprocess.Popen, str]:
    log = open(VAR / "logs" / f"{log_name}.log", "ab")  # noqa: SIM115 - lives as long as the child
    proc = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.PIPE if capture_ready else log, stderr=log, start_new_session=True
    )
    children.append(proc)
    line = ""
    if capture_ready:
        for raw in proc.stdout:
            line = raw.decode().strip()
            if line.startswith(capture_ready):
                break
    return proc, line


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not become ready; see var/logs/")


def secret(name: str, make) -> str:
    path = VAR / "secrets" / name
    if not path.exists():
        path.write_text(make())
    return path.read_text().strip()


def base_env() -> dict:
    env = dict(os.environ)
    env.setdefault("APP_ENV", "development")
    env.setdefault("VAR_DIR", str(VAR))
    env.setdefault("DOCUMENTS_STORE", str(VAR / "documents"))
    env.setdefault("GATEWAY_ADMIN_TOKEN", secret("admin_token", lambda: "adm_" + secrets.token_urlsafe(24)))
    env.setdefault(
        "STRIPE_WEBHOOK_SECRET", secret("stripe_webhook_secret", lambda: "whsec_" + secrets.token_urlsafe(24))
    )
    env.setdefault("PYTHONUNBUFFERED", "1")
    if "NATS_URL" not in os.environ:  # our own NATS: each service its own user (<SERVICE>_NATS_USER)
        for user, password in ensure_passwords(NATS_SECRETS).items():
            if user in SERVICES:
                env[f"{user.upper()}_NATS_USER"], env[f"{user.upper()}_NATS_PASSWORD"] = user, password
    return env


def start_postgres(env: dict) -> None:
    """The embedded default: a private PostgreSQL under var/pg/ (kept between runs, `make clean` removes
    it); each service migrates its own schema in the one database. DATABASE_URL points elsewhere."""
    if "DATABASE_URL" in os.environ:
        return
    try:
        server = PrivatePostgres(VAR / "pg", VAR / "secrets" / "pg_password")
        first = not server.initialized
        env["DATABASE_URL"] = server.ensure()
    except PostgresError as exc:
        raise SystemExit(f"PostgreSQL could not start: {exc}") from exc
    databases.append(server)
    print(f"  postgres: {'initialised and ' if first else ''}ready on :{server.port} (data in var/pg/)", flush=True)


def start_nats(env: dict) -> None:
    """A private NATS with the generated users and permissions (runtime.nats_auth); its streams are
    declared by the `provisioner` user, since each service may declare only its own."""
    if "NATS_URL" in os.environ:
        return
    port = 4222 if not port_open("127.0.0.1", 4222) else free_port()
    passwords = ensure_passwords(NATS_SECRETS)
    config = VAR / "secrets" / "nats.conf"
    config.touch(mode=0o600)
    config.write_text(server_config(port=port, store_dir=str(VAR / "nats"), passwords=passwords))
    spawn([nats_server_binary(), "-c", str(config)], env, "nats")
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise SystemExit("nats-server did not start; see var/logs/nats.log")
        time.sleep(0.05)
    env["NATS_URL"] = f"nats://127.0.0.1:{port}"
    asyncio.run(
        provision(
            ServiceSettings(nats_url=env["NATS_URL"], nats_user="provisioner", nats_password=passwords["provisioner"])
        )
    )


def nats_platform_line(env: dict) -> str:
    """The outside producer's NATS credentials (usage, reservations), when this run started NATS."""
    if "NATS_URL" in os.environ:
        return ""
    password = ensure_passwords(NATS_SECRETS)["platform"]
    return (
        f"\n  NATS platform: user platform, password {password}"
        "\n                 (may publish usage.recorded.v1 and request billing.reserve/settle/release.v1)"
    )


def start_stand_ins(env: dict) -> None:
    gateway_port = int(env.get("GATEWAY_PORT", SERVICES["gateway"]))
    if "STRIPE_API_KEY" not in os.environ:
        _, ready = spawn(
            [
                sys.executable,
                "-m",
                "devtools.stripe_emulator",
                "--port",
                "0",
                "--webhook",
                f"http://127.0.0.1:{gateway_port}/webhooks/stripe",
                "--webhook-secret",
                env["STRIPE_WEBHOOK_SECRET"],
            ],
            env,
            "stripe",
            capture_ready="STRIPE_EMULATOR_READY",
        )
        env["STRIPE_API_BASE"] = ready.split()[-1]
        env["STRIPE_API_KEY"] = "sk_test_local"
    if "SMTP_HOST" not in os.environ:
        port = free_port()
        spawn(
            [sys.executable, "-m", "devtools.smtp_sink", "--port", str(port), "--maildir", str(VAR / "mail")],
            env,
            "smtp",
        )
        env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_STARTTLS="false")
    if "TWILIO_ACCOUNT_SID" not in os.environ:
        port = free_port()
        spawn([sys.executable, "-m", "devtools.twilio_stub", "--port", str(port)], env, "sms")
        env.update(
            TWILIO_API_BASE=f"http://127.0.0.1:{port}",
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            TWILIO_AUTH_TOKEN="test-token",
            TWILIO_FROM="+15005550006",
        )


def start_services(env: dict) -> None:
    """All five at once: each migrates its own schema as it starts (replicas serialise on an advisory
    lock), and none needs another to become ready."""
    ports = {}
    for name, port in SERVICES.items():
        ports[name] = env.get("GATEWAY_PORT", str(port)) if name == "gateway" else str(port)
        spawn([sys.executable, "-m", f"services.{name}"], {**env, "PORT": ports[name]}, name)
    for name, port in ports.items():
        wait_http(f"http://127.0.0.1:{port}/readyz")
        print(f"  {name}: ready on :{port}", flush=True)


def demo_tenant(env: dict, base: str) -> dict:
    path = VAR / "demo_tenant.json"
    if path.exists():
        return json.loads(path.read_text())
    body = {
        "name": "Demo GmbH",
        "email": "demo@demo.example",
        "country": "DE",
        "address": {"line1": "Musterstraße 1", "postal_code": "10115", "city": "Berlin"},
    }
    headers = {"Authorization": f"Bearer {env['GATEWAY_ADMIN_TOKEN']}", "Content-Type": "application/json"}
    req = urllib.request.Request(f"{base}/admin/v1/tenants", json.dumps(body).encode(), headers)  # noqa: S310
    with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
        tenant = json.loads(response.read())
    user = {"email": "demo@demo.example", "password": "demo-password"}
    req = urllib.request.Request(f"{base}/admin/v1/tenants/{tenant['id']}/users", json.dumps(user).encode(), headers)  # noqa: S310
    try:
        urllib.request.urlopen(req, timeout=30).close()  # noqa: S310
    except Exception as exc:
        print(f"  demo user not created: {exc}")
    tenant.update(user)
    path.write_text(json.dumps(tenant))
    return tenant


def stop_all(*_args) -> None:
    """Services first (they drain through NATS), then the stand-ins, NATS last."""
    services = [p for p in children if p.args[-1].startswith("services.")]
    infrastructure = [p for p in children if p not in services]
    for group in (services, list(reversed(infrastructure))):
        for proc in group:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in group:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    for server in databases:  # last: the services drained through it
        try:
            server.stop()
        except PostgresError as exc:
            print(f"PostgreSQL did not stop cleanly: {exc}", flush=True)
    sys.exit(0)


def seed_demo(env: dict, base: str, tenant: dict) -> list[str]:
    """On the first start only, and never with production settings."""
    marker = VAR / "demo_seeded"
    if marker.exists() or env.get("APP_ENV") == "production":
        return []
    stripe_base = env.get("STRIPE_API_BASE") if "STRIPE_API_KEY" not in os.environ else None
    try:
        done = demo.seed(
            base=base,
            api_key=tenant["api_key"],
            tenant_id=tenant["id"],
            nats_url=env["NATS_URL"],
            stripe_base=stripe_base,
            nats_connect=stack_connect(env),
        )
    except Exception as exc:  # the stack runs anyway; the demo data is a courtesy
        print(f"  demo data not seeded: {exc!r}", flush=True)
        return []
    marker.write_text(json.dumps(done))
    return done


def stack_connect(env: dict) -> dict:
    """How a producer outside the services connects to this stack's NATS (scripts/demo.py): as the
    `platform` user when this run started NATS, as the environment says otherwise."""
    if "NATS_URL" not in os.environ:
        return {"user": "platform", "password": ensure_passwords(NATS_SECRETS)["platform"]}
    user, password = os.environ.get("NATS_USER"), os.environ.get("NATS_PASSWORD")
    return {"user": user, "password": password} if user and password else {}


def seeded_lines(done: list[str]) -> str:
    return "".join(f"\n  Demo data:    {line}" for line in done)


def main() -> None:
    for sub in ("logs", "secrets", "mail", "documents"):
        (VAR / sub).mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    started = time.monotonic()
    env = base_env()
    try:
        start_postgres(env)
        start_nats(env)
        start_stand_ins(env)
        start_services(env)
        host, port = env.get("GATEWAY_HOST", "127.0.0.1"), env.get("GATEWAY_PORT", "8000")
        base = f"http://{host}:{port}"
        tenant = demo_tenant(env, base)
        (VAR / "stack.json").write_text(
            json.dumps({"nats_url": env["NATS_URL"], "tenant_id": tenant["id"], "nats_connect": stack_connect(env)})
        )
        seeded = seed_demo(env, base, tenant)
    except BaseException:
        stop_all()
        raise
    print(
        f"""
Stack is up in {time.monotonic() - started:.1f} s (logs in var/logs/, mails in var/mail/).
  Portal:       {base}/   (login {tenant.get("email")} / {tenant.get("password")})
  API docs:     {base}/docs
  NATS:         {env["NATS_URL"]}{nats_platform_line(env)}
  Admin token:  {env["GATEWAY_ADMIN_TOKEN"]}
  Demo tenant:  {tenant["id"]}
  API key:      {tenant["api_key"]}
  Database:     {"var/pg/ (private PostgreSQL)" if databases else "DATABASE_URL"}{seeded_lines(seeded)}
  Live usage:   make demo-usage   (in another terminal: a call every 3 s, watch the balance move)
Ctrl-C stops everything.""",
        flush=True,
    )
    while True:
        for proc in children:
            if proc.poll() is not None:
                print(f"a process exited ({proc.args[:3]}), stopping", flush=True)
                stop_all()
        time.sleep(1)


if __name__ == "__main__":
    main()
