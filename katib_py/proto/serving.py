"""Serving Katib's gRPC services: a bounded message size, and requests parsed by the service itself.

Katib's servers take messages of up to 2 GiB (db-manager: `grpc.MaxRecvMsgSize(math.MaxInt32)` in
`cmd/db-manager/v1beta1/main.go`); a 300 MB value took db-manager to 1.5 GB. A server here
receives at most MAX_RECEIVE_BYTES and gRPC answers a larger request RESOURCE_EXHAUSTED. 64 MiB
holds a GetSuggestions request of 20,000 trials several times over (7.7 MiB with 5 parameters and
2 metrics, 22 MiB with 20 parameters and 5 metrics).

gRPC's own deserializer answers a request that is not a well-formed message INTERNAL
("Exception deserializing request!"); here the method parses it and answers INVALID_ARGUMENT,
saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError, Message

MAX_RECEIVE_BYTES = 64 << 20
MAX_SEND_BYTES = 2**31 - 1  # replies: the client's receive limit decides, as in Katib

Behaviour = Callable[[Any, grpc.ServicerContext], Any]


def server_options(max_receive_bytes: int = MAX_RECEIVE_BYTES) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", max_receive_bytes),
        ("grpc.max_send_message_length", MAX_SEND_BYTES),
    ]


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    """End the RPC with `code` (grpc's abort always raises)."""
    context.abort(code, message)
    raise AssertionError("grpc.ServicerContext.abort returned")


def parse(message_class: type[Message], data: bytes, context: grpc.ServicerContext) -> Any:
    """`data` as a `message_class`, or INVALID_ARGUMENT saying it is not one."""
    try:
        return message_class.FromString(data)
    except DecodeError as exc:
        abort(
            context,
            grpc.StatusCode.INVALID_ARGUMENT,
            f"malformed {message_class.__name__}: its {len(data)} bytes are not a well-formed "
            f"protobuf message ({exc})",
        )


def _parsing(method: Behaviour, message_class: type[Message]) -> Behaviour:
    def behaviour(data: bytes, context: grpc.ServicerContext) -> Any:
        return method(parse(message_class, data, context), context)

    return behaviour


def add_servicer(
    server: grpc.Server,
    service: ServiceDescriptor,
    servicer: object,
    on_bytes: Mapping[str, Behaviour] = {},
) -> None:
    """What a generated `add_<Service>Servicer_to_server` does, with each request parsed as above.

    `on_bytes` maps a method name to a behaviour that takes the request's bytes as they came.
    """
    handlers = {}
    for method in service.methods:
        behaviour = on_bytes.get(method.name) or _parsing(
            getattr(servicer, method.name), message_factory.GetMessageClass(method.input_type)
        )
        make = (
            grpc.unary_stream_rpc_method_handler
            if method.server_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handlers[method.name] = make(
            behaviour, request_deserializer=None, response_serializer=lambda reply: reply.SerializeToString()
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    server.add_registered_method_handlers(service.full_name, handlers)
