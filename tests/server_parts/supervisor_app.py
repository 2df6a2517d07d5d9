"""A supervisor in its own process, for tests that send it signals.

Usage: python -m tests.server_parts.supervisor_app WORKERS TARGET GRACEFUL [--reuse-port]
Prints one JSON line {"port": ..., "pid": ...} once the socket is bound.
"""

from __future__ import annotations

import json
import os
import socket
import sys

from tests.server_parts import worker_targets
from wirekit.server.workers import Supervisor


def main() -> None:
    workers, target_name, graceful = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    reuse_port = "--reuse-port" in sys.argv
    target = getattr(worker_targets, target_name)
    if reuse_port:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
    else:
        sock = socket.create_server(("127.0.0.1", 0), backlog=128)
    supervisor = Supervisor(
        target,
        [sock],
        workers,
        graceful_timeout=graceful,
        restart_backoff=0.05,
        reuse_port=reuse_port,
    )
    print(json.dumps({"port": sock.getsockname()[1], "pid": os.getpid()}), flush=True)
    supervisor.run()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
