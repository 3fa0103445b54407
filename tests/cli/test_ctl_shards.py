"""`nvrsim ctl --control A --control B`: every shard of a fleet, as one simulator; and
`nvrsim face` as its own command."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from nvrsim.simulator.cli.face import shards_of
from nvrsim.simulator.cli.main import main
from nvrsim.simulator.core.clock import VirtualClock
from nvrsim.simulator.runtime.runner import ServiceConfig, Simulator
from tests.conftest import hik_entry, make_fleet, on_free_ports

NAMES = ("cam-a", "cam-b", "cam-c", "cam-d")


class ShardsThread:
    """Two shards of one fixture, each a Simulator with its control API, served from a loop
    on a thread of its own (ctl is synchronous)."""

    def __init__(self, pool: str, token: str | None = None) -> None:
        camera = {"kind": "ipc", "model": "DS-2CD2043G2-I"}
        self.fleet = on_free_ports(
            make_fleet(*(hik_entry(n, **camera) for n in NAMES), address_pool=pool)
        )
        self.config = ServiceConfig(sadp_port=0, wsd_port=0, control_port=0, token=token)
        self.loop = asyncio.new_event_loop()
        self.sims: list[Simulator] = []
        self.urls: list[str] = []
        self._ready, self._stop = threading.Event(), asyncio.Event()
        self._thread = threading.Thread(target=self.loop.run_until_complete, args=(self._serve(),))

    async def _serve(self) -> None:
        self.sims = [Simulator(self.fleet.shard(i, 2), VirtualClock(), self.config) for i in (0, 1)]
        for sim in self.sims:
            await sim.start()
            control = sim.services["control"]
            self.urls.append(f"http://{control.host}:{control.port}")
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            for sim in self.sims:
                await sim.stop()

    def holder(self, name: str) -> Simulator:
        return next(s for s in self.sims if s.fleet.find(name) is not None)

    def __enter__(self) -> ShardsThread:
        self._thread.start()
        assert self._ready.wait(30), "the shards did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self.loop.close()


@pytest.fixture
def shards() -> Iterator[ShardsThread]:
    with ShardsThread("127.92.0.0/24") as running:
        yield running


def ctl(shards: ShardsThread, *args: str) -> int:
    return main(["ctl", "--control", shards.urls[0], "--control", shards.urls[1], *args])


def test_list_show_and_fault_over_both_shards(shards, capsys):
    assert ctl(shards, "devices") == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].split()[:2] == ["NAME", "SERIAL"]
    assert [row.split()[0] for row in rows[1:]] == list(NAMES)  # in fleet order

    assert ctl(shards, "show", "cam-b") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["serial"] == shards.holder("cam-b").fleet.find("cam-b").serial

    assert ctl(shards, "fault", "cam-d", "auth_fail=true") == 0
    assert json.loads(capsys.readouterr().out)["auth_fail"] is True
    assert shards.holder("cam-d").fleet.find("cam-d").faults.auth_fail
    assert not shards.holder("cam-c").fleet.find("cam-c").faults.auth_fail

    assert ctl(shards, "fault", "fleet", "discovery_drop=30") == 0
    assert all(sim.fleet.faults.discovery_drop == 30 for sim in shards.sims)
    before = [sim.clock.now() for sim in shards.sims]
    assert ctl(shards, "clock", "advance", "2h") == 0
    assert [sim.clock.now() for sim in shards.sims] == [t + 7200 for t in before]
    capsys.readouterr()


def test_errors_are_the_single_simulators(shards, capsys):
    assert ctl(shards, "show", "cam-z") == 1
    assert "no device 'cam-z' in the fleet" in capsys.readouterr().err
    assert ctl(shards, "set", "cam-a", "online=maybe") == 1
    assert "the body does not validate" in capsys.readouterr().err


def test_the_control_list_comes_from_the_environment_with_tokens(monkeypatch, capsys):
    with ShardsThread("127.92.1.0/24", token="s3cret") as running:
        monkeypatch.setenv("NVRSIM_CONTROL", ",".join(running.urls))
        monkeypatch.setenv("NVRSIM_TOKEN", "s3cret")
        assert main(["ctl", "devices"]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 1 + len(NAMES)
        monkeypatch.setenv("NVRSIM_TOKEN", "wrong,wrong")
        assert main(["ctl", "devices"]) == 1
        assert "a token is required" in capsys.readouterr().err


def test_token_counts_must_match():
    assert [s.token for s in shards_of(["http://a", "http://b"], ["t"])] == ["t", "t"]
    assert [s.name for s in shards_of(["http://a", "http://b"], [])] == ["shard 1/2", "shard 2/2"]
    with pytest.raises(ValueError, match="2 tokens for 3 control APIs"):
        shards_of(["http://a", "http://b", "http://c"], ["t", "u"])


def test_nvrsim_face_serves_the_shards_as_one(shards, capsys):
    argv = [sys.executable, "-m", "nvrsim", "face", "--port", "0"]
    argv += [arg for url in shards.urls for arg in ("--shard", url)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as face:
        try:
            assert face.stdout is not None
            banner = face.stdout.readline()
            url = banner.split(" on ")[1].split("/ ")[0]
            assert main(["ctl", "--api", url, "devices", "--json"]) == 0
            assert [d["name"] for d in json.loads(capsys.readouterr().out)] == list(NAMES)
        finally:
            face.terminate()
        assert face.wait(15) == 0
