"""The Kubernetes manifests, the Dockerfile and the nginx config hold the operational rules.

Rendering uses kustomize_lite (pure Python, offline); when a kustomize binary (`kustomize`
or `kubectl kustomize`) is on the PATH, test_renderer_agrees_with_kustomize checks that
both render the same objects. Every rendered object is validated against the Kubernetes
OpenAPI schemas in strict mode (unknown fields are errors).
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from kustomize_lite import Unsupported, build, object_id, split_image, strategic_merge

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TARGETS = {
    "base": K8S / "base",
    "dev": K8S / "overlays" / "dev",
    "prod": K8S / "overlays" / "prod",
}
SERVICES = ("payments", "billing", "documents", "notify", "gateway")
# Oldest and newest Kubernetes versions the manifests must be valid for.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
SECRET_LIKE = re.compile(r"SECRET|TOKEN|PASSWORD|KEY", re.IGNORECASE)

every_target = pytest.mark.parametrize("target", TARGETS)


@functools.cache
def rendered(target: str) -> tuple[dict, ...]:
    return tuple(build(TARGETS[target]))


def objects(target: str, kind: str) -> list[dict]:
    return [obj for obj in rendered(target) if obj["kind"] == kind]


def one(target: str, kind: str, name: str) -> dict:
    matches = [obj for obj in objects(target, kind) if obj["metadata"]["name"] == name]
    assert len(matches) == 1, f"{target}: expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def workloads(target: str) -> list[dict]:
    return [obj for obj in rendered(target) if obj["kind"] in ("Deployment", "StatefulSet", "Job")]


def all_containers(workload: dict) -> list[dict]:
    spec = pod_spec(workload)
    return spec["containers"] + spec.get("initContainers", [])


def config(target: str, name: str) -> dict:
    return one(target, "ConfigMap", name).get("data", {})


def selects(selector: dict, labels: dict) -> bool:
    return selector.items() <= labels.items()


# ---- rendering and schemas -----------------------------------------------------------------


@every_target
def test_renders_the_platform(target):
    kinds = {obj["kind"] for obj in rendered(target)}
    assert {
        "Deployment",
        "StatefulSet",
        "Job",
        "Service",
        "ConfigMap",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Ingress",
    } <= kinds
    assert {d["metadata"]["name"] for d in objects(target, "Deployment")} == set(SERVICES)


@pytest.fixture(scope="module")
def cached_schemas():
    # kubernetes-validate reads and parses its JSON schemas again for every object; reading
    # each once makes the validation ~6x faster. The schemas are never mutated.
    load = functools.cache(kubernetes_validate.utils.schema_contents)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kubernetes_validate.utils, "schema_contents", load)
        yield


@every_target
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_kubernetes(target, version, cached_schemas):
    errors = []
    for obj in rendered(target):
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{object_id(obj)}: {'.'.join(map(str, error.path))}: {error.message}")
    assert not errors, "\n".join(errors)


def test_strict_validation_rejects_a_misspelt_field(cached_schemas):
    deployment = copy.deepcopy(one("base", "Deployment", "billing"))
    pod_spec(deployment)["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@every_target
def test_renderer_agrees_with_kustomize(target):
    command = kustomize_command()
    if command is None:
        pytest.skip("no kustomize binary on PATH; kustomize_lite alone renders")
    result = subprocess.run([*command, str(TARGETS[target])], capture_output=True, text=True, timeout=60)
    if result.returncode != 0 and "unknown command" in result.stderr:
        pytest.skip(f"{command[0]} cannot run kustomize: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    theirs = {object_id(obj): obj for obj in yaml.safe_load_all(result.stdout) if obj}
    ours = {object_id(obj): obj for obj in rendered(target)}
    assert ours == theirs


def test_renderer_merges_containers_by_name_and_deletes_nulls():
    base = {
        "spec": {"containers": [{"name": "a", "image": "x", "args": ["1"]}, {"name": "b", "image": "y"}]},
        "drop": 1,
    }
    patch = {"spec": {"containers": [{"name": "b", "image": "z"}]}, "drop": None}
    assert strategic_merge(base, patch) == {
        "spec": {"containers": [{"name": "a", "image": "x", "args": ["1"]}, {"name": "b", "image": "z"}]}
    }


def test_renderer_refuses_a_key_given_twice(tmp_path):
    """YAML loaders keep the last of two equal keys silently; kustomize refuses them, so must we."""
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  A: '1'\n  A: '2'\n"
    )
    with pytest.raises(ValueError, match="'A' already defined"):
        build(tmp_path)


def test_the_bonus_tiers_are_set_for_payments_alone(target="base"):
    """Payments owns the bonus (docs/operations.md): billing must not carry a second, drifting copy."""
    assert config(target, "payments-config")["TOPUP_BONUS_TIERS"]
    assert "TOPUP_BONUS_TIERS" not in config(target, "billing-config")


def test_renderer_refuses_what_it_does_not_implement():
    with pytest.raises(Unsupported):
        strategic_merge({"ports": [{"containerPort": 1}]}, {"ports": [{"containerPort": 2}]})
    with pytest.raises(Unsupported):
        strategic_merge({"a": 1}, {"$patch": "delete"})


def test_image_names_split_like_docker():
    assert split_image("registry:5000/app:1.2@sha256:ab") == ("registry:5000/app", "1.2", "sha256:ab")
    assert split_image("registry:5000/app") == ("registry:5000/app", "", "")


# ---- workloads -----------------------------------------------------------------------------


@every_target
def test_every_deployment_has_liveness_and_readiness_probes(target):
    for deployment in objects(target, "Deployment"):
        for container in pod_spec(deployment)["containers"]:
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


@every_target
def test_every_container_requests_and_limits_cpu_and_memory(target):
    for workload in workloads(target):
        for container in all_containers(workload):
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= resources.get(bound, {}).keys(), (
                    f"{object_id(workload)} container {container['name']} lacks {bound}"
                )


@every_target
def test_every_workload_runs_as_non_root_without_privilege_escalation(target):
    for workload in workloads(target):
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, object_id(workload)
        assert spec["automountServiceAccountToken"] is False, object_id(workload)
        for container in all_containers(workload):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"]["drop"] == ["ALL"]


@every_target
def test_every_deployment_drains_before_it_is_killed(target):
    for deployment in objects(target, "Deployment"):
        spec = pod_spec(deployment)
        container = spec["containers"][0]
        sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        assert 30 <= spec["terminationGracePeriodSeconds"] <= 120
        assert spec["terminationGracePeriodSeconds"] >= sleep + 20, "no time left to drain"


@every_target
def test_every_deployment_has_a_matching_pdb_and_hpa(target):
    pdbs = objects(target, "PodDisruptionBudget")
    hpas = objects(target, "HorizontalPodAutoscaler")
    for deployment in objects(target, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        name = deployment["metadata"]["name"]
        assert any(selects(pdb["spec"]["selector"]["matchLabels"], labels) for pdb in pdbs), name
        hpa = [
            h
            for h in hpas
            if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        ]
        assert len(hpa) == 1, name
        assert hpa[0]["spec"]["metrics"][0]["resource"]["name"] == "cpu"


@every_target
def test_deployments_leave_the_replica_count_to_their_hpa(target):
    # A fixed spec.replicas would reset the autoscaled count on every `kubectl apply`.
    for deployment in objects(target, "Deployment"):
        assert "replicas" not in deployment["spec"], deployment["metadata"]["name"]


@every_target
def test_every_service_has_a_migration_job_with_its_image_and_configuration(target):
    for name in SERVICES:
        service = pod_spec(one(target, "Deployment", name))["containers"][0]
        job = pod_spec(one(target, "Job", f"{name}-migrate"))
        migrate = job["containers"][0]
        assert migrate["command"] == ["python", "-m", f"services.{name}", "migrate"]
        assert migrate["image"] == service["image"]
        assert migrate["env"] == service["env"] and migrate["envFrom"] == service["envFrom"]
        assert job["restartPolicy"] == "Never"


@every_target
def test_prometheus_scrapes_every_service_on_its_http_port(target):
    ports = {"payments": 8001, "billing": 8002, "documents": 8003, "notify": 8004, "gateway": 8000}
    for name, port in ports.items():
        deployment = one(target, "Deployment", name)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        container = pod_spec(deployment)["containers"][0]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        assert annotations["prometheus.io/port"] == str(port)
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert {"name": "PORT", "value": str(port)} in container["env"]


@every_target
def test_every_service_selects_running_pods(target):
    templates = [w["spec"]["template"]["metadata"]["labels"] for w in workloads(target)]
    for service in objects(target, "Service"):
        assert any(selects(service["spec"]["selector"], labels) for labels in templates), service["metadata"]["name"]


# ---- configuration and secrets -------------------------------------------------------------


def env_entries(target: str):
    for workload in workloads(target):
        for container in all_containers(workload):
            for entry in container.get("env", []):
                yield workload, entry


@every_target
def test_secrets_are_only_referenced_never_inlined(target):
    assert not objects(target, "Secret"), "Secrets are created out of band, not committed"
    for workload, entry in env_entries(target):
        if SECRET_LIKE.search(entry["name"]) or entry["name"].endswith("DATABASE_URL"):
            assert "value" not in entry, f"{object_id(workload)}: {entry['name']} inline"
            assert "secretKeyRef" in entry["valueFrom"], entry["name"]
    for config_map in objects(target, "ConfigMap"):
        leaked = [key for key in config_map.get("data", {}) if SECRET_LIKE.search(key)]
        assert not leaked, f"{config_map['metadata']['name']}: {leaked}"


@every_target
def test_referenced_config_maps_exist(target):
    names = {c["metadata"]["name"] for c in objects(target, "ConfigMap")}
    for workload in workloads(target):
        for container in all_containers(workload):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in names
        for volume in pod_spec(workload).get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in names


def referenced_secrets(target: str) -> set[str]:
    names = {
        entry["valueFrom"]["secretKeyRef"]["name"]
        for _, entry in env_entries(target)
        if "secretKeyRef" in entry.get("valueFrom", {})
    }
    for workload in workloads(target):
        for container in all_containers(workload):
            names |= {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
    for ingress in objects(target, "Ingress"):
        names |= {tls["secretName"] for tls in ingress["spec"].get("tls", [])}
    return names


def test_every_referenced_secret_is_documented_for_operators():
    operations = (ROOT / "docs" / "operations.md").read_text()
    for name in referenced_secrets("prod"):
        assert f"`{name}`" in operations, f"Secret {name} missing from docs/operations.md"


@every_target
def test_each_service_gets_its_own_database_secret(target):
    for name in SERVICES:
        env = pod_spec(one(target, "Deployment", name))["containers"][0]["env"]
        database = next(e for e in env if e["name"] == f"{name.upper()}_DATABASE_URL")
        assert database["valueFrom"]["secretKeyRef"]["name"] == f"{name}-db"


# ---- NATS ----------------------------------------------------------------------------------


@every_target
def test_streams_never_have_more_replicas_than_nats_servers(target):
    stream_replicas = int(config(target, "platform-config")["NATS_STREAM_REPLICAS"])
    servers = one(target, "StatefulSet", "nats")["spec"]["replicas"]
    assert 1 <= stream_replicas <= servers
    routes = re.findall(r"nats://nats-\d+\.nats-headless:6222", config(target, "nats-config")["nats.conf"])
    assert len(routes) in (0, servers), "cluster routes must list every server"


@every_target
def test_nats_keeps_jetstream_on_a_persistent_volume(target):
    nats = one(target, "StatefulSet", "nats")
    assert nats["spec"]["serviceName"] == "nats-headless"
    assert one(target, "Service", "nats-headless")["spec"]["clusterIP"] == "None"
    assert [t["metadata"]["name"] for t in nats["spec"]["volumeClaimTemplates"]] == ["data"]
    assert "store_dir: /data" in config(target, "nats-config")["nats.conf"]
    one(target, "PodDisruptionBudget", "nats")


@every_target
def test_every_service_finds_nats_and_listens_on_all_interfaces(target):
    assert config(target, "platform-config")["NATS_URL"] == ("tls" if target == "prod" else "nats") + "://nats:4222"
    assert config(target, "platform-config")["HOST"] == "0.0.0.0"
    for name in SERVICES:
        env_from = pod_spec(one(target, "Deployment", name))["containers"][0]["envFrom"]
        assert {"configMapRef": {"name": "platform-config"}} in env_from


def nats_users() -> tuple[str, ...]:
    from runtime.nats_permissions import USERS

    return USERS


def test_the_nats_users_and_permissions_are_the_generated_matrix():
    """base/nats/auth.yaml is `python -m runtime.nats_auth k8s`: regenerate it after a contracts/ change."""
    from runtime.nats_auth import authorization, k8s_config_map

    assert (K8S / "base" / "nats" / "auth.yaml").read_text() == k8s_config_map(), (
        "run: python -m runtime.nats_auth k8s > deploy/k8s/base/nats/auth.yaml"
    )
    for target in TARGETS:
        assert config(target, "nats-auth")["auth.conf"] == authorization()


@every_target
def test_nats_refuses_anonymous_clients_and_reads_every_password_from_its_own_secret(target):
    nats = one(target, "StatefulSet", "nats")
    conf = config(target, "nats-config")["nats.conf"]
    assert "include ./auth.conf" in conf and "no_auth_user" not in conf
    sources = next(v for v in pod_spec(nats)["volumes"] if v["name"] == "config")["projected"]["sources"]
    assert {s["configMap"]["name"] for s in sources} == {"nats-config", "nats-auth"}
    env = {e["name"]: e for e in pod_spec(nats)["containers"][0]["env"]}
    referenced = set(re.findall(r"password: \$(\w+)", config(target, "nats-auth")["auth.conf"]))
    assert referenced == {f"{user.upper()}_NATS_PASSWORD" for user in nats_users()}
    for user in nats_users():
        ref = env[f"{user.upper()}_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"nats-{user}", "key": "password"}


@every_target
def test_each_service_connects_to_nats_as_its_own_user(target):
    for name in SERVICES:
        for workload in (one(target, "Deployment", name), one(target, "Job", f"{name}-migrate")):
            env = {e["name"]: e for e in pod_spec(workload)["containers"][0]["env"]}
            assert env["NATS_USER"]["value"] == name
            assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": f"nats-{name}", "key": "password"}


@every_target
def test_streams_are_declared_by_the_provisioner_before_the_services_roll_out(target):
    job = one(target, "Job", "nats-provision")
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"  # deploy step 1-2
    container = pod_spec(job)["containers"][0]
    assert container["command"] == ["python", "-m", "runtime.nats_auth", "provision"]
    env = {e["name"]: e for e in container["env"]}
    assert env["NATS_USER"]["value"] == "provisioner"
    assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "nats-provisioner"


def test_prod_speaks_tls_to_nats_and_clients_get_only_the_ca():
    platform = config("prod", "platform-config")
    assert platform["NATS_URL"].startswith("tls://")
    ca_dir, _, ca_file = platform["NATS_TLS_CA"].rpartition("/")
    assert ca_file == "ca.crt"
    assert "cert_file: /etc/nats-tls/tls.crt" in config("prod", "nats-config")["tls.conf"]
    nats = pod_spec(one("prod", "StatefulSet", "nats"))
    assert {"name": "tls", "secret": {"secretName": "nats-tls"}} in nats["volumes"]
    clients = [one("prod", "Deployment", name) for name in SERVICES] + [one("prod", "Job", "nats-provision")]
    for workload in clients:
        volume = next(v for v in pod_spec(workload)["volumes"] if v["name"] == "nats-ca")
        assert volume["secret"] == {"secretName": "nats-tls", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
        mounts = pod_spec(workload)["containers"][0]["volumeMounts"]
        assert {"name": "nats-ca", "mountPath": ca_dir, "readOnly": True} in mounts
    assert "tls {" not in config("dev", "nats-config")["tls.conf"]


# ---- network policies ----------------------------------------------------------------------


def policy_selects(policy: dict, labels: dict) -> bool:
    selector = policy["spec"]["podSelector"]
    if not selects(selector.get("matchLabels", {}), labels):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "the checks below read only In expressions"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def rules_for(target: str, labels: dict, direction: str) -> list[dict]:
    """Every ingress or egress rule of the policies that select a pod with `labels`."""
    return [
        rule
        for policy in objects(target, "NetworkPolicy")
        if policy_selects(policy, labels)
        for rule in policy["spec"].get(direction, [])
    ]


def peers(rule: dict, direction: str) -> list[dict]:
    return rule.get("to" if direction == "egress" else "from", [])


def ports(rule: dict) -> set[int] | None:
    """The rule's ports, None for every port."""
    return {p["port"] for p in rule["ports"]} if "ports" in rule else None


