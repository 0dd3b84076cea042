"""compose.yaml: valid against the Compose Specification, and consistent with itself."""

import json
from typing import Any

import jsonschema
import pytest
import yaml

from serving.router import ROUTER_FLAGS
from tests.conftest import ON_CI, ROOT, SHARED


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def schema_validator() -> jsonschema.Draft7Validator:
    """The Compose Specification's validator (../shared/schemas); a skip without ../shared,
    a failure on CI, which always has it."""
    schema_file = SHARED / "schemas" / "compose-spec.json"
    if not schema_file.exists():
        if ON_CI:
            pytest.fail(f"{schema_file} is missing: CI always has ../shared")
        pytest.skip("../shared/schemas is absent")
    return jsonschema.Draft7Validator(json.loads(schema_file.read_text(encoding="utf-8")))


def test_matches_the_compose_schema(compose: dict[str, Any]) -> None:
    validator = schema_validator()
    validator.validate(compose)
    broken = {**compose, "services": {**compose["services"],
                                      "app": {**compose["services"]["app"], "portz": ["1:1"]}}}
    assert not validator.is_valid(broken), "the schema must reject unknown service keys"


def test_references_resolve(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for network in service.get("networks", []):
            assert network in compose["networks"], f"{name}: unknown network {network}"
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"], f"{name}: unknown secret {secret}"
        for volume in service.get("volumes", []):
            if isinstance(volume, str) and not volume.startswith(("/", ".")):
                assert volume.split(":")[0] in compose["volumes"], f"{name}: {volume}"
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"


def test_no_egress_and_only_the_app_is_published(compose: dict[str, Any]) -> None:
    assert compose["networks"]["backend"]["internal"] is True
    services = compose["services"]
    assert [n for n, s in services.items() if s.get("ports")] == ["app"]
    for name in ("vllm", "chroma", "ingest"):
        assert services[name]["networks"] == ["backend"], name
    for name in ("vllm", "chroma"):
        assert services[name]["pull_policy"] == "never"
        assert ":" in services[name]["image"] and not services[name]["image"].endswith(":latest")
    vllm = services["vllm"]
    assert vllm["environment"]["HF_HUB_OFFLINE"] == "1"
    assert vllm["environment"]["VLLM_NO_USAGE_STATS"] == "1"
    assert all(v.get("read_only") for v in vllm["volumes"] if isinstance(v, dict))
    assert "vllm_api_key" in vllm["secrets"] and "vllm_api_key" in services["app"]["secrets"]


def test_the_router_runs_with_the_flags_the_failover_test_proved(compose: dict[str, Any]) -> None:
    args = compose["services"]["router"]["command"]
    assert any(args[i:i + len(ROUTER_FLAGS)] == ROUTER_FLAGS for i in range(len(args)))


def test_the_directory_override_is_valid_and_read_by_the_apps_settings(
        compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """compose.directory.yaml, merged over compose.yaml as Compose merges it (maps by key,
    `secrets` replaced): still a valid file, its secrets declared, and its environment what
    the app's own settings model reads."""
    from app.settings import Settings

    override = yaml.safe_load((ROOT / "compose.directory.yaml").read_text(encoding="utf-8"))
    app = override["services"]["app"]
    merged = {**compose, "secrets": {**compose["secrets"], **override["secrets"]}}
    merged["services"] = {**compose["services"], "app": {
        **compose["services"]["app"], "secrets": app["secrets"],
        "environment": {**compose["services"]["app"]["environment"], **app["environment"]}}}
    schema_validator().validate(merged)
    test_references_resolve(merged)
    assert set(compose["services"]["app"]["secrets"]) < set(app["secrets"])  # none dropped
    assert "frontend" in compose["services"]["app"]["networks"]  # the way to the DCs
    for key, value in app["environment"].items():
        monkeypatch.setenv(key, value)
    directory = Settings().directory
    assert directory.url == "ldaps://dc1.plant.local" and directory.nested_groups == "in_chain"
    assert set(directory.roles.values()) == {"operator", "technician", "admin"}
    secrets = {f"/run/secrets/{name}" for name in app["secrets"]}
    assert {str(directory.bind_password_file), str(directory.ca_file)} <= secrets
