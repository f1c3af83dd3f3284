"""One step of a benchmark run in a process of its own, so that its memory figures are its own: building a database
(`build`) or measuring one (`measure`). `python -m benchmarks` starts these; they write their result as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from benchmarks.databases import BenchDatabase

ROOT = Path(__file__).resolve().parent.parent


def _target(backend: str, cases: int, seed: int, workdir: str, generator: str) -> BenchDatabase:
    return BenchDatabase(backend=backend, cases=cases, seed=seed, workdir=Path(workdir), generator=generator)


def _common(command):
    for option in reversed((
        click.option("--backend", required=True, type=click.Choice(["sqlite", "postgresql"])),
        click.option("--cases", required=True, type=int),
        click.option("--seed", required=True, type=int),
        click.option("--workdir", required=True),
        click.option("--generator", required=True, type=click.Choice(["synth", "demo"])),
        click.option("--json", "json_path", required=True, type=click.Path(dir_okay=False)),
    )):
        command = option(command)
    return command


def run_step(step: str, target: BenchDatabase, *extra: str) -> dict:
    """Run `python -m benchmarks.worker <step>` for `target` and return the JSON it writes."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable, "-m", "benchmarks.worker", step, "--backend", target.backend, "--cases",
            str(target.cases), "--seed", str(target.seed), "--workdir", str(target.workdir), "--generator",
            target.generator, "--json", str(out), *extra,
        ]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        done = subprocess.run(command, env=env, cwd=ROOT, check=False)  # noqa: S603 - our own module, no shell
        if done.returncode != 0 or not out.exists():
            raise click.ClickException(f"{step} of {target.name} failed (exit {done.returncode})")
        return json.loads(out.read_text())


@click.group()
def cli():
    pass


@cli.command()
@_common
def build(backend, cases, seed, workdir, generator, json_path):
    from benchmarks.population import build as build_database

    target = _target(backend, cases, seed, workdir, generator)
    with click.progressbar(length=cases, label=f"building {target.name}", file=sys.stderr) as bar:
        facts = build_database(target, progress=bar.update)  # synth.build reports cases written since last call
        bar.update(cases - bar.pos)  # the demo generator reports nothing until it is done
    Path(json_path).write_text(json.dumps(facts))


@cli.command()
@_common
@click.option("--repeat", required=True, type=int)
@click.option("--budget", required=True, type=float)
def measure(backend, cases, seed, workdir, generator, json_path, repeat, budget):
    from benchmarks.measure import measure as measure_database

    target = _target(backend, cases, seed, workdir, generator)
    result = measure_database(target, repeat, seed, budget)
    result["build"] = target.marker()
    Path(json_path).write_text(json.dumps(result))


if __name__ == "__main__":
    cli()
