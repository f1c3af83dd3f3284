"""`python -m benchmarks`: build (or reuse) a database per backend and size, measure it, print the tables and the
targets. Each build and each measurement runs in a process of its own, so their memory figures are their own."""

from __future__ import annotations

import json
from pathlib import Path

import click

from benchmarks import report
from benchmarks.databases import BACKENDS, POSTGRES_ADMIN_URL, BenchDatabase, generator
from benchmarks.worker import ROOT, run_step


def _ints(value: str) -> list[int]:
    try:
        sizes = [int(v.replace("_", "")) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter("give sizes as whole numbers, e.g. 1000,10000") from None
    if not sizes or min(sizes) < 1:
        raise click.BadParameter("give at least one size of 1 or more")
    return sizes


def _backends(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = set(names) - set(BACKENDS)
    if unknown or not names:
        raise click.BadParameter(f"choose from {', '.join(BACKENDS)}")
    return names


@click.command()
@click.option("--cases", "sizes", default="1000", show_default=True, callback=lambda _c, _p, v: _ints(v),
              help="Database sizes, comma-separated, e.g. 1000,10000,100000.")
@click.option("--backends", default="sqlite,postgresql", show_default=True, callback=lambda _c, _p, v: _backends(v))
@click.option("--repeat", default=50, show_default=True, help="Timed requests per page (p95 needs 20 or more).")
@click.option("--budget", default=60.0, show_default=True,
              help="Seconds of timing per page; a slower page gets fewer samples (at least 3).")
@click.option("--seed", default=2026, show_default=True, help="Seed of the synthetic data and of the sampling.")
@click.option("--workdir", default=str(ROOT / "instance" / "benchmarks"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Where databases and their keys are kept.")
@click.option("--generator", "chosen", type=click.Choice(["auto", "synth", "demo"]), default="auto",
              show_default=True, help="auto: the bulk generator casemgmt.synth if present, else the ORM demo.")
@click.option("--rebuild", is_flag=True, help="Build the databases again even when a finished build exists.")
@click.option("--drop-after", is_flag=True, help="Drop the databases (and their keys) when done.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write every figure as JSON here.")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), help="Write the tables here too.")
def main(sizes, backends, repeat, budget, seed, workdir, chosen, rebuild, drop_after, out, markdown):
    """Measure casemgmt in-process at each size on each backend; see docs/benchmarks.md."""
    if repeat < 3:
        raise click.BadParameter("at least 3", param_hint="--repeat")
    gen = generator() if chosen == "auto" else chosen
    workdir = workdir.resolve()
    facts = report.machine(POSTGRES_ADMIN_URL if "postgresql" in backends else None)
    click.echo(f"Machine: {report.describe_machine(facts)}", err=True)
    results, targets = [], [BenchDatabase(b, n, seed, workdir, gen) for b in backends for n in sizes]
    try:
        for target in targets:
            if rebuild or target.marker() is None:
                built = run_step("build", target)
                click.echo(f"built {target.name} in {built['seconds']} s (peak RSS {built['peak_rss_mb']} MB)",
                           err=True)
            click.echo(f"measuring {target.name} ({repeat} requests per page)", err=True)
            results.append(run_step("measure", target, "--repeat", str(repeat), "--budget", str(budget)))
    finally:
        if drop_after:
            for target in targets:
                target.drop()
    tables = report.tables(results)
    verdicts = report.targets(results)
    click.echo(tables)
    click.echo("Targets (issue 5):")
    click.echo("\n".join(verdicts))
    if out:
        out.write_text(json.dumps({"machine": facts, "results": results, "targets": verdicts}, indent=2) + "\n")
    if markdown:
        markdown.write_text(f"Machine: {report.describe_machine(facts)}\n\n{tables}\n```\n" + "\n".join(verdicts)
                            + "\n```\n")


if __name__ == "__main__":
    main()
