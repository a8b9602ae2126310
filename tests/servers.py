"""Start and stop real servers the tests need (redis-server), on 127.0.0.1 only.

A missing binary is a test failure that says what to install, never a skip.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path
    aof: bool = False
    frozen: bool = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def alive(self) -> bool:
        """Running and answering (not killed, not frozen)."""
        return self.process.poll() is None and not self.frozen

    def stop(self) -> None:
        if self.frozen:  # a stopped process never handles SIGTERM
            self.kill()
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: what survives is what the append-only file had (``aof=True``)."""
        self.process.kill()
        self.process.wait()

    def freeze(self) -> None:
        """SIGSTOP: a hung machine or a network partition. The kernel still accepts
        connections for it and nothing ever answers (unlike a kill, which refuses them)."""
        self.process.send_signal(signal.SIGSTOP)
        self.frozen = True

    def restart(self) -> None:
        """Start again on the same port and directory (after ``stop`` or ``kill``)."""
        self.process = _spawn(self.workdir, self.port, self.aof)


def _binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed: run `sudo apt-get install -y redis-server` "
            "(scripts/test does this for you)"
        )
    return binary


def _spawn(workdir: Path, port: int, aof: bool) -> subprocess.Popen[bytes]:
    args = [
        _binary(), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
        "--protected-mode", "yes", "--dir", str(workdir), "--logfile", str(workdir / "redis.log"),
    ]  # fmt: skip
    args += ["--appendonly", "yes", "--appendfsync", "always"] if aof else ["--appendonly", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
    except RuntimeError:
        process.kill()
        raise
    return process


def start_redis(workdir: Path, port: int | None = None, aof: bool = False) -> RedisServer:
    """A redis-server on loopback (``port``, or a free one); ``aof``: every write fsynced to an
    append-only file, so a restart (even after SIGKILL) loses nothing."""
    _binary()
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    return RedisServer(port=port, process=_spawn(workdir, port, aof), workdir=workdir, aof=aof)


@dataclass
class RedisCluster:
    """Masters (and their replicas, if any) on loopback, slots spread by
    ``redis-cli --cluster create``."""

    nodes: list[RedisServer]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    def stop(self) -> None:
        for node in self.nodes:
            if node.process.poll() is None:
                node.stop()

    def node(self, port: int) -> RedisServer:
        return next(n for n in self.nodes if n.port == port)

    def roles(self) -> dict[int, tuple[str, int | None]]:
        """Each live node's port -> (``master`` or ``slave``, its master's port), as the
        cluster itself reports it (``CLUSTER NODES`` asked of a live node)."""
        node = next(n for n in self.nodes if n.alive)
        table = _cli("-p", str(node.port), "cluster", "nodes").decode()
        ports = {}
        rows = [line.split() for line in table.splitlines() if line.strip()]
        for row in rows:
            ports[row[0]] = int(row[1].split("@")[0].rsplit(":", 1)[1])
        roles: dict[int, tuple[str, int | None]] = {}
        for row in rows:
            flags = row[2].split(",")
            if "fail" in flags or "fail?" in flags or "noaddr" in flags:
                continue
            role = "master" if "master" in flags else "slave"
            roles[ports[row[0]]] = (role, ports.get(row[3]))
        return roles

    def wait_ok(self, timeout: float = 20.0) -> None:
        """Until every live node says ``cluster_state:ok``."""
        live = [n.port for n in self.nodes if n.alive]
        _wait_cluster_ok(_cli_path(), live, timeout)


def _cli_path() -> str:
    cli = shutil.which("redis-cli")
    if cli is None:
        raise RuntimeError(
            "redis-cli is not installed: run `sudo apt-get install -y redis-tools` "
            "(scripts/test does this for you)"
        )
    return cli


def _cli(*args: str) -> bytes:
    return subprocess.run([_cli_path(), *args], capture_output=True, timeout=5,
                          check=False).stdout  # fmt: skip


def start_redis_cluster(
    workdir: Path, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 2000
) -> RedisCluster:
    """A real Redis Cluster of ``masters`` nodes with ``replicas`` replicas each, ready
    (``cluster_state:ok`` and, with replicas, every replica in sync with its master).
    ``node_timeout_ms``: how long a node may be unreachable before the others count it
    failed and its replica takes over."""
    binary, cli = _binary(), _cli_path()
    ports: list[int] = []
    while len(ports) < masters * (1 + replicas):
        port = _cluster_port()
        if all(abs(port - p) not in (0, 10000) for p in ports):
            ports.append(port)
    nodes: list[RedisServer] = []
    try:
        processes = []
        for port in ports:
            node_dir = workdir / f"node-{port}"
            node_dir.mkdir(parents=True, exist_ok=True)
            args = [
                binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                "--appendonly", "no", "--protected-mode", "yes", "--dir", str(node_dir),
                "--logfile", str(node_dir / "redis.log"), "--cluster-enabled", "yes",
                "--cluster-config-file", str(node_dir / "nodes.conf"),
                "--cluster-node-timeout", str(node_timeout_ms),
                # A replica's first full sync starts at once, not after the 5 s default wait
                # for more replicas to share one transfer.
                "--repl-diskless-sync-delay", "0",
            ]  # fmt: skip
            process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            processes.append(process)
            nodes.append(RedisServer(port=port, process=process, workdir=node_dir))
        for port in ports:
            wait_for_port(port)
        create = [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
                  "--cluster-replicas", str(replicas), "--cluster-yes"]  # fmt: skip
        done = subprocess.run(create, capture_output=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout!r}")
        _wait_cluster_ok(cli, ports)
        if replicas:
            _wait_replicas_synced(RedisCluster(nodes), masters * replicas)
    except BaseException:
        for node in nodes:
            node.kill()
        raise
    return RedisCluster(nodes)


def _wait_replicas_synced(cluster: RedisCluster, expected: int, timeout: float = 20.0) -> None:
    """Until ``expected`` replicas report ``master_link_status:up`` (a replica that never
    synced is not eligible to take over)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            replicas = [p for p, (role, _) in cluster.roles().items() if role == "slave"]
        except (IndexError, ValueError):  # the table is still being gossiped
            replicas = []
        synced = [
            p
            for p in replicas
            if b"master_link_status:up" in _cli("-p", str(p), "info", "replication")
        ]
        if len(synced) >= expected:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(synced)} of {expected} replicas in sync after "
                               f"{timeout}s")  # fmt: skip
        time.sleep(0.05)


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too, so both are < 65536."""
    for _ in range(200):
        port = random.randrange(20000, 40000)
        try:
            for candidate in (port, port + 10000):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def _wait_cluster_ok(cli: str, ports: list[int], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(ports)
    while pending:
        port = pending[0]
        info = subprocess.run([cli, "-p", str(port), "cluster", "info"], capture_output=True,
                              timeout=5, check=False).stdout  # fmt: skip
        if b"cluster_state:ok" in info:
            pending.pop(0)
            continue
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Redis Cluster on {ports} is not ok after {timeout}s")
        time.sleep(0.05)
