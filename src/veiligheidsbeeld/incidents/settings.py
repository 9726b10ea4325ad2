"""Settings of the incident module (TOML section ``[incidenten]``), validated once at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field

from veiligheidsbeeld.constants import ALPHA, WONINGINBRAAK_CODE
from veiligheidsbeeld.errors import ConfigError

#: The roles the import understands, and the column each is read from by default. Every export
#: names its columns differently, so each role can be mapped in ``[incidenten].kolommen``.
DEFAULT_COLUMNS: dict[str, str] = {
    "registratie_id": "registratienummer",
    "soort": "soort_misdrijf",
    "pleegdatum_van": "pleegdatum_van",
    "pleegdatum_tot": "pleegdatum_tot",
    "x": "x",
    "y": "y",
    "lon": "",
    "lat": "",
    "buurt_code": "buurtcode",
}
#: Roles that must be mapped to a column of the file.
REQUIRED_ROLES = ("registratie_id", "soort", "pleegdatum_van")
METRICS = ("manhattan", "euclidean")
HOTSPOT_LEVELS = ("grid", "buurt")


def _default_columns() -> dict[str, str]:
    return dict(DEFAULT_COLUMNS)


@dataclass(frozen=True)
class IncidentSettings:
    """How incident extracts are read and analysed (``[incidenten]`` in veiligheidsbeeld.toml)."""

    #: Role -> column name in the export (see DEFAULT_COLUMNS). An empty name: the role is absent.
    #: Either x/y (RD New, EPSG:28992) or lon/lat (WGS84) must be mapped.
    kolommen: dict[str, str] = field(default_factory=_default_columns)
    #: The export's own classification -> CBS SoortMisdrijf code ("Inbraak woning" = "1.1.1").
    #: Values not in the mapping must already be CBS codes.
    soort_mapping: dict[str, str] = field(default_factory=dict)
    #: strftime format of the date columns; empty: ISO dates or day-first (31-12-2024) dates.
    datum_formaat: str = ""
    #: CSV separator; empty: detected (; or ,).
    csv_scheidingsteken: str = ""
    #: Grid cell size in metres for maps and hotspots (confidentiality: never finer than 100 m).
    cel_grootte_m: int = 200
    #: Hotspots on "grid" cells or on "buurt" polygons (needs buurt boundaries in the warehouse).
    hotspot_niveau: str = "grid"
    hotspot_alpha: float = ALPHA
    #: Permutations for PySAL's pseudo p-value (reported only; the classes use the normal p-value).
    hotspot_permutaties: int = 0
    #: The crime code of the biweekly section and the near-repeat alert.
    woninginbraak_code: str = WONINGINBRAAK_CODE
    #: Knox test defaults (edges; the last band of each dimension is open).
    afstandsbanden: tuple[float, ...] = (0.0, 1.0, 100.0, 200.0, 300.0, 400.0)
    tijdsbanden: tuple[float, ...] = (0.0, 7.0, 14.0, 21.0, 28.0)
    metriek: str = "manhattan"
    permutaties: int = 99
    seed: int = 1
    #: Incidents whose pleegdatum window is wider than this many days are left out of the Knox
    #: test (their midpoint is too uncertain for day bands); 0 = keep all.
    max_venster_dagen: float = 14.0
    #: Near-repeat alert: days of history the Knox test of the alert uses, and what counts as
    #: raised risk in a cell (Knox ratio at least this, p-value at most alert_alpha).
    alert_historie_dagen: int = 365
    alert_min_ratio: float = 1.2
    alert_alpha: float = ALPHA
    #: Drop folder watched by the import flow; empty: data/incidenten/inbox.
    drop_map: str = ""

    def __post_init__(self) -> None:
        # A partial mapping in the TOML changes only the roles it names.
        object.__setattr__(self, "kolommen", {**DEFAULT_COLUMNS, **dict(self.kolommen)})
        object.__setattr__(self, "afstandsbanden", tuple(float(e) for e in self.afstandsbanden))
        object.__setattr__(self, "tijdsbanden", tuple(float(e) for e in self.tijdsbanden))

    def column(self, role: str) -> str:
        return (self.kolommen.get(role) or "").strip()

    def validate(self) -> IncidentSettings:
        unknown = set(self.kolommen) - set(DEFAULT_COLUMNS)
        if unknown:
            raise ConfigError(
                f"[incidenten].kolommen kent de rol(len) {', '.join(sorted(unknown))} niet; "
                f"geldig: {', '.join(DEFAULT_COLUMNS)}."
            )
        for role in REQUIRED_ROLES:
            if not self.column(role):
                raise ConfigError(f"[incidenten].kolommen: de rol '{role}' moet aan een kolom gekoppeld zijn.")
        has_xy = bool(self.column("x") and self.column("y"))
        has_ll = bool(self.column("lon") and self.column("lat"))
        if not (has_xy or has_ll):
            raise ConfigError("[incidenten].kolommen: koppel x en y (RD New) of lon en lat (WGS84).")
        if not 100 <= self.cel_grootte_m <= 250:
            raise ConfigError(
                f"[incidenten].cel_grootte_m is {self.cel_grootte_m}; kies 100 t/m 250 meter "
                "(fijner kan tot adressen herleidbaar zijn, grover verbergt patronen)."
            )
        if self.hotspot_niveau not in HOTSPOT_LEVELS:
            raise ConfigError("[incidenten].hotspot_niveau moet 'grid' of 'buurt' zijn.")
        if self.metriek not in METRICS:
            raise ConfigError("[incidenten].metriek moet 'manhattan' of 'euclidean' zijn.")
        check_bands(self.afstandsbanden, "afstandsbanden")
        check_bands(self.tijdsbanden, "tijdsbanden")
        for name in ("hotspot_alpha", "alert_alpha"):
            if not 0 < getattr(self, name) < 0.5:
                raise ConfigError(f"[incidenten].{name} moet tussen 0 en 0,5 liggen.")
        if self.permutaties < 9 or self.hotspot_permutaties < 0:
            raise ConfigError("[incidenten]: permutaties minstens 9, hotspot_permutaties niet negatief.")
        if self.alert_historie_dagen < 30 or self.alert_min_ratio <= 1 or self.max_venster_dagen < 0:
            raise ConfigError(
                "[incidenten]: alert_historie_dagen minstens 30, alert_min_ratio groter dan 1, "
                "max_venster_dagen niet negatief."
            )
        return self


def check_bands(edges: tuple[float, ...] | list[float], what: str) -> tuple[float, ...]:
    """Band edges: at least two, non-negative, strictly increasing."""
    values = tuple(float(e) for e in edges)
    if len(values) < 2:
        raise ConfigError(f"{what}: geef minstens twee grenzen (bijv. 0,100,200).")
    if values[0] < 0 or any(b <= a for a, b in zip(values, values[1:])):
        raise ConfigError(f"{what}: de grenzen moeten niet-negatief en strikt oplopend zijn ({', '.join(map(str, edges))}).")
    return values
