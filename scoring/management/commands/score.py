"""Score a year: ``manage.py score --year Y [--cutoff DATE] [--region CODE] [--format json|table]``.

``--format json`` prints exactly the JSON of SPEC §6 (the same bytes as ``GET /api/v1/scores/Y/``);
the default is a readable table. ``--freeze`` freezes a year whose cutoff has passed and
``--verify-frozen`` re-scores a frozen year and compares bytes and the inputs hash.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cases.errors import CaseError
from cases.models import local_date
from scoring import services
from scoring.ladders import points_str
from scoring.results import find_county, score_year
from scoring.scope import parse_cutoff


class Command(BaseCommand):
    help = "Score a year's assessment (SPEC §6) and print the JSON or a table."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--cutoff", help="YYYY-MM-DD within the year (default: the assessment's, else 12-20)")
        parser.add_argument("--region", help="GB/T 2260 code or name of one county")
        parser.add_argument(
            "--rule-set", dest="rule_set", help="rule set code (default: the assessment's, else xinyang-2012)"
        )
        parser.add_argument("--format", choices=["json", "table"], default="table")
        parser.add_argument("--freeze", action="store_true", help="freeze the year's result (after its cutoff)")
        parser.add_argument("--verify-frozen", action="store_true", help="re-score a frozen year and compare")

    def handle(self, *args, **options):
        year = options["year"]
        try:
            if options["freeze"]:
                assessment = services.freeze(year)
                # freeze returns the year frozen (now or before), so frozen_at is set.
                frozen_at = assessment.frozen_at.isoformat()  # type: ignore[union-attr]
                self.stdout.write(f"frozen {year} at {frozen_at} inputs {assessment.inputs_hash}")
                return
            if options["verify_frozen"]:
                same_bytes, same_hash = services.verify_frozen(year)
                self.stdout.write(f"same bytes: {same_bytes}; same inputs hash: {same_hash}")
                if not (same_bytes and same_hash):
                    raise CommandError("the frozen result does not match a re-scoring")
                return
            cutoff = parse_cutoff(options["cutoff"], year)
            codes = [find_county(options["region"]).code] if options["region"] else None
            if options["format"] == "json":
                data = services.frozen_or_live_bytes(
                    year, cutoff=cutoff, region_codes=codes, rule_set=options["rule_set"]
                )
                self.stdout.write(data.decode("utf-8"))
                return
            board = score_year(year, cutoff=cutoff, rule_set=options["rule_set"], today=local_date(timezone.now()))
        except CaseError as error:
            raise CommandError(error.message) from None
        self._table(board, codes)

    def _table(self, board, codes):
        out = self.stdout
        out.write(f"{board.year} cutoff {board.cutoff.isoformat()} rule set {board.rule_set.code}")
        if board.regions:
            heads = [s.section.title.split("、", 1)[0] for s in board.regions[0].sections]
        else:
            heads = []
        out.write(
            f"{'rank':>4}  {'code':6}  {'name':6}  "
            + "  ".join(f"{h:>5}" for h in heads)
            + f"  {'13':>3} {'14':>3} {'15':>3}  {'15 rate':>7}  {'total':>6}"
        )
        for r in board.regions:
            if codes is not None and r.region.code not in codes:
                continue
            subtotals = "  ".join(f"{points_str(s.subtotal):>5}" for s in r.sections)
            t = r.items.get(15)
            rate = t.detail.rate_text if t is not None and t.detail is not None else None
            auto = " ".join(f"{points_str(r.items[n].points) if n in r.items else '-':>3}" for n in (13, 14, 15))
            name = r.region.name + "　" * max(0, 4 - len(r.region.name))
            out.write(
                f"{r.rank:>4}  {r.region.code:6}  {name}  {subtotals}  {auto}  "
                f"{rate or '—':>7}  {points_str(r.total):>6}"
            )
