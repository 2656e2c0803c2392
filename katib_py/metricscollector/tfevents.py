"""TensorFlow / tensorboardX event files, read without TensorFlow.

An event file is a TFRecord stream (u64 length, u32 masked CRC, payload, u32 masked CRC) of
`tensorflow.Event` protobufs. The message types below are declared at run time with only the
fields a scalar needs (unknown fields are skipped by protobuf), so no TensorFlow and no generated
code are required. Both `simple_value` scalars (TF1, tensorboardX) and scalar tensors (TF2
`tf.summary.scalar`, tensorboardX `new_style`) are read.

Tag matching is Katib's: a tag matches metric `m` when it starts with the last `/` part of `m`;
a metric written `dir/name` also needs the event file's directory to end with `dir`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from katib_py.kube import rfc3339
from katib_py.metricscollector.parse import Observation, format_number

_F = descriptor_pb2.FieldDescriptorProto

# TensorFlow DataType values and how tensor_content encodes them.
_DT_FORMATS = {1: "<f", 2: "<d", 3: "<i", 9: "<q", 19: "<e"}
DT_BFLOAT16 = 14
CHUNK_BYTES = 1 << 20
MAX_RECORD_BYTES = 256 << 20


def _field(
    name: str, number: int, kind: int, repeated: bool = False, type_name: str = ""
) -> descriptor_pb2.FieldDescriptorProto:
    label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
    proto = _F(name=name, number=number, type=kind, label=label)
    if type_name:
        proto.type_name = type_name
    return proto


def _build_event_class() -> Any:
    file = descriptor_pb2.FileDescriptorProto(name="katib_py_tfevent.proto", package="katib_py_tfevent")
    file.syntax = "proto3"
    tensor = file.message_type.add(name="TensorProto")
    tensor.field.extend(
        [
            _field("dtype", 1, _F.TYPE_INT32),
            _field("tensor_content", 4, _F.TYPE_BYTES),
            _field("half_val", 13, _F.TYPE_INT32, repeated=True),
            _field("float_val", 5, _F.TYPE_FLOAT, repeated=True),
            _field("double_val", 6, _F.TYPE_DOUBLE, repeated=True),
            _field("int_val", 7, _F.TYPE_INT32, repeated=True),
            _field("int64_val", 10, _F.TYPE_INT64, repeated=True),
        ]
    )
    value = file.message_type.add(name="SummaryValue")
    value.field.extend(
        [
            _field("tag", 1, _F.TYPE_STRING),
            _field("simple_value", 2, _F.TYPE_FLOAT),
            _field("tensor", 8, _F.TYPE_MESSAGE, type_name=".katib_py_tfevent.TensorProto"),
        ]
    )
    # has_simple_value needs explicit presence: mark it as a proto3 optional via a oneof.
    value.oneof_decl.add(name="_simple_value")
    value.field[1].oneof_index = 0
    value.field[1].proto3_optional = True
    summary = file.message_type.add(name="Summary")
    summary.field.append(_field("value", 1, _F.TYPE_MESSAGE, True, ".katib_py_tfevent.SummaryValue"))
    event = file.message_type.add(name="Event")
    event.field.extend(
        [
            _field("wall_time", 1, _F.TYPE_DOUBLE),
            _field("step", 2, _F.TYPE_INT64),
            _field("summary", 5, _F.TYPE_MESSAGE, type_name=".katib_py_tfevent.Summary"),
        ]
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("katib_py_tfevent.Event"))


Event = _build_event_class()


def float32_text(value: float) -> str:
    """A float32 as its shortest text (0.6, not 0.6000000238418579)."""
    return str(numpy.float32(value))


def tensor_scalar(tensor: Any) -> str | None:
    """The first element of a (scalar) TensorProto as text, or None when it holds no number."""
    if len(tensor.float_val):
        return float32_text(tensor.float_val[0])
    for values in (tensor.double_val, tensor.int64_val, tensor.int_val):
        if len(values):
            return format_number(values[0])
    content = tensor.tensor_content
    if tensor.dtype == DT_BFLOAT16 and len(content) >= 2:
        return float32_text(struct.unpack("<f", b"\x00\x00" + content[:2])[0])
    fmt = _DT_FORMATS.get(tensor.dtype)
    if fmt and len(content) >= struct.calcsize(fmt):
        number = struct.unpack_from(fmt, content)[0]
        return float32_text(number) if fmt in ("<f", "<e") else format_number(number)
    if tensor.dtype == 19 and len(tensor.half_val):
        return float32_text(struct.unpack("<e", struct.pack("<H", tensor.half_val[0]))[0])
    return None


def read_records(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(end offset, payload) of every complete TFRecord in `data`; stops at a torn tail."""
    offset = 0
    while offset + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        end = offset + 12 + length + 4
        if end > len(data):
            return
        yield end, data[offset + 12 : offset + 12 + length]
        offset = end


