"""Walk the audit chain and recompute every submitted record.

1. The chain: every event's keyed hash and link, the head, and every checkpoint kept outside the
   database (core/checkpoints.py): a rewritten event differs from a checkpoint, a truncated chain
   ends before one.
2. The records: each package's checker (core.integrity) recomputes every submitted inspection,
   self-inspection, order, rectification and document with the function its submit service used,
   and compares it with the stored hash and the hash in its audit event.

Exits non-zero on any problem, each named with what and where. Records that have no event in
the chain at all (the demo's past, loaded in bulk) are listed as a warning; ``--strict`` makes
them a failure, as it should be in production.
"""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from core.audit import verify_chain
from core.checkpoints import checkpoint_dir, checkpoints_all
from core.integrity import records_check

# Unanchored records are listed up to this many; the rest are counted.
UNANCHORED_LISTED = 20


class Command(BaseCommand):
    help = (
        "Walk the audit chain (keyed hashes, links, checkpoints) and recompute every submitted record; "
        "exit non-zero, naming each problem, if anything does not hold."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--strict", action="store_true", help="fail on submitted records that have no event in the chain"
        )
        parser.add_argument(
            "--no-files", action="store_true", help="do not re-hash the stored document files (faster)"
        )
        parser.add_argument(
            "--chain-only", action="store_true", help="check the chain and checkpoints, not the records"
        )
        parser.add_argument(
            "--chunk-size", type=int, default=500, help="records read per query (default 500)"
        )

    def handle(self, *args, strict=False, no_files=False, chain_only=False, chunk_size=500, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        checkpoints, unreadable = checkpoints_all()
        chain = verify_chain(checkpoints=checkpoints)
        for problem in unreadable:
            chain.add(None, problem)
        if chain.ok:
            self.stdout.write(f"audit chain ok: {chain.events} events")
        self._describe(chain)
        if not chain.ok:
            for problem in chain.problems:
                self.stderr.write(problem)
            if chain.problem_count > len(chain.problems):
                self.stderr.write(f"... and {chain.problem_count - len(chain.problems)} more")
        failures = 0 if chain.ok else chain.problem_count
        if not chain_only:
            failures += self._records(strict=strict, files=not no_files, chunk_size=chunk_size)
        if not chain.ok:
            where = f"event #{chain.broken_seq}" if chain.broken_seq else "its checkpoints"
            raise CommandError(
                f"audit chain broken at {where}: {chain.reason} ({chain.events} events walked; "
                f"{failures} problems in all, listed above)"
            )
        if failures:
            raise CommandError(f"{failures} records do not hold (listed above)")

    def _describe(self, chain) -> None:
        if chain.legacy_seq:
            self.stdout.write(
                f"events #1-#{chain.legacy_seq}: written before the chain was keyed (plain SHA-256)"
            )
        if chain.newest_checkpoint is None:
            self.stdout.write(
                f"checkpoints: none in {checkpoint_dir()} (the chain is not anchored outside the "
                "database; run manage.py audit_checkpoint)"
            )
        else:
            newest = chain.newest_checkpoint
            self.stdout.write(
                f"checkpoints: {chain.checkpoints}, the newest at event #{newest.seq} "
                f"({newest.at.isoformat()})"
            )

    def _records(self, *, strict: bool, files: bool, chunk_size: int) -> int:
        tally, failures, unanchored, listed = Counter(), 0, 0, []
        for finding in records_check(chunk_size=chunk_size, files=files, tally=tally):
            if finding.unanchored and not strict:
                unanchored += 1
                if len(listed) < UNANCHORED_LISTED:
                    listed.append(finding)
                continue
            self.stderr.write(str(finding))
            failures += 1
        checked = ", ".join(f"{count} {kind}" for kind, count in tally.items())
        if failures:
            self.stdout.write(f"records checked: {checked or 'none'}; {failures} do not hold")
        else:
            self.stdout.write(f"records ok: {checked or 'none submitted'}")
        if unanchored:
            self.stdout.write(
                f"warning: {unanchored} submitted records have no event in the audit chain (loaded in "
                "bulk, like the demo's past, or inserted behind the platform's back); their stored hashes "
                "were checked; --strict fails on them:"
            )
            for finding in listed:
                self.stdout.write(f"  {finding}")
            if unanchored > len(listed):
                self.stdout.write(f"  ... and {unanchored - len(listed)} more")
        return failures
