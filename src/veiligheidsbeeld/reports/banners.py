"""Which warnings a report page shows, grouped by what they mean, and where.

One missing month used to give a banner per gemeente ("GM0153 mist 1 maand(en)…") plus "nog 9
waarschuwingen" before the first finding; the annual analysis opened with a full screen of
banners about a month none of its figures used. Here:

* warnings are **grouped by meaning**: every "month X is missing for region R" becomes one banner
  per set of months and regions -- "juni 2023 ontbreekt voor alle 14 gemeenten";
* a banner **touches a figure** when the figure uses one of its months (a warning without months
  concerns every figure); only those are shown on the first screen, the **most important first**
  (:mod:`veiligheidsbeeld.analysis.findings`), at most :data:`FIRST_SCREEN`;
* the **full list** is one click away (a ``<details>`` element), with a note on the banners no
  figure uses; next to a figure, :meth:`BannerView.notes_for` gives the banners that touch it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from veiligheidsbeeld.formatting import fmt_month

#: At most this many banners above the first finding; the rest is one click away.
FIRST_SCREEN = 3

MONTH_CONSEQUENCE = ("Perioden met deze maand zijn onvolledig: hun totaal wordt niet als getal getoond en niet "
                     "getoetst, en in de grafieken is de maand gemarkeerd.")


@dataclass(frozen=True)
class Banner:
    """One banner: a Dutch text, how important (1 first), and the months it concerns (empty: all)."""

    text: str
    importance: int
    months: tuple[date, ...] = ()
    touches: bool = True  # a figure on the page uses one of its months (or it has none)
    short: str = ""  # the few words said next to a figure it touches

    def touches_months(self, months: Iterable[date]) -> bool:
        return not self.months or bool(set(self.months) & set(months))


@dataclass(frozen=True)
class BannerView:
    """The banners of one page: the first screen, and every banner (the full list)."""

    first: tuple[Banner, ...]
    all: tuple[Banner, ...]

    @property
    def more(self) -> int:
        return len(self.all) - len(self.first)

    def notes_for(self, months: Iterable[date]) -> list[str]:
        """Short notes for a figure that uses ``months``: the grouped month banners touching it."""
        wanted = set(months)
        return [b.short for b in self.all if b.short and b.months and set(b.months) & wanted]


def _months_text(months: Sequence[date]) -> str:
    """'juni 2023', 'juni en juli 2023', 'november 2022, juni en juli 2023'."""
    by_year: dict[int, list[date]] = {}
    for m in sorted(months):
        by_year.setdefault(m.year, []).append(m)
    parts = []
    for year, ms in by_year.items():
        names = [fmt_month(m).rsplit(" ", 1)[0] for m in ms]
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " en " + names[-1]
        parts.append(f"{joined} {year}")
    return ", ".join(parts)


def _regions_text(regions: Sequence[str], scope: Sequence[str], names: Mapping[str, str]) -> str:
    if scope and set(scope) <= set(regions):
        return f"alle {len(scope)} gemeenten" if len(scope) > 1 else names.get(scope[0], scope[0])
    shown = sorted(names.get(r, r) for r in regions)
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " en " + shown[-1]
    return f"{listed} ({len(regions)} van de {len(scope)} gemeenten)" if scope else listed


def arrange(
    warnings: Sequence,
    *,
    district_code: str | None,
    scope: Sequence[str],
    names: Mapping[str, str],
    used_months: Iterable[date] | None = None,
    first_screen: int = FIRST_SCREEN,
) -> BannerView:
    """Group the warnings of a page (``ReportWarning``-like: ``message``, ``district_code``,
    ``kind``, ``months``, ``regions``, ``importance``) and choose the first screen.

    ``district_code``: the page's district (None: the eenheid, every warning). ``scope``: the
    gemeenten the page covers; ``names``: gemeente names. ``used_months``: the months the page's
    figures use (None: every month)."""
    own = [w for w in warnings if district_code is None or getattr(w, "district_code", None) in (None, district_code)]
    scope = list(scope)
    # Months missing per gemeente (from the data checks) and in all data (from the analysis).
    missing: dict[date, set[str]] = {}
    others: list[Banner] = []
    seen: set[str] = set()
    for w in own:
        kind = getattr(w, "kind", "")
        months = tuple(getattr(w, "months", ()) or ())
        regions = tuple(getattr(w, "regions", ()) or ())
        if kind == "missing_month" and months:
            gemeenten = [r for r in regions if r.startswith("GM")]
            if regions and not gemeenten:
                # NL00 or a wijk lacks the month: no gemeente figure misses it; keep the finding itself.
                pass
            else:
                for m in months:
                    missing.setdefault(m, set()).update(gemeenten or scope)
                continue
        if w.message in seen:
            continue
        seen.add(w.message)
        others.append(Banner(w.message, int(getattr(w, "importance", 3)), months))

    used = None if used_months is None else set(used_months)
    # Months missing for the same gemeenten share a banner -- unless a figure uses one and not the
    # other: a month no figure uses must not ride along on the first screen.
    grouped: dict[tuple[frozenset[str], bool], list[date]] = {}
    for month, regions in missing.items():
        in_scope = frozenset(r for r in regions if not scope or r in scope)
        if in_scope:
            grouped.setdefault((in_scope, used is None or month in used), []).append(month)
    banners: list[Banner] = []
    for (regions, _), months in grouped.items():
        months = sorted(months)
        verb = "ontbreekt" if len(months) == 1 else "ontbreken"
        what = f"{_months_text(months)} {verb} voor {_regions_text(sorted(regions), scope, names)}"
        # Month names stay lower case, as in Dutch; the banner's label ("Onvolledige gegevens:") leads.
        banners.append(Banner(f"{what} in de gegevens. {MONTH_CONSEQUENCE}", 2, tuple(months),
                              short=f"{what}: perioden met die maand zijn niet getoetst."))
    banners += others

    marked = []
    for b in banners:
        touches = used is None or b.touches_months(used)
        text = b.text if touches else f"{b.text} (Geen figuur in dit rapport gebruikt deze maand.)"
        marked.append(Banner(text, b.importance, b.months, touches, b.short if touches else ""))
    marked.sort(key=lambda b: (not b.touches, b.importance, b.months[:1] or (date.max,)))
    first = tuple(b for b in marked if b.touches)[:first_screen]
    return BannerView(first, tuple(marked))