def reaches(
    target: str,
    labels: dict,
    *,
    pod: dict | None = None,
    port: int,
    direction: str = "egress",
    namespace: str | None = None,
    cidr: str | None = None,
) -> bool:
    for rule in rules_for(target, labels, direction):
        if ports(rule) is not None and port not in ports(rule):
            continue
        for peer in peers(rule, direction):
            if (
                pod is not None
                and "podSelector" in peer
                and "namespaceSelector" not in peer
                and policy_selects({"spec": {"podSelector": peer["podSelector"]}}, pod)
            ):
                return True
            if (
                namespace is not None
                and "namespaceSelector" in peer
                and peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": namespace}
            ):
                return True
            if cidr is not None and peer.get("ipBlock", {}).get("cidr") == cidr:
                return True
    return False


def internet_peers(target: str, labels: dict) -> list[tuple[dict, set[int] | None]]:
    return [
        (peer["ipBlock"], ports(rule))
        for rule in rules_for(target, labels, "egress")
        for peer in peers(rule, "egress")
        if peer.get("ipBlock", {}).get("cidr") in ("0.0.0.0/0", "::/0")
    ]


def app(name: str) -> dict:
    return {"app.kubernetes.io/name": name}


PORTS = {"payments": 8001, "billing": 8002, "documents": 8003, "notify": 8004, "gateway": 8000}


