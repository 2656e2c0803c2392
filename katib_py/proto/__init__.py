"""Katib's gRPC API (package api.v1.beta1), generated from protos/api.proto by `make proto`."""

from katib_py.proto import api_pb2, api_pb2_grpc

__all__ = ["api_pb2", "api_pb2_grpc"]
