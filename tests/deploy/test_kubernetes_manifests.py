"""deploy/kubernetes, checked offline: every manifest against the Kubernetes JSON schemas that the
``kubernetes-validate`` package ships (strict: an unknown field fails), and the promises the
Deployment makes (probes on /readyz and /healthz, the drain delay in preStop, a grace period that
outlasts it, keys only from Secrets, settings that the service knows).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_files import ROOT

from claude_arch.service.config import ServiceSettings

KUBERNETES = ROOT / "deploy" / "kubernetes"
# the oldest release with the native preStop sleep on by default, and the newest schemas shipped
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((KUBERNETES / name).read_text("utf-8")) if d]


def manifests() -> list[Path]:
    return sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")


def one(name: str) -> dict[str, Any]:
    (doc,) = documents(name)
    return doc


def container() -> dict[str, Any]:
    (found,) = one("deployment.yaml")["spec"]["template"]["spec"]["containers"]
    return found


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", manifests(), ids=lambda p: p.name)
def test_every_manifest_matches_the_kubernetes_schema(path: Path, version: str) -> None:
    for doc in documents(path.name):
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_schema_check_catches_a_wrong_manifest() -> None:
    bad = one("deployment.yaml")
    bad["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pth"] = "/x"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, VERSIONS[-1], strict=True)


def test_kustomize_applies_every_manifest_but_the_secret_template() -> None:
    kustomization = one("kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in manifests() if p.name != "secret.example.yaml"
    )


def test_probes_check_readyz_and_healthz() -> None:
    spec = container()
    assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert spec["livenessProbe"]["httpGet"]["path"] == "/healthz"
    (port,) = spec["ports"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert spec[probe]["httpGet"]["port"] in (port["name"], port["containerPort"])
    # /readyz runs its checks at once, 2 s at most in all
    assert spec["readinessProbe"]["timeoutSeconds"] > 2


def test_the_drain_delay_is_the_prestop_sleep_and_the_grace_period_outlasts_it() -> None:
    pod = one("deployment.yaml")["spec"]["template"]["spec"]
    spec = container()
    delay = spec["lifecycle"]["preStop"]["sleep"]["seconds"]
    readiness = spec["readinessProbe"]
    # long enough for a readiness-driven load balancer to notice the pod is going
    assert delay >= readiness["periodSeconds"] * readiness["failureThreshold"]
    settings = one("configmap.yaml")["data"]
    assert float(settings["CLAUDE_ARCH_DRAIN_DELAY_S"]) == 0  # not twice
    grace = float(settings["CLAUDE_ARCH_SHUTDOWN_GRACE_S"])
    assert pod["terminationGracePeriodSeconds"] > delay + grace


def test_settings_are_real_and_keys_come_only_from_the_secret() -> None:
    fields = {f"CLAUDE_ARCH_{name.upper()}" for name in ServiceSettings.model_fields}
    settings = one("configmap.yaml")["data"]
    assert set(settings) <= fields, set(settings) - fields
    assert not any(re.search(r"KEY|PASSWORD|SECRET|TOKEN|URL", name) for name in settings)
    secret = one("secret.example.yaml")
    assert all(value == "" for value in secret["stringData"].values())  # a template
    spec = container()
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in spec["env"]}
    assert set(refs) == {"ANTHROPIC_API_KEY", "CLAUDE_ARCH_DATABASE_URL", "CLAUDE_ARCH_REDIS_URL"}
    for ref in refs.values():
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
        assert not ref.get("optional")  # no key: no pod, never the embedded emulator
    assert spec["envFrom"] == [
        {"configMapRef": {"name": one("configmap.yaml")["metadata"]["name"]}}
    ]


def test_service_hpa_and_pdb_select_the_deployment() -> None:
    deployment = one("deployment.yaml")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service, pdb, hpa = one("service.yaml"), one("pdb.yaml"), one("hpa.yaml")
    assert service["spec"]["selector"].items() <= labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == container()["ports"][0]["name"]
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= 2  # the PDB can always let one go
    assert pdb["spec"]["maxUnavailable"] == 1
    resources = container()["resources"]
    assert resources["requests"]["cpu"]  # the HPA's utilisation is relative to it
    assert resources["limits"]["memory"]


def test_the_pod_runs_unprivileged() -> None:
    pod = one("deployment.yaml")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's user
    assert pod["automountServiceAccountToken"] is False
    context = container()["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in container()["volumeMounts"]}
    assert "/var/lib/claude-arch" in mounts  # the image's working directory stays writable
