"""`python -m benchmarks.load`: throughput under concurrency. gunicorn (config/gunicorn.conf.py, 2 sync workers) on
127.0.0.1, driven by locust headless (benchmarks/locustfile.py); then every write the server acknowledged is looked
up in the database, and each worker's peak memory is reported."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import click
from sqlalchemy import func, select

from benchmarks.databases import PASSWORD, BenchDatabase, generator
from benchmarks.memory import children, peak_rss_mb
from benchmarks.worker import ROOT, run_step
from casemgmt.access.policies import case_scope_filter
from casemgmt.accounts.models import User
from casemgmt.cases import identity
from casemgmt.cases.models import Case, StageChange
from casemgmt.extensions import db

ACCOUNTS = ("supervisor", "caseworker", "supervisor2", "caseworker2")
SAMPLE_CASES, SAMPLE_NAMES = 200, 40


def fixture(target: BenchDatabase) -> dict:
    """What the simulated users need to know: for each account, case ids in its scope and names to search for."""
    app = target.app()
    scopes = {}
    with app.test_request_context():
        page_size = app.config["SETTINGS"].page_size
        for username in ACCOUNTS:
            user = db.session.scalar(select(User).where(User.username == username))
            if user is None:
                continue
            ids = list(db.session.scalars(select(Case.id).where(case_scope_filter(user)).order_by(Case.created_at)))
            if not ids:
                continue
            step = max(1, len(ids) // SAMPLE_CASES)
            sampled = ids[::step][:SAMPLE_CASES]
            names = []
            for case_id in sampled[:: max(1, len(sampled) // SAMPLE_NAMES)][:SAMPLE_NAMES]:
                case = db.session.get(Case, case_id)
                names.append((identity.display_name(identity.read_identity(case.person)), case.reference))
            scopes[username] = {"case_ids": sampled, "names": names, "pages": max(1, math.ceil(len(ids) / page_size))}
        db.session.rollback()
        db.engine.dispose()
    return {"accounts": list(scopes), "scopes": scopes, "password": PASSWORD}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WorkerMemory(threading.Thread):
    """Polls gunicorn's workers (children of the master) for their peak resident memory (VmHWM) while they live:
    a recycled worker's figure would be lost if only read at the end."""

    def __init__(self, master: int):
        super().__init__(daemon=True)
        self.master = master
        self.peaks: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for pid in children(self.master):
                peak = peak_rss_mb(pid)
                if peak is not None:
                    self.peaks[pid] = max(peak, self.peaks.get(pid, 0))
            self.done.wait(0.5)


