"""The Kubernetes manifests, rendered by kustomize and validated offline.

kubectl (from PyPI) renders each overlay; kubernetes-validate checks every
built-in resource against Kubernetes' JSON schemas, strictly (unknown fields
are errors); the prometheus-operator resources are checked against their
CRDs' schemas by @kubernetes-models/prometheus-operator (types and patterns;
those schemas allow unknown fields). What no schema sees is checked here:
selectors, port names, probe paths, the shutdown budget against the grace
period, and the ConfigMap's files loaded as the service's configuration.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from examples.bookshop.main import service as bookshop
from microlib.config import load_config
from microlib.config.model import Settings
from microlib.security import references
from tests.deploy.dockerfile import exec_form, final_stage
from tests.observability.exported import exported, own_labels

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE_ROOT = ROOT / "deploy" / "kubernetes"
KUBECTL = str(Path(sys.executable).with_name("kubectl"))
# The oldest Kubernetes the manifests are meant for, and the newest schemas.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
OVERLAYS = ("development", "production", "production+database")
# Seconds Kubernetes may take to stop sending new connections to a pod
# after its deletion (endpoints, then every node's kube-proxy).
ENDPOINTS_UPDATE = 2
PROBES = {"startupProbe": "startup", "readinessProbe": "ready", "livenessProbe": "live"}


def _render(overlay: str, scratch: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize`` of an overlay; ``x+database`` is overlay x with
    the database component added to its kustomization, as a service with a
    database would have it (in a copy of the tree)."""
    directory = KUSTOMIZE_ROOT / "overlays" / overlay
    if "+" in overlay:
        base, component = overlay.split("+")
        tree = scratch / overlay
        shutil.copytree(KUSTOMIZE_ROOT, tree)
        directory = tree / "overlays" / base
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
        kustomization["components"] = [f"../../components/{component}"]
        (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    result = subprocess.run(
        [KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    scratch = tmp_path_factory.mktemp("kustomize")
    return {overlay: _render(overlay, scratch) for overlay in OVERLAYS}


def _one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, [d["metadata"]["name"] for d in found])
    return found[0]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builtin_resources_match_the_kubernetes_schemas(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    """Every built-in resource validates strictly against the Kubernetes
    JSON schemas of the oldest and newest supported version."""
    builtin = [d for d in rendered[overlay] if not d["apiVersion"].startswith("monitoring.coreos.com/")]
    assert {d["kind"] for d in builtin} >= {
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    }
    for version in KUBERNETES_VERSIONS:
        for doc in builtin:
            kubernetes_validate.validate(doc, version, strict=True)


def test_schema_validation_catches_a_mistake(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """The validation is strict: a misspelt field or a wrong type fails it."""
    deployment = json.loads(json.dumps(_one(rendered["production"], "Deployment")))
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 45
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def _validate_crds(docs: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "node is needed (make tools)"
    return subprocess.run(
        [node, str(Path(__file__).with_name("validate_crds.mjs"))],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_prometheus_operator_resources_match_their_crds(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """The ServiceMonitor of each overlay and the PrometheusRule validate
    against prometheus-operator's CRD schemas; a wrong type is caught."""
    monitors = [_one(rendered[overlay], "ServiceMonitor") for overlay in OVERLAYS]
    rule = yaml.safe_load((KUSTOMIZE_ROOT / "monitoring" / "prometheusrule.yaml").read_text())
    result = _validate_crds([*monitors, rule])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") == len(OVERLAYS) + 1
    wrong = json.loads(json.dumps(monitors[0]))
    wrong["spec"]["endpoints"][0]["interval"] = 30
    result = _validate_crds([wrong])
    assert result.returncode == 1
    assert "interval must be string" in result.stdout


def _effective_config(docs: list[dict[str, Any]], scratch: Path, secret_dir: Path | None = None) -> Settings:
    """The configuration the Deployment's container loads: its --config files
    from the mounted ConfigMap, its environment, the example's sections."""
    deployment = _one(docs, "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    args = container["args"]
    files: list[Path] = []
    for i, arg in enumerate(args):
        if arg != "--config":
            continue
        path = Path(args[i + 1])
        config_map = _one(docs, "ConfigMap", mounts[str(path.parent)]["configMap"]["name"])
        text = config_map["data"][path.name]
        if secret_dir is not None:  # the Secret's mount, here a directory of the test's
            for mount_path, volume in mounts.items():
                if "secret" in volume:
                    text = text.replace(mount_path, str(secret_dir))
        files.append(scratch / f"{config_map['metadata']['name']}-{path.name}")
        files[-1].write_text(text)
    environ = {e["name"]: e.get("value", "pod-name-from-the-downward-api") for e in container.get("env", [])}
    unregister = references.register()  # ${secret:...}, as Service.configure registers it
    try:
        return load_config(sections=bookshop.sections, files=files, environ=environ).settings
    finally:
        unregister()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_configmap_holds_valid_service_configuration(
    rendered: dict[str, list[dict[str, Any]]], overlay: str, tmp_path: Path
) -> None:
    """The config files the ConfigMap mounts load as the bookshop's
    configuration (unknown keys would be errors), with the environment the
    Deployment sets; the database component's URL comes from its Secret."""
    secret_dir = None
    if "database" in overlay:
        secret_dir = tmp_path / "secret"
        secret_dir.mkdir()
        (secret_dir / "url").write_text("postgresql+asyncpg://shop:s3cret@db:5432/shop\n")
    settings = _effective_config(rendered[overlay], tmp_path, secret_dir)
    expected = "development" if overlay == "development" else "production"
    assert settings.service.environment == expected
    assert settings.service.instance_id == "pod-name-from-the-downward-api"
    assert settings.logging.format == "json"
    if secret_dir is not None:
        assert settings.database.url == "postgresql+asyncpg://shop:s3cret@db:5432/shop"


@pytest.mark.parametrize("overlay", ["development", "production"])
def test_shutdown_fits_the_grace_period_and_probes_match_the_service(
    rendered: dict[str, list[dict[str, Any]]], overlay: str, tmp_path: Path
) -> None:
    """terminationGracePeriodSeconds exceeds shutdown.timeout, which holds the
    drain delay and the drain; the drain delay outlasts a gRPC connection's
    age and the endpoints' update, so connections leave before the drain; the
    probes ask microlib's health paths on the port the service listens on,
    with timeouts above health.check_timeout; container ports are http.port
    and grpc.port; the command is the image's."""
    docs = rendered[overlay]
    settings = _effective_config(docs, tmp_path)
    pod = _one(docs, "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    shutdown = settings.shutdown
    age = settings.grpc.keepalive.max_connection_age
    assert age is not None
    assert age * 1.1 + ENDPOINTS_UPDATE <= shutdown.drain_delay  # gRPC connections leave in the delay
    assert shutdown.timeout >= shutdown.drain_delay + shutdown.drain_timeout
    assert pod["terminationGracePeriodSeconds"] > shutdown.timeout
    assert "preStop" not in container.get("lifecycle", {})  # the drain delay is microlib's
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": settings.http.port, "grpc": settings.grpc.port}
    for probe, path in PROBES.items():
        get = container[probe]["httpGet"]
        assert get["path"] == f"{settings.health.path}/{path}"
        assert ports[get["port"]] == settings.http.port
        assert container[probe]["timeoutSeconds"] > settings.health.check_timeout
    image_command = exec_form(next(i.arguments for i in final_stage() if i.keyword == "CMD"))
    assert container["args"][: len(image_command)] == image_command
    user = next(i.arguments for i in final_stage() if i.keyword == "USER")
    assert f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" == user


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_selectors_and_ports_line_up(rendered: dict[str, list[dict[str, Any]]], overlay: str) -> None:
    """The Services, the PodDisruptionBudget and the HPA find the Deployment's
    pods and not the migration Job's; Service ports target named container
    ports; the ServiceMonitor scrapes the main Service's http port at
    metrics.path, and no other Service it selects has that port."""
    docs = rendered[overlay]
    deployment = _one(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert _selects(deployment["spec"]["selector"]["matchLabels"], pod_labels)
    container_ports = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    jobs = [d for d in docs if d["kind"] == "Job"]
    services = [d for d in docs if d["kind"] == "Service"]
    for service in services:
        assert _selects(service["spec"]["selector"], pod_labels)
        for job in jobs:
            assert not _selects(service["spec"]["selector"], job["spec"]["template"]["metadata"]["labels"])
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in container_ports
            assert port["appProtocol"] == ("kubernetes.io/h2c" if port["name"] == "grpc" else "http")
    budget = _one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]
    assert _selects(budget, pod_labels)
    for job in jobs:
        assert not _selects(budget, job["spec"]["template"]["metadata"]["labels"])
    target = _one(docs, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert "replicas" not in deployment["spec"]  # the HPA owns the count
    monitor = _one(docs, "ServiceMonitor")
    scraped = [
        s for s in services if _selects(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    assert [s["metadata"]["name"] for s in scraped] == ["bookshop"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in scraped[0]["spec"]["ports"]}
    assert endpoint["path"] == Settings().metrics.path


# The labels prometheus-operator gives each target of a ServiceMonitor, before its relabelings.
OPERATOR_TARGET_LABELS = {"job", "instance", "namespace", "service", "pod", "container", "endpoint"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_scrape_keeps_microlibs_own_labels(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    """A target label renames a series' own label of the same name to `exported_<name>`: of the
    labels microlib's series carry, only the jobs' `job` may clash (the rules and the dashboard
    read `exported_job`). The operator's `service` renamed the gRPC service, AsyncAPI application
    and jobs contract that the rules, the dashboard and the pages group by `service`."""
    (endpoint,) = _one(rendered[overlay], "ServiceMonitor")["spec"]["endpoints"]
    dropped = [r["regex"] for r in endpoint.get("relabelings", []) if r["action"].lower() == "labeldrop"]
    target = {label for label in OPERATOR_TARGET_LABELS if not any(re.fullmatch(d, label) for d in dropped)}
    assert target & own_labels(exported()) == {"job"}


def test_migration_job_upgrades_with_the_deployments_configuration(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """The database component's Job runs `microlib db upgrade` on the service
    the Deployment runs, with the same config files and the same Secret
    mounted where database.yaml's ${secret:file:...} reads it."""
    docs = rendered["production+database"]
    container = _one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    job = _one(docs, "Job", "bookshop-migrate")
    migrate = job["spec"]["template"]["spec"]["containers"][0]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    run_args, migrate_args = container["args"], migrate["args"]
    assert run_args[0] == "run"
    assert migrate_args[:2] == ["db", "upgrade"]
    assert migrate_args[2:] == run_args[1:]
    assert migrate["image"] == container["image"]
    config_map = _one(docs, "ConfigMap")
    reference = re.search(r"\$\{secret:file:([^}]+)\}", config_map["data"]["database.yaml"])
    assert reference
    secret_dir = str(Path(reference.group(1)).parent)
    for spec, each in (
        (job["spec"]["template"]["spec"], migrate),
        (_one(docs, "Deployment")["spec"]["template"]["spec"], container),
    ):
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounted = {m["mountPath"]: volumes[m["name"]] for m in each["volumeMounts"]}
        assert mounted[secret_dir]["secret"]["secretName"] == "bookshop-database"
        assert mounted["/etc/bookshop"]["configMap"]["name"] == config_map["metadata"]["name"]
