"""Compose file, Kubernetes manifests and vLLM config: they parse, and every reference in them resolves."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from bots.cli.main import main as concord_main
from ingest.core.settings import ConcordSettings

INFRA = Path(__file__).resolve().parents[2] / "infra"
VLLM_KEYS = {
    "model", "served-model-name", "host", "port", "max-model-len", "gpu-memory-utilization", "enable-prefix-caching",
    "enable-lora", "max-loras", "max-lora-rank", "lora-modules", "dtype", "seed", "tensor-parallel-size",
}


def _compose() -> dict[str, Any]:
    return yaml.safe_load((INFRA / "compose.yaml").read_text())


def _k8s() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((INFRA / "k8s").glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _vllm_config() -> dict[str, Any]:
    return yaml.safe_load((INFRA / "vllm" / "config.yaml").read_text())


def _concord_commands_in_shell(script: str) -> list[list[str]]:
    commands = []
    for part in re.split(r";|&&|\n", script):
        words = shlex.split(part.strip()) if part.strip() else []
        if words and words[0] in ("do", "then"):
            words = words[1:]
        if words and words[0] == "concord":
            commands.append(words[1:])
    return commands


def _compose_concord_commands() -> list[list[str]]:
    out = []
    for name, svc in _compose()["services"].items():
        if svc.get("image") != "concord:latest":
            continue
        if svc.get("entrypoint") == ["sh", "-c"]:
            for script in svc["command"]:
                out += _concord_commands_in_shell(script)
        else:
            out.append(list(svc["command"]))
        assert out, name
    return out


def _k8s_concord_commands() -> list[list[str]]:
    out = []
    for doc in _k8s():
        for container in _containers(doc):
            if container["image"] != "concord:latest":
                continue
            if container.get("command") == ["sh", "-c"]:
                for script in container["args"]:
                    out += _concord_commands_in_shell(script)
            else:
                out.append(list(container["args"]))
    return out


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    kind = doc["kind"]
    if kind in ("Deployment", "StatefulSet", "Job"):
        return doc["spec"]["template"]["spec"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = _pod_spec(doc)
    return list(spec["containers"]) if spec else []


def _setting_exists(key: str) -> bool:
    """Does CONCORD_A__B name a real settings field?"""
    parts = key.removeprefix("CONCORD_").lower().split("__")
    model: Any = ConcordSettings
    for part in parts:
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return False
        model = fields[part].annotation
    return True


def test_every_concord_command_in_compose_and_k8s_exists(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _compose_concord_commands() + _k8s_concord_commands()
    assert len(commands) >= 8
    for argv in commands:
        assert concord_main([*argv, "--help"]) == 0, f"`concord {' '.join(argv)}` is not a valid command line"
    capsys.readouterr()


def test_a_broken_command_would_be_caught(capsys: pytest.CaptureFixture[str]) -> None:
    assert concord_main(["queue", "worker", "--concurency", "2", "--help"]) != 0
    assert concord_main(["no-such-command", "--help"]) != 0
    capsys.readouterr()


def test_compose_references_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = _compose()
    services = compose["services"]
    volumes = set(compose["volumes"])
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}) or {}:
            assert dep in services, f"{name} depends on unknown service {dep}"
        for mount in svc.get("volumes", []):
            src = mount.split(":")[0]
            if src.startswith("."):
                assert (INFRA / src).exists(), f"{name} mounts missing file {src}"
            else:
                assert src in volumes, f"{name} mounts undeclared volume {src}"
        if "build" in svc:
            assert (INFRA / svc["build"]["context"] / svc["build"]["dockerfile"]).exists()
    env = services["concord-bot"]["environment"]
    for key in env:
        if key.startswith("CONCORD_"):
            assert _setting_exists(key), f"{key} is not a Concord setting"
    # The URLs point at the services that serve them, on the ports they listen on.
    db = urlparse(env["CONCORD_DATABASE_URL"].replace("${POSTGRES_PASSWORD:-concord}", "pw"))
    assert (db.hostname, db.port, db.path.lstrip("/")) == ("postgres", 5432, services["postgres"]["environment"]["POSTGRES_DB"])
    assert urlparse(env["CONCORD_QUEUE__BROKER_URL"]).hostname == "redis"
    llm = urlparse(env["CONCORD_LLM__BASE_URL"])
    vllm = _vllm_config()
    assert (llm.hostname, llm.port) == ("vllm", vllm["port"])
    assert env["CONCORD_WEB__PORT"] == "8000" and "8000:8000" in services["concord-web"]["ports"]
    assert services["concord-web"]["command"][-1] == env["CONCORD_WEB__PORT"]
    # The settings object accepts the whole environment as Concord would read it.
    for key, value in env.items():
        if key.startswith("CONCORD_"):
            monkeypatch.setenv(key, value)
    from ingest.core.settings import load_settings

    settings = load_settings()
    assert settings.queue.broker_url == "redis://redis:6379/0" and settings.llm.backend == "openai"


def test_vllm_config_serves_what_concord_asks_for() -> None:
    vllm = _vllm_config()
    assert set(vllm) <= VLLM_KEYS, f"unknown vLLM options: {set(vllm) - VLLM_KEYS}"
    assert vllm["enable-prefix-caching"] is True and vllm["enable-lora"] is True
    assert 0 < vllm["gpu-memory-utilization"] <= 1 and vllm["max-model-len"] >= 2048
    compose = _compose()
    env = compose["services"]["concord-bot"]["environment"]
    lora_names = []
    data_mount = next(m.split(":")[1] for m in compose["services"]["vllm"]["volumes"] if m.startswith("concord-data:"))
    concord_data = env["CONCORD_DATA_DIR"]
    for module in vllm["lora-modules"]:
        name, path = module.split("=", 1)
        lora_names.append(name)
        # adapters are where `concord finetune train --name NAME` writes them: <data_dir>/models/NAME/adapter
        assert path == f"{data_mount}/models/{name}/adapter" and data_mount == concord_data
    assert env["CONCORD_LLM__MODEL"] == vllm["served-model-name"]
    health = compose["services"]["vllm"]["healthcheck"]["test"]
    asked = [health[i + 1] for i, word in enumerate(health) if word == "--model"]
    assert sorted(asked) == sorted([vllm["served-model-name"], *lora_names])
    assert (INFRA / "vllm" / "serve.sh").stat().st_mode & 0o111


def test_k8s_references_resolve() -> None:
    docs = _k8s()
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert all(d["metadata"].get("namespace") == "concord" for d in docs if d["kind"] != "Namespace")
    workloads = [d for d in docs if _pod_spec(d) is not None]
    for doc in workloads:
        if doc["kind"] in ("Deployment", "StatefulSet"):
            assert doc["spec"]["selector"]["matchLabels"].items() <= doc["spec"]["template"]["metadata"]["labels"].items()
        spec = _pod_spec(doc)
        assert spec is not None
        claim_templates = {t["metadata"]["name"] for t in doc["spec"].get("volumeClaimTemplates", [])}
        declared = {v["name"] for v in spec.get("volumes", [])} | claim_templates
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in names
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in names
        for container in spec["containers"]:
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in declared, f"{doc['metadata']['name']}: mount {mount['name']} has no volume"
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in names
                if "secretRef" in source:
                    assert ("Secret", source["secretRef"]["name"]) in names
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == ref["name"])
                    assert ref["key"] in secret["stringData"]
    for service in (d for d in docs if d["kind"] == "Service"):
        served = [w for w in workloads if w["kind"] in ("Deployment", "StatefulSet")]
        targets = [w for w in served if service["spec"]["selector"].items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        assert targets, f"Service {service['metadata']['name']} selects no workload"
        port_names = {p.get("name") for w in targets for c in _containers(w) for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "concord-env")["data"]
    secrets = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "concord-secrets")["stringData"]
    for key in [*config, *secrets]:
        if key.startswith("CONCORD_"):
            assert _setting_exists(key), f"{key} is not a Concord setting"
    assert urlparse(config["CONCORD_LLM__BASE_URL"]).hostname in {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
    assert urlparse(config["CONCORD_QUEUE__BROKER_URL"]).hostname in {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
    # the vLLM config in the cluster is the same as infra/vllm/config.yaml
    vllm_cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "vllm-config")
    assert yaml.safe_load(vllm_cm["data"]["config.yaml"]) == _vllm_config()
    kustomization = yaml.safe_load((INFRA / "k8s" / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in (INFRA / "k8s").glob("*.yaml") if p.name != "kustomization.yaml")
    compose_images = {s["image"] for s in _compose()["services"].values()}
    assert {c["image"] for d in workloads for c in _containers(d)} == compose_images


def test_settings_check_rejects_typos() -> None:
    assert _setting_exists("CONCORD_LLM__BASE_URL") and not _setting_exists("CONCORD_LLM__BASEURL")