def _wait_until_up(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise click.ClickException(f"gunicorn exited with {server.returncode}; see its log")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310 - our own server
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise click.ClickException("gunicorn did not answer in time")


def _stats(prefix: Path) -> dict:
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))  # noqa: SIM115 - small file, read once
    by_name = {}
    for row in rows:
        figures = {
            "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "rps": round(float(row["Requests/s"]), 1), "p50_ms": _ms(row["50%"]), "p95_ms": _ms(row["95%"]),
        }
        by_name["all" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"] = figures
    return by_name


def _ms(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


def verify_writes(target: BenchDatabase, acks_path: Path) -> dict:
    """Each acknowledged creation must exist, and each acknowledged stage move must be in the case's history."""
    acks = [json.loads(line) for line in acks_path.read_text().splitlines() if line.strip()]
    created = {a["case_id"] for a in acks if a["kind"] == "create"}
    moves = Counter((a["case_id"], a["to_stage"]) for a in acks if a["kind"] == "stage")
    app = target.app()
    lost = []
    with app.app_context():
        found = set(db.session.scalars(select(Case.id).where(Case.id.in_(created)))) if created else set()
        lost += [f"case {c} missing" for c in sorted(created - found)]
        for (case_id, stage), count in sorted(moves.items()):
            saved = db.session.scalar(select(func.count()).where(StageChange.case_id == case_id,
                                                                 StageChange.to_stage == stage))
            if saved < count:
                lost.append(f"case {case_id}: {count - saved} of {count} moves to {stage} missing")
        db.session.remove()
        db.engine.dispose()
    return {"cases_created": len(created), "stage_changes": sum(moves.values()), "lost": lost}


def run_load(target: BenchDatabase, users: int, duration: int, wait: str, workdir: Path) -> dict:
    facts = fixture(target)
    load_before = os.getloadavg()[0]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "fixture.json").write_text(json.dumps(facts))
        acks = tmp_path / "acks.jsonl"
        acks.touch()
        log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 - kept open while the server runs
        locust_log = open(workdir / "locust.log", "w")  # noqa: SIM115 - closed with the server's
        env = {**os.environ, **target.environ(), "GUNICORN_WORKERS": "2", "GUNICORN_BIND": f"127.0.0.1:{port}",
               "PYTHONPATH": str(ROOT)}
        config = ROOT / "config" / "gunicorn.conf.py"
        server = subprocess.Popen(  # noqa: S603 - our own server, no shell
            [sys.executable, "-m", "gunicorn", "-c", str(config), "casemgmt:create_app()"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        memory = WorkerMemory(server.pid)
        try:
            _wait_until_up(url, server)
            memory.start()
            locust = subprocess.run(  # noqa: S603 - our own locustfile, no shell
                [sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"), "--headless",
                 "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{duration}s", "--host", url,
                 "--csv", str(tmp_path / "locust"), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"],
                cwd=ROOT, env={**os.environ, "BENCH_FIXTURE": str(tmp_path / "fixture.json"), "BENCH_ACKS": str(acks),
                               "BENCH_WAIT": wait},
                stdout=locust_log, stderr=subprocess.STDOUT, check=False,
            )
        finally:
            memory.done.set()
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
            locust_log.close()
        if not Path(f"{tmp_path / 'locust'}_stats.csv").exists():
            tail = (workdir / "locust.log").read_text()[-2000:]
            raise click.ClickException(f"locust produced no statistics (exit {locust.returncode}):\n{tail}")
        stats = _stats(tmp_path / "locust")
        writes = verify_writes(target, acks)
    total = stats["all"]
    return {
        "backend": target.backend, "cases": target.cases, "users": users, "duration_s": duration, "wait_s": wait,
        "requests": total["requests"], "rps": total["rps"], "p50_ms": total["p50_ms"], "p95_ms": total["p95_ms"],
        "errors": total["failures"], "locust_exit": locust.returncode, "by_request": stats, "writes": writes,
        "worker_peak_rss_mb": sorted(memory.peaks.values(), reverse=True),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def render(result: dict) -> str:
    lines = [
        f"Load test: {result['backend']}, {result['cases']:,} cases, {result['users']} users for "
        f"{result['duration_s']} s (think time {result['wait_s']} s), gunicorn 2 sync workers",
        f"  {result['requests']:,} requests, {result['rps']} requests/s, p50 {result['p50_ms']} ms, "
        f"p95 {result['p95_ms']} ms, errors {result['errors']}",
        f"  writes acknowledged: {result['writes']['cases_created']} cases created, "
        f"{result['writes']['stage_changes']} stage changes; missing from the database: "
        f"{len(result['writes']['lost'])}",
        f"  load average before / after: {' / '.join(str(x) for x in result['load_average'])} "
        f"({os.cpu_count()} CPUs, shared with locust and the database)",
        "  worker peak RSS (each worker process seen): "
        + ", ".join(f"{mb} MB" for mb in result["worker_peak_rss_mb"]),
        "",
        "| Request | Count | Failures | req/s | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in sorted(result["by_request"].items()):
        lines.append(f"| {name} | {s['requests']:,} | {s['failures']} | {s['rps']} | {s['p50_ms']} | {s['p95_ms']} |")
    return "\n".join(lines)


def verdicts(result: dict) -> list[str]:
    peak = max(result["worker_peak_rss_mb"], default=None)
    checks = [
        (result["errors"] == 0 and result["locust_exit"] == 0, f"zero errors ({result['errors']})"),
        (not result["writes"]["lost"], f"every acknowledged write is in the database "
                                       f"({len(result['writes']['lost'])} missing)"),
        (peak is not None and peak < 300, f"each worker under 300 MB (highest {peak} MB)"),
    ]
    return [f"{'PASS' if ok else 'MISS'}  {text}" for ok, text in checks]


@click.command()
@click.option("--cases", default=10_000, show_default=True)
@click.option("--backend", type=click.Choice(["sqlite", "postgresql"]), default="postgresql", show_default=True)
@click.option("--users", default=20, show_default=True)
@click.option("--duration", default=60, show_default=True, help="Seconds of load.")
@click.option("--wait", default="0.1,0.5", show_default=True,
              help="Each user's think time between requests, min,max in seconds.")
@click.option("--seed", default=2026, show_default=True)
@click.option("--workdir", default=str(ROOT / "instance" / "benchmarks"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--generator", "chosen", type=click.Choice(["auto", "synth", "demo"]), default="auto", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the figures as JSON here.")
@click.option("--drop-after", is_flag=True, help="Drop the database (and its keys) when done.")
def main(cases, backend, users, duration, wait, seed, workdir, chosen, out, drop_after):
    """Load-test casemgmt under gunicorn with locust; see docs/benchmarks.md."""
    gen = generator() if chosen == "auto" else chosen
    target = BenchDatabase(backend, cases, seed, workdir.resolve(), gen)
    try:
        if target.marker() is None:
            run_step("build", target)
        result = run_load(target, users, duration, wait, target.workdir)
    finally:
        if drop_after:
            target.drop()
    checks = verdicts(result)
    click.echo(render(result))
    click.echo("\n".join(checks))
    if out:
        out.write_text(json.dumps({**result, "verdicts": checks}, indent=2) + "\n")
    if any(line.startswith("MISS") for line in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
