"""Runs the function as Lambda does, on this machine: the release `bootstrap`
under a real Lambda Runtime API emulator (`cargo lambda watch
--only-lambda-apis`), talking to the project's GuardDuty + Organizations
emulator through the real AWS SDK. Shared by the end-to-end tests, the demo
and the benchmark. Everything listens on 127.0.0.1 and is stopped on exit."""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _path(env: str, default: Path) -> Path:
    return Path(os.environ.get(env, default))


BOOTSTRAP = _path("INVITER_BOOTSTRAP", ROOT / "target/release/bootstrap")
EMULATOR = _path("INVITER_EMULATOR", ROOT / "target/release/emulator")


def cargo_lambda() -> str:
    found = os.environ.get("CARGO_LAMBDA") or shutil.which("cargo-lambda")
    venv = ROOT / ".venv/bin/cargo-lambda"
    if not found and venv.exists():
        found = str(venv)
    if not found:
        raise RuntimeError("cargo-lambda not found: run scripts/test, or pip install cargo-lambda")
    return found


def free_port() -> int:
    """A port that was free a moment ago. Another process may take it before
    ours binds it: start_listening() checks that ours got it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Something accepts connections on 127.0.0.1:`port` (not necessarily
    ours: see start_listening())."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


# Who owns which TCP socket, from /proc (Linux). None where /proc has no such
# table: then the checks below fall back to "something answers".
def _tcp_sockets() -> list[tuple[int, int, str, int]] | None:
    """(local port, remote port, state, inode) of every IPv4/IPv6 TCP socket."""
    rows = []
    found = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        found = True
        for line in lines:
            f = line.split()
            rows.append((int(f[1].rsplit(":", 1)[1], 16), int(f[2].rsplit(":", 1)[1], 16), f[3], int(f[9])))
    return rows if found else None


def _group_socket_inodes(pgid: int) -> set[int]:
    """Inodes of the sockets held by the processes of process group `pgid`
    (every process the harness starts leads a group of its own)."""
    inodes = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for fd in (d / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(int(link[8:-1]))
        except (OSError, ValueError, IndexError):
            continue
    return inodes


_LISTEN, _ESTABLISHED = "0A", "01"


def _group_listens(pgid: int, port: int) -> bool:
    rows = _tcp_sockets()
    if rows is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False
    listening = {inode for local, _, state, inode in rows if local == port and state == _LISTEN}
    return bool(listening and listening & _group_socket_inodes(pgid))


def group_connected_to(pgid: int, port: int) -> bool | None:
    """Whether process group `pgid` holds a connection to local `port`; None
    when this cannot be known here (no /proc)."""
    rows = _tcp_sockets()
    if rows is None:
        return None
    connected = {inode for _, remote, state, inode in rows if remote == port and state == _ESTABLISHED}
    return bool(connected and connected & _group_socket_inodes(pgid))


# Every process the harness starts, so that none outlives the tests (or the
# demo) even when a test fails half-way through setting up.
_STARTED: list[subprocess.Popen] = []


def _spawn(argv: list[str], **kwargs) -> subprocess.Popen:
    proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
    _STARTED.append(proc)
    return proc


@atexit.register
def stop_all() -> None:
    """Stops whatever the harness started and is still running."""
    while _STARTED:
        _stop(_STARTED.pop())


def start_listening(argv_for_port, timeout: float = 30.0, tries: int = 5, **popen_kwargs):
    """Starts `argv_for_port(port)` on a free port and waits until that very
    process (its process group) listens on it. A free port can be taken by
    another process between free_port() and our bind; the program then exits
    (cargo lambda does, with status 0) while something else answers on the
    port, so a plain connect would talk to the wrong server. Retries on a new
    port then. Returns (process, port)."""
    for _ in range(tries):
        port = free_port()
        proc = _spawn(argv_for_port(port), **popen_kwargs)
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            if _group_listens(proc.pid, port):
                return proc, port
            if time.monotonic() > deadline:
                _stop(proc)
                raise TimeoutError(f"{argv_for_port(port)[0]} did not listen on 127.0.0.1:{port} in {timeout} s")
            time.sleep(0.02)
        _stop(proc)
    raise RuntimeError(f"{argv_for_port(0)[0]} exited before listening, {tries} times (ports taken?)")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    if proc in _STARTED:
        _STARTED.remove(proc)
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


class Emulator:
    """The project's GuardDuty + Organizations emulator, as a process."""

    def __init__(self, *args: str, timeout: float = 30.0):
        # Port 0: the emulator binds a free port itself and prints it.
        self.proc = _spawn(
            [str(EMULATOR), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().strip() if ready else f"(nothing in {timeout} s)"
        if not line.startswith("listening "):
            _stop(self.proc)
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.endpoint = line.split(" ", 1)[1]

    def control(self, method: str, path: str, body: object | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint + "/_emulator/" + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise
        return json.loads(raw) if raw else None

    def calls(self) -> list[dict]:
        return self.control("GET", "calls")

    def stats(self) -> dict:
        return self.control("GET", "stats")

    def reset_calls(self) -> None:
        self.control("POST", "reset-calls")

    def latency(self, ms: int, op: str | None = None) -> None:
        self.control("POST", "latency", {"op": op, "ms": ms})

    def fault(self, op: str, fault: str, times: int = 1, account: str | None = None) -> None:
        body = {"op": op, "fault": fault, "times": times}
        if account:
            body["accountId"] = account
        self.control("POST", "fault", body)

    def member(self, detector: str, account: str):
        return self.control("GET", f"member/{detector}/{account}")

    # Regions, member accounts and invitations (emulator/src/lib.rs,
    # "Control plane"). A `region` of None is the emulator's default,
    # us-east-1.

    def member_in(self, region: str, detector: str, account: str):
        """The administrator's member record in `region` (None if none)."""
        return self.control("GET", f"member/{detector}/{account}?region={region}")

    def put_member(self, detector: str, account: str, status: str, email: str | None = None,
                   region: str | None = None) -> dict:
        body = {"detectorId": detector, "accountId": account, "status": status}
        if email is not None:
            body["email"] = email
        if region is not None:
            body["region"] = region
        return self.control("POST", "member", body)

    def put_members(self, detector: str, accounts: list[str], status: str = "Removed",
                    region: str | None = None) -> None:
        body = {"detectorId": detector, "accountIds": accounts, "status": status}
        if region is not None:
            body["region"] = region
        self.control("POST", "members", body)

    def add_detector(self, detector: str, region: str | None = None) -> None:
        """An administrator detector in `region`."""
        body = {"detectorId": detector}
        if region is not None:
            body["region"] = region
        self.control("POST", "detector", body)

    def detectors(self, account: str, region: str) -> list[str]:
        """The detectors of any account (the administrator's too) in `region`."""
        return self.control("GET", f"detectors/{account}/{region}")["detectorIds"]

    def set_regions(self, regions: list[tuple[str, str]] | None = None, page_size: int | None = None) -> None:
        """Replaces ListRegions' list, as (name, status) pairs, and/or its page size."""
        body = {}
        if regions is not None:
            body["regions"] = [{"regionName": n, "regionOptStatus": s} for n, s in regions]
        if page_size is not None:
            body["pageSize"] = page_size
        self.control("POST", "regions", body)

    def regions(self) -> dict:
        """{"regions": [{"regionName", "regionOptStatus"}], "pageSize", "disabledRegions"}."""
        return self.control("GET", "regions")

    def disable_region(self, region: str) -> None:
        """GuardDuty answers every call signed for `region` UnrecognizedClientException."""
        self.control("POST", "disable-region", {"region": region})

    def enable_region(self, region: str) -> None:
        self.control("POST", "enable-region", {"region": region})

    def add_member_role(self, account: str, role: str, external_id: str | None = None) -> None:
        """A role AssumeRole can assume in `account` (`role`: name, or path and name)."""
        body = {"accountId": account, "role": role}
        if external_id is not None:
            body["externalId"] = external_id
        self.control("POST", "member-role", body)

    def add_member_detector(self, account: str, region: str, detector: str) -> None:
        self.control("POST", "member-detector", {"accountId": account, "region": region, "detectorId": detector})

    def add_invitation(self, account: str, region: str, from_account: str,
                       invitation_id: str | None = None) -> dict:
        """A pending invitation from `from_account` to `account` in `region`; answers it."""
        body = {"accountId": account, "region": region, "fromAccountId": from_account}
        if invitation_id is not None:
            body["invitationId"] = invitation_id
        return self.control("POST", "invitation", body)

    def invitations(self, account: str, region: str) -> list[dict]:
        """Pending invitations of `account` in `region`: [{accountId, invitationId, relationshipStatus, invitedAt}]."""
        return self.control("GET", f"invitations/{account}/{region}")

    def administrator_of(self, account: str, region: str) -> str | None:
        """The administrator whose invitation `account` accepted in `region`."""
        return self.control("GET", f"administrator/{account}/{region}")["administratorId"]

    def stop(self) -> None:
        _stop(self.proc)


class RuntimeApi:
    """`cargo lambda watch --only-lambda-apis`: the Lambda Runtime API and the
    Invoke API, without building or starting the function."""

    def __init__(self):
        self.log = tempfile.TemporaryFile()
        exe = cargo_lambda()
        self.proc, self.port = start_listening(
            lambda port: [exe, "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}/.rt"

    def invoke(self, payload: bytes | str | object, timeout: float = 120.0) -> tuple[int, dict, float]:
        """Invokes the function; returns (HTTP status, decoded body, seconds)."""
        if not isinstance(payload, (bytes, str)):
            payload = json.dumps(payload)
        if isinstance(payload, str):
            payload = payload.encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/2015-03-31/functions/_/invocations", data=payload, method="POST"
        )
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        elapsed = time.perf_counter() - start
        return status, json.loads(raw) if raw else None, elapsed

    def stop(self) -> None:
        _stop(self.proc)


def lambda_env(runtime_api: str, endpoint: str) -> dict[str, str]:
    """The environment Lambda gives a function, pointed at `runtime_api`, with
    every AWS service it calls at the emulator's `endpoint` and dummy
    credentials."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": "_",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_ENDPOINT_URL_GUARDDUTY": endpoint,
        "AWS_ENDPOINT_URL_ORGANIZATIONS": endpoint,
        "AWS_ENDPOINT_URL_ACCOUNT": endpoint,
        "AWS_ENDPOINT_URL_STS": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


class Function:
    """One `bootstrap` process, as Lambda starts it."""

    def __init__(self, runtime: RuntimeApi, endpoint: str, env: dict[str, str] | None = None,
                 bootstrap: Path | None = None):
        self.output = tempfile.NamedTemporaryFile(prefix="bootstrap-", suffix=".log")
        full_env = lambda_env(runtime.url, endpoint)
        full_env.update(env or {})
        self.runtime_port = runtime.port
        self.started = time.perf_counter()
        self.proc = _spawn(
            [str(bootstrap or BOOTSTRAP)],
            env=full_env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

    def wait_until_polling(self, timeout: float = 30.0) -> bool:
        """Waits until the process is done with init: it has connected to the
        Runtime API (for its first /next). False where that cannot be seen
        (no /proc); raises if it exits or does not get there in time."""
        deadline = time.monotonic() + timeout
        while True:
            connected = group_connected_to(self.proc.pid, self.runtime_port)
            if connected is None:
                return False
            if connected:
                return True
            if self.proc.poll() is not None:
                raise RuntimeError(f"bootstrap exited ({self.proc.returncode}) before polling: {self.logs()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"bootstrap did not poll the Runtime API in {timeout} s: {self.logs()}")
            time.sleep(0.02)

    def logs(self) -> str:
        self.output.flush()
        return Path(self.output.name).read_text(errors="replace")

    def stop(self) -> None:
        _stop(self.proc)


class Stack:
    """Emulator + Runtime API + function, started together, stopped together."""

    def __init__(self, emulator_args: tuple[str, ...] = ("--sample-org",), env: dict[str, str] | None = None):
        self.emulator = Emulator(*emulator_args)
        self.runtime: RuntimeApi | None = None
        self.env = env or {}
        self.function: Function | None = None
        try:
            self.runtime = RuntimeApi()
            self.start_function()
        except BaseException:
            self.stop()
            raise

    def start_function(self, env: dict[str, str] | None = None) -> Function:
        """Starts a fresh `bootstrap` (a cold start), replacing any running one."""
        if self.function:
            self.function.stop()
        self.function = Function(self.runtime, self.emulator.endpoint, {**self.env, **(env or {})})
        return self.function

    def invoke(self, payload, timeout: float = 120.0):
        return self.runtime.invoke(payload, timeout)

    def invoke_failing_init(self, payload, timeout: float = 60.0):
        """Invokes a function whose init fails, and returns the answer.

        A process that fails init reports it through /runtime/init/error and
        exits. cargo lambda hands that report to the invocation queued at
        that moment, and drops it when none is queued yet (the invocation may
        still be on its way, on a busy machine), so fresh processes are
        started, as Lambda would, until one's report answers it. Each must
        exit non-zero."""
        result = {}
        t = threading.Thread(target=lambda: result.update(r=self.invoke(payload, timeout=timeout)))
        t.start()
        deadline = time.monotonic() + timeout - 10
        while True:
            assert self.function.proc.wait(timeout=10) != 0, "init failed, so the process exits non-zero"
            t.join(timeout=0.5)
            if not t.is_alive() or time.monotonic() > deadline:
                break
            self.start_function()
        t.join(timeout=15)
        assert "r" in result, "the invocation was not answered"
        return result["r"]

    def stop(self) -> None:
        for part in (self.function, self.runtime, self.emulator):
            if part:
                part.stop()

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# The function's settings (README, "Settings") the demo passes on from its
# own environment, e.g. `MEMBER_ROLE_NAME=GuardDutyInviterMember scripts/demo`.
SETTINGS = (
    "GUARDDUTY_DETECTOR_ID", "REGIONS", "INVITATION_MESSAGE", "DISABLE_EMAIL_NOTIFICATION",
    "MAX_ACCOUNTS_PER_EVENT", "ORGANIZATIONS_CHECK", "ORGANIZATIONS_CACHE_SECONDS",
    "MAX_CALLS_IN_FLIGHT", "MEMBER_ROLE_NAME", "MEMBER_ROLE_EXTERNAL_ID", "ENABLE_MEMBER_DETECTORS",
)


def demo(event_file: str) -> int:
    """Starts the sample stack and invokes the function with `cargo lambda
    invoke --data-file`, as a user would; prints the response, and the
    function's own output (its summary line and metrics records) to stderr.
    The settings in SETTINGS come from this process's environment."""
    env = {name: os.environ[name] for name in SETTINGS if name in os.environ}
    with Stack(env=env) as stack:
        result = subprocess.run(
            [cargo_lambda(), "lambda", "invoke", "-A", "127.0.0.1", "-P", str(stack.runtime.port),
             "--data-file", event_file, "--output-format", "json"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        out = result.stdout.strip()
        try:
            print(json.dumps(json.loads(out), indent=2))
        except json.JSONDecodeError:
            print(out or result.stderr.strip())
        print("== the function's output (logs, metrics records)", file=sys.stderr)
        print(stack.function.logs() if stack.function else "", file=sys.stderr, end="")
        return result.returncode


if __name__ == "__main__":
    sys.exit(demo(sys.argv[1] if len(sys.argv) > 1 else "events/direct.json"))
