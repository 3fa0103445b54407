"""The face in docker/: the Kubernetes Deployment and the compose service that run `nvrsim
face` in front of the shards and the clouds reach them by the names those get."""

from __future__ import annotations

import yaml

from nvrsim.simulator.cli.face import control_apis
from tests.docker.test_docker import COMPOSE, interpolated, manifests, nvrsim_accepts


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container["env"]}


def test_the_face_deployment_reaches_every_shard_and_the_clouds():
    found = manifests()
    shards = found["StatefulSet/nvrsim-shard"]
    (face,) = found["Deployment/nvrsim-face"]["spec"]["template"]["spec"]["containers"]
    nvrsim_accepts(face["args"])
    env = env_of(face)
    assert env["NVRSIM_SHARDS"]["value"] == str(shards["spec"]["replicas"])
    for name in ("NVRSIM_CONTROL_TOKEN", "NVRSIM_TOKEN"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "nvrsim-control"
    given = [a.removeprefix("--shard=") for a in face["args"] if a.startswith("--shard=")]
    service, replicas = shards["spec"]["serviceName"], shards["spec"]["replicas"]
    name = shards["metadata"]["name"]
    clouds = found["Service/nvrsim-clouds"]["metadata"]["name"]
    assert control_apis(given, replicas) == [
        *(f"http://{name}-{i}.{service}:8321" for i in range(replicas)),
        f"http://{clouds}:8321",
    ]
    port = found["Service/nvrsim-face"]["spec"]["ports"][0]
    assert (port["port"], port["targetPort"]) == (8321, "control")


def test_the_compose_face_names_each_replica_as_compose_does():
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    face = services["face"]
    command = [interpolated(w) for w in face["command"]]
    nvrsim_accepts(command)
    count = int(interpolated(face["environment"]["NVRSIM_SHARDS"]))
    assert face["environment"]["NVRSIM_SHARDS"] == services["shard"]["environment"]["NVRSIM_SHARDS"]
    given = [a.removeprefix("--shard=") for a in command if a.startswith("--shard=")]
    # compose names replicas PROJECT-SERVICE-1, -2, ... (what nvrsim-shard reads back)
    assert control_apis(given, count) == [
        *(f"http://{spec['name']}-shard-{n}:8321" for n in range(1, count + 1)),
        "http://clouds:8321",
    ]
    assert face["profiles"] == ["shards"] and all(p.startswith("127.0.0.1:") for p in face["ports"])
