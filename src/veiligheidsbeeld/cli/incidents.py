"""Police incident commands (politie-intern): ``incidenten import``, ``incidenten status``, ``near-repeat``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from veiligheidsbeeld.cli.core import console, run_safely, settings_for
from veiligheidsbeeld.cli.options import WarehouseOpt


def incidenten_import(
    file: Annotated[Path, typer.Argument(help="CSV-, Excel- of Parquet-bestand met één rij per incident.")],
    synthetisch: Annotated[bool, typer.Option("--synthetisch", help="Markeer de import als synthetisch (test/demo).")] = False,
    warehouse: WarehouseOpt = None,
) -> None:
    """Importeer een incidentbestand in het lokale warehouse (kolommen volgens [incidenten].kolommen)."""
    from veiligheidsbeeld.incidents.importer import import_incidents

    result = run_safely(import_incidents, settings_for(warehouse), file, synthetic=synthetisch)
    console.print(result.summary(), soft_wrap=True, highlight=False)


def incidenten_status(warehouse: WarehouseOpt = None) -> None:
    """Toon de imports van incidentbestanden: bestand, moment, controlegetal, rijen en hoeveel nog gelden."""
    from veiligheidsbeeld.warehouse.queries import import_history
    from veiligheidsbeeld.warehouse.db import reader

    settings = settings_for(warehouse)

    def history():
        with reader(settings.paths.resolved().warehouse) as con:
            return import_history(con)

    frame = run_safely(history)
    if frame.empty:
        console.print("Nog geen incidentbestanden geïmporteerd ('veiligheidsbeeld incidenten import BESTAND').")
        return
    console.print("[bold]Incidentimports[/] (politie-intern)")
    for r in frame.itertuples():
        console.print(
            f"  {r.import_id}: {r.file_name}" + (" (SYNTHETISCH)" if r.synthetic else "")
            + f" — {r.imported_at:%d-%m-%Y %H:%M}, controlegetal {r.checksum}…; {r.rows_in_file} rijen, "
            f"{r.rows_imported} geïmporteerd, {r.rows_unusable} onbruikbaar, {r.current_rows} nog geldend; {r.coordinates}",
            soft_wrap=True, highlight=False,
        )


def near_repeat(
    input_file: Annotated[Optional[Path], typer.Argument(help="CSV/Excel/Parquet met x, y en datum per incident.")] = None,
    x: Annotated[str, typer.Option("--x", help="Kolom met de x-coördinaat (meters, bijv. RD).")] = "x",
    y: Annotated[str, typer.Option("--y", help="Kolom met de y-coördinaat (meters).")] = "y",
    datum: Annotated[str, typer.Option("--date", help="Kolom met de (begin)datum.")] = "datum",
    datum_tot: Annotated[
        Optional[str], typer.Option("--date-to", help="Kolom met de einddatum van een venster (het midden telt).")
    ] = None,
    distance_bands: Annotated[
        Optional[str], typer.Option("--distance-bands", help="Afstandsgrenzen, bijv. 0,1,100,200,300 (banden [a, b), de laatste open).")
    ] = None,
    time_bands: Annotated[
        Optional[str], typer.Option("--time-bands", help="Tijdsgrenzen in dagen, bijv. 0,7,14,21.")
    ] = None,
    metric: Annotated[Optional[str], typer.Option("--metric", help="manhattan of euclidean.")] = None,
    permutations: Annotated[Optional[int], typer.Option("--permutations", help="Aantal Monte Carlo-permutaties van de data.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Startwaarde van de toevalsgenerator.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Uitvoermap voor knox.csv en knox.png.")] = Path("near-repeat"),
    from_warehouse: Annotated[bool, typer.Option("--from-warehouse", help="De incidenten uit het warehouse gebruiken.")] = False,
    soort: Annotated[Optional[str], typer.Option("--type", help="Soort misdrijf (CBS-code) bij --from-warehouse.")] = None,
    since: Annotated[
        Optional[datetime], typer.Option("--since", formats=["%Y-%m-%d"], help="Vanaf deze datum (bij --from-warehouse; standaard een jaar terug).")
    ] = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Near-repeat-analyse (Knox-toets): waargenomen en verwachte paren per afstand- en tijdsband, Knox-ratio en p-waarde."""
    from veiligheidsbeeld.errors import ConfigError
    from veiligheidsbeeld.incidents import nearrepeat as nr

    settings = settings_for(warehouse)
    inc = settings.incidenten

    def run():
        d_edges = nr.parse_edges(distance_bands, "--distance-bands") if distance_bands else inc.afstandsbanden
        t_edges = nr.parse_edges(time_bands, "--time-bands") if time_bands else inc.tijdsbanden
        how = (metric or inc.metriek).lower()
        if how not in ("manhattan", "euclidean"):
            raise ConfigError(f"--metric '{metric}' bestaat niet: kies manhattan of euclidean.")
        common = dict(metric=how, permutations=permutations or inc.permutaties, seed=inc.seed if seed is None else seed)
        if from_warehouse:
            if input_file is not None:
                raise ConfigError("Geef een invoerbestand óf --from-warehouse, niet allebei.")
            code = soort or inc.woninginbraak_code
            start = since.date() if since else nr.default_since()
            frame, wide, synthetic = nr.warehouse_incidents(settings, code, start)
            notes = (f"{wide} incidenten met een pleegvenster van meer dan {inc.max_venster_dagen:g} dagen niet meegeteld.",) if wide else ()
            source = f"Incidenten {code} sinds {start:%d-%m-%Y} uit het warehouse" + (" (SYNTHETISCH)" if synthetic else "") + "; politie-intern."
            return nr.run_near_repeat(frame, out, d_edges, t_edges, title=f"Near-repeat {code}", source=source,
                                      synthetic=synthetic, notes=notes, **common)
        if input_file is None:
            raise ConfigError("Geef een invoerbestand (CSV) of --from-warehouse.")
        frame, skipped = nr.incidents_from_csv(input_file, x, y, datum, datum_tot, inc.datum_formaat)
        return nr.run_near_repeat(frame, out, d_edges, t_edges, title="Near-repeat (Knox-toets)",
                                  source=f"Bron: {input_file.name}.", skipped=skipped, **common)

    result = run_safely(run)
    k = result.result
    console.print(
        f"Knox-toets: {k.n_incidents} incidenten, {k.n_pairs} paren ({k.close_pairs} binnen {k.distance_edges[-1]:g} m), "
        f"{k.metric}, {k.permutations} permutaties, seed {k.seed}." + (" SYNTHETISCHE gegevens." if result.synthetic else ""),
        soft_wrap=True, highlight=False,
    )
    if result.skipped:
        console.print(f"{result.skipped} rijen zonder coördinaten of datum overgeslagen.")
    for note in result.notes:
        console.print(note, soft_wrap=True)
    table = Table("afstand", *[f"{c} d" for c in k.matrix("knox_ratio").columns], title="Knox-ratio (p-waarde)")
    ratio, pv = k.matrix("knox_ratio"), k.matrix("p_waarde")
    for label in ratio.index:
        table.add_row(label, *[f"{ratio.loc[label, c]:.2f} ({pv.loc[label, c]:.3f})" for c in ratio.columns])
    console.print(table)
    for path in result.files:
        console.print(str(path))
