"""The Kubernetes manifests, rendered offline as an admin would (`kubectl kustomize`) and every
object checked against the Kubernetes schemas (kubernetes-validate, schemas in its wheel),
strictly: a misspelt or unknown key fails. Then what the air gap and the failover story need:
egress denied by default, non-root read-only pods, probes, two UI replicas with a disruption
budget, secrets as files, vLLM's offline switches equal to the code's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from serving.launch import OFFLINE_ENV
from serving.router import ROUTER_FLAGS
from tests.conftest import ON_CI, ROOT

OVERLAYS = sorted(p.name for p in (ROOT / "deploy/k8s/overlays").iterdir())
KUBERNETES = "1.31.0"  # the oldest release the manifests promise (OpenShift 4.18, RKE2 1.31)


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        message = "kubectl is not installed (it renders the Kustomize overlays offline)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def render(folder: Path) -> list[dict[str, Any]]:
    done = subprocess.run([_kubectl(), "kustomize", str(folder)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def check(objects: list[dict[str, Any]]) -> None:
    import kubernetes_validate

    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)


def pods(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each workload's pod spec, by workload name."""
    found = {}
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] == "CronJob":
            found[obj["metadata"]["name"]] = spec["jobTemplate"]["spec"]["template"]["spec"]
        elif obj["kind"] in ("Deployment", "StatefulSet"):
            found[obj["metadata"]["name"]] = spec["template"]["spec"]
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_kubernetes(overlay: str) -> None:
    objects = render(ROOT / "deploy/k8s/overlays" / overlay)
    check(objects)
    assert all(o["metadata"].get("namespace") == "plantops" for o in objects
               if o["kind"] != "Namespace")


def test_an_unknown_key_fails_validation() -> None:
    import kubernetes_validate

    [ui] = [o for o in render(ROOT / "deploy/k8s/overlays/gpu") if o["kind"] == "Deployment"
            and o["metadata"]["name"] == "plantops-ui"]
    ui["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        check([ui])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_air_gap_and_hardening_hold(overlay: str) -> None:
    objects = render(ROOT / "deploy/k8s/overlays" / overlay)
    [deny] = [o for o in objects if o["kind"] == "NetworkPolicy"
              and o["metadata"]["name"] == "default-deny"]
    assert deny["spec"]["podSelector"] == {} and "Egress" in deny["spec"]["policyTypes"]
    for rule in deny["spec"]["egress"]:  # only this namespace's pods, and DNS
        for peer in rule["to"]:
            assert "ipBlock" not in peer
            assert "namespaceSelector" not in peer or rule["ports"] == [
                {"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    for policy in objects:  # any other way out: the UI's, to a directory's LDAP(S) port only
        if (policy["kind"] == "NetworkPolicy" and policy is not deny
                and "Egress" in policy["spec"]["policyTypes"]):
            assert policy["spec"]["podSelector"] == {
                "matchLabels": {"app.kubernetes.io/name": "plantops-ui"}}, policy
            for rule in policy["spec"]["egress"]:
                assert {p["port"] for p in rule["ports"]} <= {389, 636}, rule
                assert all(set(peer) == {"ipBlock"} and peer["ipBlock"]["cidr"].endswith("/32")
                           for peer in rule["to"]), rule
    for name, pod in pods(objects).items():
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            for variable in container.get("env", []):  # secrets arrive as files or refs
                assert "value" not in variable or "PASSWORD" not in variable["name"] or \
                    variable["name"].endswith("_FILE"), (name, variable)


def test_the_ui_survives_a_node_and_the_model_runs_offline() -> None:
    objects = render(ROOT / "deploy/k8s/overlays/gpu")
    by = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    ui = by[("Deployment", "plantops-ui")]
    assert ui["spec"]["replicas"] >= 2
    container = ui["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    assert by[("PodDisruptionBudget", "plantops-ui")]["spec"]["minAvailable"] == 1
    vllm = by[("StatefulSet", "plantops-vllm")]["spec"]["template"]["spec"]["containers"][0]
    env = {v["name"]: v.get("value") for v in vllm["env"]}
    assert {k: env.get(k) for k in OFFLINE_ENV} == OFFLINE_ENV
    assert "fieldRef" in next(v for v in vllm["env"] if v["name"] == "VLLM_HOST_IP")["valueFrom"]
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "1"
    router = by[("Deployment", "plantops-router")]["spec"]["template"]["spec"]["containers"][0]
    workers = router["args"][router["args"].index("--worker-urls") + 1:][:2]
    assert workers == [f"http://plantops-vllm-{n}.plantops-vllm:8000" for n in range(2)]
    assert _in_order(ROUTER_FLAGS, router["args"])  # as tested in test_replicas
    config = by[("ConfigMap", "plantops")]["data"]
    assert config["PLANTOPS_SERVING__BASE_URLS"] == '["http://plantops-router:8000/v1"]'
    tp = {(o["kind"], o["metadata"]["name"]): o
          for o in render(ROOT / "deploy/k8s/overlays/gpu-tensor-parallel")}
    tp_vllm = tp[("StatefulSet", "plantops-vllm")]["spec"]["template"]["spec"]["containers"][0]
    assert tp_vllm["args"][tp_vllm["args"].index("--tensor-parallel-size") + 1] == "4"
    assert tp_vllm["resources"]["limits"]["nvidia.com/gpu"] == "4"


def _in_order(flags: list[str], args: list[str]) -> bool:
    """``flags`` appear in ``args`` as one run."""
    return any(args[i:i + len(flags)] == flags for i in range(len(args)))


def test_the_directory_overlay_gives_settings_the_app_reads_and_its_secret_as_files(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from app.settings import Settings

    objects = render(ROOT / "deploy/k8s/overlays/with-directory")
    [config] = [o for o in objects if o["kind"] == "ConfigMap"
                and o["metadata"]["name"] == "plantops"]
    for key, value in config["data"].items():
        monkeypatch.setenv(key, value)
    directory = Settings().directory  # as the pods read them: the app's own settings model
    assert directory.url == "ldaps://dc1.plant.local" and directory.nested_groups == "in_chain"
    assert set(directory.roles.values()) == {"operator", "technician", "admin"}
    assert str(directory.bind_password_file).startswith("/run/secrets/directory/")
    ui = pods(objects)["plantops-ui"]
    mounts = {m["mountPath"]: m["name"] for m in ui["containers"][0]["volumeMounts"]}
    [volume] = [v for v in ui["volumes"] if v["name"] == mounts["/run/secrets/directory"]]
    assert volume["secret"]["secretName"] == "plantops-directory"
