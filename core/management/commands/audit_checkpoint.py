"""Write a checkpoint of the audit chain's head to the store outside the database
(core/checkpoints.py). Run it from cron (every hour, say), so that quiet periods, which never
reach the next AUDIT_CHECKPOINT_EVERY, are anchored too; and once right after upgrading an
installation to the keyed chain, to anchor the legacy boundary.

It first verifies the events written since the newest checkpoint (their keyed hashes and links):
a chain that does not hold is never signed.
"""

from django.core.management.base import BaseCommand, CommandError

from core.audit import verify_chain
from core.checkpoints import CheckpointError, checkpoint_names, checkpoint_read, checkpoint_write
from core.models import AuditChainHead


class Command(BaseCommand):
    help = "Verify the events since the newest checkpoint and write a signed checkpoint of the chain's head."

    def handle(self, *args, **options):
        names = checkpoint_names()
        try:
            newest = checkpoint_read(names[-1]) if names else None
        except CheckpointError as exc:
            raise CommandError(f"{exc}; run verify_audit") from None
        head = AuditChainHead.objects.filter(pk=1).first()
        if head is None or head.seq == 0:
            self.stdout.write("the audit chain is empty: nothing to anchor")
            return
        report = verify_chain(checkpoints=[newest] if newest else [], after=newest)
        if not report.ok:
            raise CommandError(f"no checkpoint written: {report.reason} (run verify_audit for every problem)")
        try:
            checkpoint, created = checkpoint_write(seq=head.seq, head=head.hash, legacy_seq=head.legacy_seq)
        except (OSError, CheckpointError) as exc:
            raise CommandError(f"no checkpoint written: {exc}") from None
        if created:
            self.stdout.write(
                f"checkpoint {checkpoint.name} written: event #{checkpoint.seq}, {checkpoint.head}"
            )
        else:
            self.stdout.write(f"checkpoint {checkpoint.name} already anchors event #{checkpoint.seq}")
