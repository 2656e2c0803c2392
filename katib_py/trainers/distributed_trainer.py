"""A distributed trial program for PyTorchJob and TFJob trials: data-parallel logistic regression.

Run it in every replica of a PyTorchJob (it reads MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE) or
a TFJob (it reads TF_CONFIG: the first worker, or the chief, coordinates). Each replica trains on
its shard of scikit-learn's breast-cancer data with SGD and momentum; every step the replicas send
their gradients to rank 0 over TCP, which averages them and sends the mean back (an all-reduce
through the coordinator), so every replica holds the same model. Rank 0 prints Katib metric lines
(`epoch=1 loss=0.31 accuracy=0.91`, for the StdOut collector); with `--log-path`, every replica
writes the same metrics as TensorFlow events to LOG_PATH/test (for the TensorFlowEvent collector,
as Katib's tf-mnist-with-summaries example does). It stands in for the images of Katib's
`pytorchjob-mnist` and `tfjob-mnist-with-summaries` examples and takes their flags.

Rank 0 listens on its own Pod address (HOSTNAME in /etc/hosts), so that trials running side by
side on one host can all use the kind's default port.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import datasets
from sklearn.preprocessing import StandardScaler

CONNECT_SECONDS = 120.0  # how long a worker waits for rank 0 (its Pod may start later)


@dataclass(frozen=True)
class Topology:
    rank: int
    world: int
    host: str  # rank 0's address
    port: int


def topology(env: dict[str, str]) -> Topology:
    """This replica's place, from TF_CONFIG or the PyTorch variables (one replica: rank 0 alone)."""
    if env.get("TF_CONFIG"):
        config = json.loads(env["TF_CONFIG"])
        cluster: dict[str, list[str]] = config.get("cluster") or {}
        members = [
            f"{t}:{i}" for t in ("chief", "master", "worker") for i in range(len(cluster.get(t) or []))
        ]
        task = config.get("task") or {}
        me = f"{task.get('type')}:{task.get('index')}"
        first_type, first_index = members[0].split(":")
        host, _, port = cluster[first_type][int(first_index)].rpartition(":")
        return Topology(members.index(me) if me in members else 0, len(members), host, int(port))
    return Topology(
        int(env.get("RANK") or 0),
        int(env.get("WORLD_SIZE") or 1),
        env.get("MASTER_ADDR") or "127.0.0.1",
        int(env.get("MASTER_PORT") or 23456),
    )


def _send(sock: socket.socket, value: Any) -> None:
    sock.sendall((json.dumps(value) + "\n").encode())


def _recv(reader: Any) -> Any:
    line = reader.readline()
    if not line:
        raise ConnectionError("peer closed the connection")
    return json.loads(line)


class AllReduce:
    """The mean of one vector per replica, through rank 0."""

    def __init__(self, top: Topology) -> None:
        self.top = top
        self.peers: list[tuple[socket.socket, Any]] = []
        if top.world == 1:
            return
        if top.rank == 0:
            address = socket.gethostbyname(os.environ.get("HOSTNAME") or "localhost")
            server = socket.create_server((address, top.port))
            while len(self.peers) < top.world - 1:
                conn, _ = server.accept()
                self.peers.append((conn, conn.makefile("r")))
            server.close()
        else:
            deadline = time.monotonic() + CONNECT_SECONDS
            while True:
                try:
                    conn = socket.create_connection((top.host, top.port), timeout=5)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            conn.settimeout(None)
            self.peers.append((conn, conn.makefile("r")))

    def mean(self, vector: np.ndarray) -> np.ndarray:
        if self.top.world == 1:
            return vector
        if self.top.rank == 0:
            total = vector.copy()
            for _conn, reader in self.peers:
                total += np.asarray(_recv(reader))
            total /= self.top.world
            for conn, _reader in self.peers:
                _send(conn, total.tolist())
            return total
        conn, reader = self.peers[0]
        _send(conn, vector.tolist())
        return np.asarray(_recv(reader))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", "--learning-rate", dest="lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--log-path", default="", help="write TF events to LOG_PATH/test as well")
    return parser


def _metrics(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    eps = 1e-12
    loss = float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
    return loss, float(np.mean((p >= 0.5) == y))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    top = topology(dict(os.environ))
    data = datasets.load_breast_cancer()
    x = StandardScaler().fit_transform(data.data)
    x = np.hstack([x, np.ones((len(x), 1))])
    y = data.target.astype(float)
    shard_x, shard_y = x[top.rank :: top.world], y[top.rank :: top.world]
    reduce = AllReduce(top)
    writer = None
    if args.log_path:
        from tensorboardX import SummaryWriter

        writer = SummaryWriter(os.path.join(args.log_path, "test"))
    w = np.zeros(x.shape[1])
    velocity = np.zeros_like(w)
    steps = max(1, len(shard_x) // max(1, args.batch_size))
    for epoch in range(1, args.epochs + 1):
        for step in range(steps):
            bx = shard_x[step * args.batch_size : (step + 1) * args.batch_size]
            by = shard_y[step * args.batch_size : (step + 1) * args.batch_size]
            p = 1.0 / (1.0 + np.exp(-(bx @ w)))
            grad = reduce.mean(bx.T @ (p - by) / max(1, len(bx)))
            velocity = args.momentum * velocity + grad
            w = w - args.lr * velocity
        loss, accuracy = _metrics(w, x, y)
        if top.rank == 0:
            print(f"epoch={epoch} loss={loss:.6f} accuracy={accuracy:.6f}", flush=True)
        if writer is not None:
            writer.add_scalar("loss", loss, epoch)
            writer.add_scalar("accuracy", accuracy, epoch)
    if writer is not None:
        writer.close()
    print(f"rank {top.rank} of {top.world} done", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
