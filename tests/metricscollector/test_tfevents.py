"""TF event files written by tensorboardX, read without TensorFlow."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from tensorboardX import SummaryWriter
from tensorboardX.proto.summary_pb2 import Summary
from tensorboardX.proto.tensor_pb2 import TensorProto

from katib_py.kube import rfc3339
from katib_py.metricscollector.tfevents import TFEventDirectory, metric_matches


def write_events(folder: Path) -> None:
    writer = SummaryWriter(str(folder))
    for step in range(3):
        writer.add_scalar("accuracy", 0.5 + step / 10, step, walltime=1_700_000_000 + step)
        file_writer = writer._get_file_writer()
        loss = TensorProto(dtype=2, double_val=[1.0 / (step + 1)])
        file_writer.add_summary(Summary(value=[Summary.Value(tag="loss", tensor=loss)]), step)
        raw = TensorProto(dtype=1, tensor_content=np.float32(step * 2.5).tobytes())
        file_writer.add_summary(Summary(value=[Summary.Value(tag="lr_schedule", tensor=raw)]), step)
    writer.close()


def test_scalars_and_tensors_with_katib_tag_matching(tmp_path: Path) -> None:
    write_events(tmp_path / "train")
    write_events(tmp_path / "eval")
    reader = TFEventDirectory(tmp_path, ["accuracy", "train/loss", "lr"])
    got = reader.poll()
    accuracy = [(o.value, rfc3339.format(o.time)) for o in got if o.name == "accuracy"]  # type: ignore[arg-type]
    assert accuracy[:3] == [
        ("0.5", "2023-11-14T22:13:20Z"),
        ("0.6", "2023-11-14T22:13:21Z"),
        ("0.7", "2023-11-14T22:13:22Z"),
    ]
    assert len(accuracy) == 6  # both directories
    assert [o.value for o in got if o.name == "train/loss"] == ["1.0", "0.5", "0.3333333333333333"]
    assert [o.value for o in got if o.name == "lr"] == ["0.0", "2.5", "5.0"] * 2
    assert reader.poll() == []
    assert reader.malformed == 0


def test_resumes_after_appended_and_torn_records(tmp_path: Path) -> None:
    write_events(tmp_path)
    (path,) = tmp_path.glob("*tfevents*")
    reader = TFEventDirectory(tmp_path, ["accuracy"])
    assert len(reader.poll()) == 3
    data = path.read_bytes()
    with path.open("ab") as stream:
        stream.write(struct.pack("<Q", 10_000) + b"torn")
    assert reader.poll() == []
    extra = tmp_path / "more"
    write_events(extra)
    assert len(reader.poll()) == 3
    assert path.read_bytes().startswith(data)


def test_metric_matches() -> None:
    assert metric_matches("loss", "loss_1", "/logs/train")
    assert not metric_matches("loss", "val_loss", "/logs/train")
    assert metric_matches("train/loss", "loss", "/logs/train")
    assert not metric_matches("train/loss", "loss", "/logs/eval")
