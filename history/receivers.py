"""What history does when the register changes: signals that named a business before it was an
enterprise here are matched once it is (history.sources.matching)."""

from core.models import Enterprise
from history.sources.matching import signals_rematch


def on_enterprises_registered(sender, *, usccs: list[str], **kwargs) -> None:
    ids = []
    for start in range(0, len(usccs), 2000):
        ids += Enterprise.objects.filter(uscc__in=usccs[start : start + 2000]).values_list("pk", flat=True)
    signals_rematch(enterprise_ids=ids)


def on_enterprise_saved(sender, *, instance: Enterprise, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        signals_rematch(enterprise_ids=[instance.pk])