def metric_matches(metric: str, tag: str, file_dir: str) -> bool:
    """Katib's rule: tag starts with the metric's last part; `dir/name` also needs the file's dir."""
    if not tag.startswith(metric.split("/")[-1]):
        return False
    if "/" in metric:
        return file_dir.rstrip("/").endswith(metric.rsplit("/", 1)[0])
    return True


@dataclass
class TFEventDirectory:
    """Reads new events from every `*tfevents*` file under a directory, resuming where it stopped."""

    root: Path
    metric_names: Sequence[str]
    offsets: dict[Path, int] = field(default_factory=dict)
    malformed: int = 0
    unreadable: set[Path] = field(default_factory=set)

    def files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        found: list[Path] = []
        for dirpath, _dirs, names in os.walk(self.root):
            found.extend(Path(dirpath) / name for name in names if "tfevents" in name)
        return sorted(found)

    def poll(self) -> list[Observation]:
        """Observations from records appended since the last call."""
        found: list[Observation] = []
        for path in self.files():
            if path in self.unreadable:
                continue
            try:
                with path.open("rb") as stream:
                    found.extend(self._read_file(path, stream))
            except OSError:
                continue
        return found

    def _read_file(self, path: Path, stream: BinaryIO) -> list[Observation]:
        """New complete records of one file, read a chunk at a time (a record may exceed a chunk)."""
        found: list[Observation] = []
        while True:
            start = self.offsets.get(path, 0)
            stream.seek(start)
            data = stream.read(CHUNK_BYTES)
            if len(data) >= 8:
                (length,) = struct.unpack_from("<Q", data)
                if length > MAX_RECORD_BYTES:
                    self.malformed += 1  # not an event file, or corrupt: do not allocate for it
                    self.unreadable.add(path)
                    return found
                if length + 16 > len(data):
                    data += stream.read(length + 16 - len(data))
            consumed = 0
            for end, payload in read_records(data):
                consumed = end
                found.extend(self._observations(payload, str(path.parent)))
            if not consumed:
                return found
            self.offsets[path] = start + consumed

    def _observations(self, payload: bytes, file_dir: str) -> list[Observation]:
        event = Event()
        try:
            event.ParseFromString(payload)
        except Exception:  # protobuf raises DecodeError (a plain Exception subclass in upb)
            self.malformed += 1
            return []
        if not event.HasField("summary"):
            return []
        time = rfc3339.from_unix(event.wall_time)
        found: list[Observation] = []
        for value in event.summary.value:
            if value.HasField("simple_value"):
                text: str | None = float32_text(value.simple_value)
            elif value.HasField("tensor"):
                text = tensor_scalar(value.tensor)
            else:
                continue
            if text is None:
                continue
            for metric in self.metric_names:
                if metric_matches(metric, value.tag, file_dir):
                    found.append(Observation(metric, text, time))
        return found