@every_target
def test_the_namespace_denies_all_traffic_by_default_but_dns(target):
    deny = one(target, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for name in (*SERVICES, "nats", "nats-provision"):
        assert reaches(target, app(name), namespace="kube-system", port=53)


@every_target
def test_each_service_and_its_migration_reach_nats_and_their_database_only(target):
    database = next(
        peer["ipBlock"]["cidr"]
        for rule in rules_for(target, app("billing"), "egress")
        for peer in peers(rule, "egress")
        if 5432 in (ports(rule) or ())
    )
    for name in SERVICES:
        for pod in (app(name), app(f"{name}-migrate")):
            assert reaches(target, pod, pod=app("nats"), port=4222)
            assert reaches(target, pod, cidr=database, port=5432)
            assert not reaches(target, pod, pod=app("nats"), port=6222)
            for other in SERVICES:
                assert not reaches(target, pod, pod=app(other), port=PORTS[other])
    assert reaches(target, app("nats-provision"), pod=app("nats"), port=4222)
    assert not internet_peers(target, app("nats-provision")) and not internet_peers(target, app("billing"))


@every_target
def test_only_the_gateway_accepts_traffic_from_the_ingress_controller(target):
    for name in (*SERVICES, "nats"):
        ingress_ok = reaches(
            target, app(name), namespace="ingress-nginx", port=PORTS.get(name, 4222), direction="ingress"
        )
        assert ingress_ok == (name == "gateway"), name
        for rule in rules_for(target, app(name), "ingress"):
            for peer in peers(rule, "ingress"):
                namespace = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                assert namespace in (None, "monitoring", "ingress-nginx"), (name, peer)
                assert "ipBlock" not in peer, name


@every_target
def test_prometheus_scrapes_every_pod_and_nats_routes_between_nats_pods(target):
    for name, port in PORTS.items():
        assert reaches(target, app(name), namespace="monitoring", port=port, direction="ingress")
    assert reaches(target, app("nats"), namespace="monitoring", port=7777, direction="ingress")
    assert reaches(target, app("nats"), pod=app("nats"), port=6222, direction="ingress")
    assert reaches(target, app("nats"), pod=app("nats"), port=6222)
    clients = {
        name
        for name in (*SERVICES, "nats-provision", "nats-box", "intruder")
        if reaches(target, app("nats"), pod=app(name), port=4222, direction="ingress")
    }
    assert clients == {*SERVICES, "nats-provision", "nats-box"}


@every_target
def test_notify_alone_reaches_the_internet_payments_and_documents_only_over_https(target):
    private = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"}
    for name in (*SERVICES, "nats"):
        found = internet_peers(target, app(name))
        if name == "notify":
            assert any(block["cidr"] == "0.0.0.0/0" and port_set is None for block, port_set in found)
        elif name in ("payments", "documents"):  # Stripe's API, S3: HTTPS
            assert found and all(port_set == {443} for _, port_set in found)
        else:
            assert not found, name
        for block, _ in found:
            if block["cidr"] == "0.0.0.0/0":
                assert private <= set(block["except"]), name


@every_target
def test_links_to_the_portal_point_at_the_gateways_public_host(target):
    """Checkout return pages and password-reset mails link to PORTAL_BASE_URL: the Ingress host."""
    url = config(target, "platform-config")["PORTAL_BASE_URL"]
    hosts = {rule["host"] for ingress in objects(target, "Ingress") for rule in ingress["spec"]["rules"]}
    assert url.startswith("https://") and hosts == {url.removeprefix("https://").rstrip("/")}


# PostgreSQL's default max_connections is 100, 3 of them reserved; 7 more for migrations and people.
CONNECTION_BUDGET = 90


@every_target
def test_a_service_at_its_replica_ceiling_stays_within_its_databases_connections(target):
    """Each service has its own database; every pod may open 2 × DB_POOL_SIZE connections to it."""
    for name in SERVICES:
        ceiling = one(target, "HorizontalPodAutoscaler", name)["spec"]["maxReplicas"]
        pool = int(config(target, f"{name}-config")["DB_POOL_SIZE"])
        assert ceiling * 2 * pool <= CONNECTION_BUDGET, f"{target}/{name}: {ceiling} pods × 2 × {pool}"


# ---- environments --------------------------------------------------------------------------


def test_prod_replicates_streams_three_times_on_three_servers():
    assert config("prod", "platform-config")["NATS_STREAM_REPLICAS"] == "3"
    assert config("prod", "platform-config")["APP_ENV"] == "production"
    assert one("prod", "StatefulSet", "nats")["spec"]["replicas"] == 3


def test_prod_runs_at_least_two_replicas_of_every_service():
    for hpa in objects("prod", "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 2, hpa["metadata"]["name"]
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]


def test_prod_pins_every_image_tag():
    for workload in workloads("prod"):
        for container in all_containers(workload):
            _, tag, digest = split_image(container["image"])
            assert digest or (tag and tag not in ("latest", "main")), container["image"]


def test_dev_runs_one_replica_of_everything_with_unreplicated_streams():
    assert config("dev", "platform-config")["NATS_STREAM_REPLICAS"] == "1"
    assert one("dev", "StatefulSet", "nats")["spec"]["replicas"] == 1
    assert "cluster {" not in config("dev", "nats-config")["nats.conf"]
    for hpa in objects("dev", "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] == 1


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_overlays_deploy_into_their_own_namespace(target):
    namespaces = objects(target, "Namespace")
    assert len(namespaces) == 1
    name = namespaces[0]["metadata"]["name"]
    for obj in rendered(target):
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == name, object_id(obj)


# ---- ingress and nginx ---------------------------------------------------------------------


def ingress_for(target: str, path: str) -> dict:
    for ingress in objects(target, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            if any(p["path"] == path for p in rule["http"]["paths"]):
                return ingress
    raise AssertionError(f"{target}: no Ingress routes {path}")


@every_target
def test_the_stream_ingress_does_not_buffer_and_keeps_idle_streams_open(target):
    annotations = ingress_for(target, "/v1/stream")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600


@every_target
def test_the_webhook_ingress_limits_the_body_size(target):
    annotations = ingress_for(target, "/webhooks/stripe")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "1m"


@every_target
def test_only_the_gateway_is_exposed(target):
    for ingress in objects(target, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == "gateway"


@every_target
def test_a_secret_goes_only_to_the_services_that_read_it(target):
    gateway_env = {entry["name"] for entry in pod_spec(one(target, "Deployment", "gateway"))["containers"][0]["env"]}
    assert not gateway_env & {"STRIPE_WEBHOOK_SECRET", "STRIPE_API_KEY"}  # payments verifies Stripe's webhooks


@every_target
def test_the_gateway_believes_forwarded_addresses_from_its_ingress_only(target):
    proxies = config(target, "gateway-config")["TRUSTED_PROXIES"]
    networks = [ipaddress.ip_network(cidr.strip()) for cidr in proxies.split(",")]
    assert networks and all(network.prefixlen >= 8 for network in networks), proxies


def nginx_location(config_text: str, location: str) -> str:
    match = re.search(r"location\s+" + re.escape(location) + r"\s*\{(.*?)\n\s*\}", config_text, re.S)
    assert match, f"no location {location}"
    return match.group(1)


def test_plain_nginx_streams_events_unbuffered():
    stream = nginx_location((ROOT / "deploy" / "nginx" / "sse.conf").read_text(), "= /v1/stream")
    for directive in (
        "proxy_buffering off;",
        "proxy_cache off;",
        "proxy_http_version 1.1;",
        "proxy_set_header Connection '';",
        "proxy_read_timeout 1h;",
        "chunked_transfer_encoding on;",
    ):
        assert directive in stream


def test_plain_nginx_limits_the_webhook_body():
    webhook = nginx_location((ROOT / "deploy" / "nginx" / "sse.conf").read_text(), "= /webhooks/stripe")
    assert "client_max_body_size 1m;" in webhook


# ---- Dockerfile ----------------------------------------------------------------------------


def dockerfile_stages() -> dict[str, str]:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    parts = re.split(r"^FROM\s+\S+\s+AS\s+(\S+)\s*$", text, flags=re.M | re.I)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_dockerfile_has_a_target_per_service_that_starts_it():
    stages = dockerfile_stages()
    for name in SERVICES:
        assert f'CMD ["python", "-m", "services.{name}"]' in stages[name]


def test_dockerfile_runs_every_service_as_non_root():
    stages = dockerfile_stages()
    assert re.search(r"^USER 10001", stages["runtime"], re.M)
    for name in SERVICES:
        users = re.findall(r"^USER (\S+)", stages[name], re.M)
        assert not users or users[-1].startswith("10001"), name


def test_documents_image_has_the_weasyprint_libraries():
    documents = dockerfile_stages()["documents"]
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz0b", "fonts-dejavu-core"):
        assert package in documents


def test_dockerfile_installs_the_project_from_pyproject():
    build_stage = dockerfile_stages()["build"]
    assert "pip install ." in build_stage
    assert (ROOT / "deploy" / "Dockerfile").read_text().count("python:3.11-slim") == 1
