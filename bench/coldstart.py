"""Cold start (process start to the first `GET .../invocation/next`) and
binary sizes (bench/README.md, "What is measured")."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness import Emulator, _stop, lambda_env


# ---------------------------------------------------------------- cold start


class _Stub(BaseHTTPRequestHandler):
    """A Runtime API that notes the first `GET .../invocation/next` and never
    answers it."""

    first_next: float | None = None
    seen = threading.Event()
    release = threading.Event()

    def do_GET(self):  # noqa: N802
        if self.path.endswith("/runtime/invocation/next"):
            now = time.monotonic()
            if _Stub.first_next is None:
                _Stub.first_next = now
            _Stub.seen.set()
            _Stub.release.wait(30)
        self.send_response(204)
        self.end_headers()

    def do_POST(self):  # noqa: N802
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


def time_to_first_next(binary: Path, stub_port: int, endpoint: str) -> float:
    env = lambda_env(f"127.0.0.1:{stub_port}", endpoint)
    _Stub.first_next = None
    _Stub.seen.clear()
    _Stub.release.clear()
    start = time.monotonic()
    proc = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        if not _Stub.seen.wait(10):
            raise RuntimeError(f"{binary} never asked for an event")
        return (_Stub.first_next - start) * 1000.0
    finally:
        _stop(proc)
        _Stub.release.set()


def cold_start(bootstrap: Path, hello: Path, starts: int = 25, check=None) -> dict:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    emu = Emulator("--sample-org")
    try:
        emu.reset_calls()
        port = server.server_address[1]
        times: dict[str, list[float]] = {"bootstrap": [], "hello": []}
        for binary in (bootstrap, hello):  # warm the page cache; not counted
            time_to_first_next(binary, port, emu.endpoint)
        for _ in range(starts):  # interleaved, so drift hits both alike
            times["bootstrap"].append(time_to_first_next(bootstrap, port, emu.endpoint))
            times["hello"].append(time_to_first_next(hello, port, emu.endpoint))
        calls = sum(emu.stats()["counts"].values())
        if check:
            check(calls == 0, f"cold start: no AWS call at init (saw {calls})")
    finally:
        emu.stop()
        server.shutdown()
    b, h = statistics.median(times["bootstrap"]), statistics.median(times["hello"])
    return dict(
        starts=starts,
        bootstrap_median_ms=round(b, 2), hello_median_ms=round(h, 2), ratio=round(b / h, 3),
        bootstrap_min_ms=round(min(times["bootstrap"]), 2), hello_min_ms=round(min(times["hello"]), 2),
        bootstrap_ms=[round(x, 2) for x in times["bootstrap"]], hello_ms=[round(x, 2) for x in times["hello"]],
        aws_calls_at_init=calls,
    )


# --------------------------------------------------------------------- sizes


def sizes(bootstrap: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        stripped = Path(tmp) / "bootstrap"
        shutil.copy(bootstrap, stripped)
        subprocess.run(["strip", str(stripped)], check=True)
        archive = Path(tmp) / "bootstrap.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, stripped.read_bytes())
        return dict(binary_bytes=bootstrap.stat().st_size, stripped_bytes=stripped.stat().st_size,
                    zip_bytes=archive.stat().st_size)
