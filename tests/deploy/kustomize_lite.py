"""The subset of kustomize that deploy/k8s uses, in pure Python, so the manifest tests run
offline without a kustomize binary.

Supported kustomization fields: `resources` (files and directories), `namespace`,
`labels` (metadata labels only), `images` and `patches` (strategic merge patches matched by
kind and name, or JSON 6902 patches with a `target`). Anything else raises
`Unsupported`, so the renderer never silently differs from `kustomize build`;
test_manifests.py also compares both when a kustomize binary is at hand.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}

CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "IngressClass",
    "PriorityClass",
}

# Strategic merge: lists of objects merged element by element on this key
# (x-kubernetes-patch-merge-key in the Kubernetes API).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "volumeClaimTemplates": None,  # replaced as a whole, like kustomize does
}
# Lists of objects without a merge key: a patch replaces them.
REPLACED_LISTS = {
    "rules",
    "tls",
    "paths",
    "metrics",
    "policies",
    "args",
    "command",
    "hosts",
    "accessModes",
    "envFrom",
    "topologySpreadConstraints",
    "tolerations",
}


class Unsupported(Exception):
    """The kustomization uses a feature this renderer does not implement."""


Object = dict[str, Any]


def build(directory: Path) -> list[Object]:
    """Render the kustomization in `directory`, like `kustomize build directory`."""
    kustomization = _load_one(directory / "kustomization.yaml")
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise Unsupported(f"{directory}: kustomization fields {sorted(unknown)}")

    objects: list[Object] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        objects += build(path) if path.is_dir() else _load_all(path)
    _check_unique(objects, directory)

    for patch in kustomization.get("patches", []):
        _apply_patch(objects, directory, patch)
    if "namespace" in kustomization:
        _set_namespace(objects, kustomization["namespace"])
    for label in kustomization.get("labels", []):
        _add_labels(objects, label)
    for image in kustomization.get("images", []):
        _set_image(objects, image)
    return objects


def object_id(obj: Object) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


# ---- loading -----------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """YAML as kustomize reads it: a key twice in one mapping is an error, not "the last one wins"."""

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        keys = [self.construct_object(key, deep=True) for key, _ in node.value]
        twice = sorted({str(k) for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"{node.start_mark}: mapping key {twice[0]!r} already defined")
        return super().construct_mapping(node, deep=deep)


def _load_all(path: Path) -> list[Object]:
    with path.open() as stream:
        return [doc for doc in yaml.load_all(stream, Loader=_StrictLoader) if doc]


def _load_one(path: Path) -> Any:
    with path.open() as stream:
        return yaml.load(stream, Loader=_StrictLoader)


def _check_unique(objects: list[Object], directory: Path) -> None:
    seen = set()
    for obj in objects:
        if object_id(obj) in seen:
            raise ValueError(f"{directory}: {object_id(obj)} defined twice")
        seen.add(object_id(obj))


# ---- patches -----------------------------------------------------------------------------


def _apply_patch(objects: list[Object], directory: Path, patch: dict) -> None:
    if set(patch) - {"path", "target"}:
        raise Unsupported(f"patch fields {sorted(set(patch) - {'path', 'target'})}")
    path = directory / patch["path"]
    if "target" in patch:
        targets = [obj for obj in objects if _matches(obj, patch["target"])]
        if not targets:
            raise ValueError(f"{path}: no object matches {patch['target']}")
        operations = _load_one(path)
        for obj in targets:
            _apply_json6902(obj, operations)
        return
    for document in _load_all(path):
        target = _find(objects, document, path)
        merged = strategic_merge(target, document)
        target.clear()
        target.update(merged)


def _matches(obj: Object, target: dict) -> bool:
    unknown = set(target) - {"kind", "name", "group", "version"}
    if unknown:
        raise Unsupported(f"patch target selectors {sorted(unknown)}")
    group, _, version = obj["apiVersion"].rpartition("/")
    return all(
        [
            re.fullmatch(target.get("kind", ".*"), obj["kind"]),
            re.fullmatch(target.get("name", ".*"), obj["metadata"]["name"]),
            target.get("group", group) == group,
            target.get("version", version) == version,
        ]
    )


def _find(objects: list[Object], patch: Object, path: Path) -> Object:
    group = patch["apiVersion"].rpartition("/")[0]
    for obj in objects:
        if (obj["kind"], obj["metadata"]["name"]) == (patch["kind"], patch["metadata"]["name"]) and obj[
            "apiVersion"
        ].rpartition("/")[0] == group:
            return obj
    raise ValueError(f"{path}: no {patch['kind']} named {patch['metadata']['name']}")


def strategic_merge(original: Any, patch: Any, field: str = "") -> Any:
    """Kubernetes strategic merge patch, for the list kinds named in MERGE_KEYS."""
    if isinstance(patch, dict) and isinstance(original, dict):
        if any(key.startswith("$") for key in patch):
            raise Unsupported(f"patch directives in {field or 'top level'}")
        merged = copy.deepcopy(original)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(patch, list) and isinstance(original, list):
        return _merge_list(original, patch, field)
    return copy.deepcopy(patch)


def _merge_list(original: list, patch: list, field: str) -> list:
    if not any(isinstance(item, dict) for item in patch) or field in REPLACED_LISTS:
        return copy.deepcopy(patch)
    if field not in MERGE_KEYS:
        raise Unsupported(f"strategic merge of list {field!r}: add its merge key")
    key = MERGE_KEYS[field]
    if key is None:
        return copy.deepcopy(patch)
    merged = copy.deepcopy(original)
    added = []
    for item in patch:
        existing = next((i for i, old in enumerate(merged) if old.get(key) == item[key]), None)
        if existing is None:
            added.append(copy.deepcopy(item))
        else:
            merged[existing] = strategic_merge(merged[existing], item, field)
    return added + merged  # kustomize puts the elements a patch adds before the existing ones


def _apply_json6902(obj: Object, operations: list[dict]) -> None:
    for operation in operations:
        op = operation["op"]
        if op not in {"add", "replace", "remove"}:
            raise Unsupported(f"JSON patch operation {op!r}")
        *parents, last = [
            part.replace("~1", "/").replace("~0", "~") for part in operation["path"].lstrip("/").split("/")
        ]
        node: Any = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            if op == "add":
                node.insert(len(node) if last == "-" else int(last), operation["value"])
            elif op == "replace":
                node[int(last)] = operation["value"]
            else:
                del node[int(last)]
        else:
            if op == "replace" and last not in node:
                raise ValueError(f"JSON patch: nothing at {operation['path']} to replace")
            if op == "remove":
                del node[last]
            else:
                node[last] = operation["value"]


# ---- transformers ------------------------------------------------------------------------


def _set_namespace(objects: list[Object], namespace: str) -> None:
    for obj in objects:
        if obj["kind"] not in CLUSTER_SCOPED_KINDS:
            obj["metadata"]["namespace"] = namespace


def _add_labels(objects: list[Object], label: dict) -> None:
    if label.get("includeSelectors") or label.get("includeTemplates"):
        raise Unsupported("labels with includeSelectors / includeTemplates")
    for obj in objects:
        obj["metadata"].setdefault("labels", {}).update(label["pairs"])


def _set_image(objects: list[Object], image: dict) -> None:
    for container in _containers(objects):
        name, tag, digest = split_image(container["image"])
        if name != image["name"]:
            continue
        name = image.get("newName", name)
        if "digest" in image:
            container["image"] = f"{name}@{image['digest']}"
        elif "newTag" in image:
            container["image"] = f"{name}:{image['newTag']}"
        else:
            container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def split_image(image: str) -> tuple[str, str, str]:
    """'registry:5000/app:1.2@sha256:…' -> ('registry:5000/app', '1.2', 'sha256:…')."""
    image, _, digest = image.partition("@")
    name, tag = image, ""
    if ":" in image.rsplit("/", 1)[-1]:
        name, tag = image.rsplit(":", 1)
    return name, tag, digest


def _containers(node: Any):
    """Every container of every object, wherever its pod template sits."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                yield from value
            else:
                yield from _containers(value)
    elif isinstance(node, list):
        for item in node:
            yield from _containers(item)
