"""Start a real `hyperbeam-fast serve` subprocess on a free loopback port (node e2e tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NodeProc:
    def __init__(
        self,
        workdir: Path,
        config: str = "",
        key: Path | None = None,
        store: str = "memory",
        env: dict | None = None,
        extra: list[str] | None = None,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = workdir / "config.flat"
        cfg.write_text(config)
        self.key = key or workdir / "key.json"
        args = [
            sys.executable,
            "-m",
            "hyperbeam_fast",
            "serve",
            "--port",
            str(self.port),
            "--key",
            str(self.key),
            "--store",
            store,
            "--config",
            str(cfg),
            "--generate-key",  # a missing --key file is an error without it
            *(extra or []),
        ]
        e = {k: v for k, v in os.environ.items() if not k.startswith("HB_")}
        e.update(env or {})
        self.log = open(workdir / "node.log", "wb")
        self.proc = subprocess.Popen(
            args, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT, env=e
        )
        self.logpath = workdir / "node.log"
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("node exited: " + self.logpath.read_text()[-3000:])
            try:
                with urllib.request.urlopen(self.url + "/metrics", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("node did not start: " + self.logpath.read_text()[-3000:])

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class HitCounter:
    """A loopback HTTP server that counts the GETs it receives (a cron@1.0 task's target)."""

    def __init__(self) -> None:
        import http.server
        import threading

        hits: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.hits = hits
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
