"""`python -m tests.localcluster.apiserver.serve_alone DATA_DIR TOKEN`: one embedded API server in
a process of its own (so that its memory can be measured), until SIGTERM.

Serves plain HTTP on 127.0.0.1 (so that any HTTP client can fuzz it); writes DATA_DIR/url once it
serves.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from katib_py.localcluster.apiserver import ApiServer


async def main(data_dir: Path, token: str) -> None:
    server = ApiServer(data_dir, token=token)
    server.tls = False  # plain HTTP: see ApiServer's docstring
    await server.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    (data_dir / "url.tmp").write_text(server.url)
    (data_dir / "url.tmp").rename(data_dir / "url")
    try:
        await stop.wait()
    finally:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
