"""Regenerate (or check) the Python stubs of protos/*.proto with grpcio-tools.

Stubs are committed so that installing katib-py needs no code generation; `--check`
fails when they no longer match the .proto (run `make proto` to fix).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROTO_DIR = PACKAGE_DIR.parent.parent / "protos"
PROTOS = (("api.proto", True), ("wire.proto", False))  # (file, has gRPC services)
OUTPUTS = ("api_pb2.py", "api_pb2.pyi", "api_pb2_grpc.py", "wire_pb2.py", "wire_pb2.pyi")


def generate(out_dir: Path) -> None:
    from grpc_tools import protoc  # dev dependency: only needed to regenerate

    for name, with_services in PROTOS:
        args = ["grpc_tools.protoc", f"-I{PROTO_DIR}", f"--python_out={out_dir}", f"--pyi_out={out_dir}"]
        if with_services:
            args.append(f"--grpc_python_out={out_dir}")
        if protoc.main([*args, str(PROTO_DIR / name)]) != 0:
            raise SystemExit(f"protoc failed on {name}")
    # grpcio-tools emits top-level imports of api_pb2; make them package imports.
    for name in ("api_pb2_grpc.py", "wire_pb2.py", "wire_pb2.pyi"):
        path = out_dir / name
        text = re.sub(
            r"^import api_pb2 as", "from katib_py.proto import api_pb2 as", path.read_text(), flags=re.M
        )
        path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed stubs are stale")
    opts = parser.parse_args(argv)
    if not opts.check:
        generate(PACKAGE_DIR)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        stale = [n for n in OUTPUTS if (Path(tmp) / n).read_text() != (PACKAGE_DIR / n).read_text()]
    if stale:
        print(f"stale generated stubs: {', '.join(stale)}; run `make proto`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
