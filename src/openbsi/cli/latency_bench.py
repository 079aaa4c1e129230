"""`openbsi bench latency`: compute latency per hop of the loop, and what LSL adds."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from openbsi.cli.apps import SEED_MAX, bench_app, bounded, console, parse_int_list


@bench_app.command("latency")
def bench_latency_command(
    channels: str = typer.Option("64,256,1024", "--channels", help="Channel counts, e.g. 64,256."),
    transport: str = typer.Option("inproc,lsl", "--transport", help="inproc and/or lsl."),
    ticks: int = bounded(
        600, "--ticks", low=1, high=1_000_000, help="Decode ticks per channel count."
    ),
    seed: int = bounded(0, "--seed", low=0, high=SEED_MAX),
    realtime: bool = typer.Option(
        False,
        "--realtime",
        help="Also compare the default against SCHED_FIFO/affinity/mlockall/gc settings, "
        "both under a bounded competing CPU load (--load-processes busy processes).",
    ),
    load_processes: int = bounded(
        2, "--load-processes", low=0, high=16, help="Competing busy processes."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """p50/p99/max latency of each hop (in process) and of LSL transport on loopback."""
    from openbsi.runtime.bench_latency import bench_latency

    counts = parse_int_list(channels, "--channels")
    transports = [t.strip() for t in transport.split(",") if t.strip()]
    with console.status("benchmarking") as status:
        result = bench_latency(
            counts,
            transports,
            n_ticks=ticks,
            seed=seed,
            progress=lambda text: status.update(text),
            realtime=realtime,
            load_processes=load_processes,
        )
    if json_out:
        print(json.dumps(result))
        return
    table = Table(title="OpenBSI latency (ms): p50 / p99 / max")
    table.add_column("transport")
    table.add_column("channels", justify="right")
    table.add_column("hop")
    table.add_column("p50 / p99 / max", justify="right")
    for kind, by_channels in result.items():
        if kind == "realtime":
            continue
        for n, hops in by_channels.items():
            for hop, s in hops.items():
                table.add_row(
                    kind, n, hop, f"{s['p50_ms']:.3f} / {s['p99_ms']:.3f} / {s['max_ms']:.3f}"
                )
    for n, comparison in result.get("realtime", {}).items():
        for mode in ("default", "realtime"):
            s = comparison[mode]["end_to_end"]
            table.add_row(
                f"under load: {mode}",
                n,
                "end_to_end",
                f"{s['p50_ms']:.3f} / {s['p99_ms']:.3f} / {s['max_ms']:.3f}",
            )
        settings = comparison["settings"] or {}
        for what, why in settings.get("not_applied", {}).items():
            console.print(f"realtime: could not set {what} ({why})")
    console.print(table)
