"""`openbsi nodes plan`: where to place magnetoelectric nodes for a set of target muscles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from openbsi.cli.apps import UserError, app, console

nodes_app = typer.Typer(help="Battery-free magnetoelectric nodes: placement planning.")
app.add_typer(nodes_app, name="nodes")


@nodes_app.command("plan")
def plan(
    targets: Annotated[
        str, typer.Option("--targets", help="comma-separated muscles, e.g. iliopsoas,vasti")
    ] = "iliopsoas,vasti,tibialis_anterior,gastrocnemius",
    n: Annotated[int, typer.Option("--n", help="number of nodes (even: mirrored L/R)")] = 6,
    depth_mm: Annotated[
        float, typer.Option("--depth-mm", help="tissue depth under the transmitter coil")
    ] = 30.0,
    out: Annotated[
        Path, typer.Option("--out", help="folder for the plan's program and layout")
    ] = Path("nodes-plan"),
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Choose node positions that maximise selectivity within each position's harvest."""
    from openbsi.runtime.node_plan import plan_nodes, plan_program
    from openbsi.stimulation.program import save_program

    names = tuple(t.strip() for t in targets.split(",") if t.strip())
    result = plan_nodes(names, n, depth_mm=depth_mm)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out: cannot create folder {out} ({error.strerror})") from None
    program_path = out / "program.yaml"
    save_program(plan_program(result), program_path)
    (out / "layout.json").write_text(json.dumps(result["nodes"], indent=1))
    result["program"] = str(program_path)
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"node plan, {n} nodes, {depth_mm:g} mm under the coil")
    for col in ("id", "side", "root", "y mm", "harvest uW", "mA", "target", "budget margin"):
        table.add_column(col)
    for node in result["nodes"]:
        margin = node["budget_margin"]
        table.add_row(
            node["id"],
            node["side"],
            node["root"],
            f"{node['y_mm']:.0f}",
            f"{node['harvest_uw']:.0f}",
            f"{node['amplitude_ma']:.2f}",
            str(node["target"]),
            "null" if margin is None else f"{margin:.2f}",
        )
    console.print(table)
    console.print(
        f"mean selectivity {result['mean_selectivity']:.3f} (evenly spaced: "
        f"{result['baseline_mean_selectivity']:.3f}); wrote {program_path}"
    )
