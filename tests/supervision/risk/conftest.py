import pytest

from tests.factories import RankingWorld, make_ranking_world


@pytest.fixture
def ranking_world(enterprise) -> RankingWorld:
    return make_ranking_world(enterprise)
