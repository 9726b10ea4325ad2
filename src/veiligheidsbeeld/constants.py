"""Fixed names of the sources: catalogs, table ids, codes and the default significance level.

These are facts about the CBS and police data (or defaults of settings), not choices a user makes
per run: a user's choices live in :mod:`veiligheidsbeeld.config` (``veiligheidsbeeld.toml``), whose
defaults are taken from here. Every module names a table, a code or the level through these
constants, so that each is spelt out once.
"""

from __future__ import annotations

#: The CBS catalog that hosts the police tables ("Politie" catalog, third-party data).
POLITIE_CATALOG = "dataderden.cbs.nl"
#: The CBS catalog for CBS's own tables (population, dwellings, regional classifications).
CBS_CATALOG = "opendata.cbs.nl"

#: Police table: registered crime (misdrijven) per month, down to buurt level.
MISDRIJVEN_TABLE = "47022NED"
#: Police table: registered overlast (nuisance) per month, down to buurt level.
OVERLAST_TABLE = "47024NED"
#: Police table: registered crime per year and gemeente (codes the monthly table does not publish).
MISDRIJVEN_JAAR_TABLE = "47025NED"

#: The roll-up ("totaal") code of every police type dimension.
TOTAL_CODE = "0.0.0"
#: SoortMisdrijf: Diefstal/inbraak woning.
WONINGINBRAAK_CODE = "1.1.1"
#: Overlast: Melding overlast jeugd.
JEUGDOVERLAST_CODE = "E35"
#: Crime codes of 47022NED that the police do not publish in the monthly table (no values in any
#: month of the real national series 2012–2023): never usable as monthly codes of a group.
UNPUBLISHED_CODES: tuple[str, ...] = ("1.4.1", "3.2.1", "3.2.2", "3.7.3")
#: The national region code of the monthly police tables (WijkenEnBuurten) ...
NATIONAL_CODE = "NL00"
#: ... and of the yearly table and the CBS tables (RegioS).
NATIONAL_CODE_REGIOS = "NL01"

#: Region levels of the warehouse (regions.level).
REGION_LEVELS: tuple[str, ...] = ("NL", "GM", "WK", "BU")
#: Levels at which a data-check finding concerns a figure that reports show directly.
REPORT_LEVELS: tuple[str, ...] = ("NL", "GM")
#: Boundary levels of sources.boundaries (its ``Level``).
BOUNDARY_LEVELS: tuple[str, ...] = ("gemeente", "veiligheidsregio", "wijk", "buurt")
#: Keys of the gemeente denominator tables of sources.denominators (its ``GEMEENTE_TABLES``).
DENOMINATOR_TABLES: tuple[str, ...] = ("bevolking", "bevolking_maand", "huishoudens", "woningvoorraad")

#: The default level of a single test (the intervals are 1 - alpha). The one level every report
#: uses is ``[statistiek] alpha``; this is its default, and the default of functions that take one.
ALPHA = 0.05
