"""Stored scores with chosen values, so orders and filters are checked against numbers picked by
hand."""

from dataclasses import dataclass

from django.utils import timezone

from core.models import District, Enterprise, Scene
from supervision.models import EnterpriseScore
from supervision.risk import scoring
from tests.factories.core import EnterpriseFactory


def make_score(
    enterprise: Enterprise,
    *,
    risk: float,
    tier: int,
    credit: str = "A",
    overdue: int = 0,
    open_orders: int = 0,
) -> EnterpriseScore:
    """A stored score whose points all come from violations (they add up to ``risk``)."""
    level = "high" if risk >= 60 else "medium" if risk >= 30 else "low"
    return EnterpriseScore.objects.create(
        enterprise=enterprise,
        policy=scoring.current_policy(),
        as_of=timezone.now(),
        risk=risk,
        risk_level=level,
        risk_violations=risk,
        credit=credit,
        tier=tier,
        overdue_orders=overdue,
        open_orders=open_orders,
    )


@dataclass
class RankingWorld:
    """Five scored enterprises (risk, tier, credit, overdue orders):

    - chaoyang: Chaoyang catering          80, 4, C, 2
    - street:   Chaoyang street, catering  50, 3, A, 0
    - dongcheng: Dongcheng catering        65, 4, D, 1
    - haidian:  Haidian medical            90, 4, B, 0  (not market regulation's scene)
    - hotel:    Chaoyang hotel             20, 1, A, 0  (not market regulation's scene)
    """

    chaoyang: Enterprise
    street: Enterprise
    dongcheng: Enterprise
    haidian: Enterprise
    hotel: Enterprise

    def names(self, enterprises) -> list[str]:
        by_pk = {e.pk: key for key, e in vars(self).items()}
        return [by_pk[e.pk] for e in enterprises]

    def by_uscc(self, usccs) -> list[str]:
        by_code = {e.uscc: key for key, e in vars(self).items()}
        return [by_code[code] for code in usccs]


def make_ranking_world(chaoyang: Enterprise) -> RankingWorld:
    """Scores ``chaoyang`` (a Chaoyang catering business) and four more as RankingWorld lists."""
    catering = Scene.objects.get(code="catering")
    street = EnterpriseFactory(district=District.objects.get(code="110105001"), scene=catering)
    dongcheng = EnterpriseFactory(district=District.objects.get(code="110101"), scene=catering)
    haidian = EnterpriseFactory(
        district=District.objects.get(code="110108"), scene=Scene.objects.get(code="medical")
    )
    hotel = EnterpriseFactory(
        district=District.objects.get(code="110105"), scene=Scene.objects.get(code="hotel")
    )
    make_score(chaoyang, risk=80, tier=4, credit="C", overdue=2, open_orders=3)
    make_score(street, risk=50, tier=3, credit="A")
    make_score(dongcheng, risk=65, tier=4, credit="D", overdue=1, open_orders=1)
    make_score(haidian, risk=90, tier=4, credit="B")
    make_score(hotel, risk=20, tier=1, credit="A")
    return RankingWorld(chaoyang=chaoyang, street=street, dongcheng=dongcheng, haidian=haidian, hotel=hotel)
