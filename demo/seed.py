"""Demo data: realistic Beijing enterprises and one login per role and scope.

Used by ``manage.py seed_demo`` for demos, manual testing and load tests (2.5 million
enterprises, the size of the city, load in minutes on PostgreSQL).

How the demo set is recognised and grown, without any extra model field:

- A demo enterprise's USCC carries the marker "DM" at positions 9-10, the start of
  its organisation code (real codes issued since 2015 start "MA"; older ones are
  digits). ``demo_enterprise_count`` counts them.
- Every demo enterprise is a pure function of its *demo index* 0, 1, 2, …: the
  random generator is seeded per block of indices, and the organisation code is a
  bijection of the index, so codes are unique without checking. A run creates the
  indices from the current demo count up to N, so running again creates nothing,
  and growing from 500 to 5,000 gives the same rows as seeding 5,000 at once.
- The set is append-only: delete all demo enterprises or none. After a partial
  delete the next index would recreate an existing code, and the run stops on the
  unique constraint with a message saying so.
- Indices below 16 go round every district and below 12 round every scene, so any
  N >= 16 covers both; index 0 is a catering business in Chaoyang, the one the
  ``business`` login belongs to (inside the ``inspector`` logins' district).

Rows are generated and written one chunk at a time and never held all at once. On
PostgreSQL they stream in through COPY: 300,000 rows took 13 s that way against 27 s
with bulk_create, and bench/seed_demo.py times whole runs (1 million in about 30 s).
Elsewhere (SQLite) bulk_create, about 10,000 rows/s.
"""

import random
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from core import reference, uscc
from core.audit import audit_record
from core.codes import codes_issue_missing
from core.errors import DomainError
from core.models import Department, District, Enterprise, EnterpriseMembership, Inspector, Regulator, Scene
from supervision.inspections.services import task_create
from supervision.models import InspectionTask

SEED = 110000
DEMO_MARKER = "DM"
CHUNK_SIZE = 10_000
# Rows are seeded per block, not per row: reseeding costs more than generating a row.
BLOCK_SIZE = 1_000
_ORG_DIGITS = 6  # organisation-code characters after the marker, base 31
_ORG_SPACE = len(uscc.ALPHABET) ** _ORG_DIGITS  # 887,503,681 possible demo enterprises
# An affine map modulo 31^6 is a bijection when the multiplier is not a multiple of 31;
# it spreads consecutive indices over the code space so the codes do not look sequential.
_ORG_MULTIPLIER = 550_731_703
_ORG_OFFSET = 123_456_789

# Opened-on dates are drawn before a fixed day, not today, so the same index gives the same row.
_OPENED_UNTIL = date(2025, 6, 30)
_OPENED_SPAN_DAYS = (_OPENED_UNTIL - date(1993, 1, 1)).days
# Beijing's bounding box: coordinates drawn near a district centre are clipped to it.
_LAT_RANGE = (39.44, 41.06)
_LON_RANGE = (115.42, 117.50)

# (registration authority, entity kind) of GB 32100: what a name's legal form implies.
COMPANY = ("9", "1")  # 工商 · 企业
INDIVIDUAL = ("9", "2")  # 工商 · 个体工商户
NON_PROFIT = ("5", "2")  # 民政 · 民办非企业单位
PUBLIC_INSTITUTION = ("1", "2")  # 机构编制 · 事业单位 (a public school's canteen)


def _words(text: str) -> list[str]:
    """Word lists are written space-separated: a quote and comma around each word hides the words."""
    return text.split()


@dataclass(frozen=True)
class DistrictProfile:
    weight: int  # share of the city's market entities, roughly
    latitude: float
    longitude: float
    spread: float  # standard deviation in degrees: small in the centre, wide in the outskirts
    roads: list[str]


DISTRICT_PROFILES = {
    "110105": DistrictProfile(
        18,
        39.921,
        116.443,
        0.035,
        _words("建国路 朝阳路 三里屯路 工人体育场北路 东三环中路 望京街 酒仙桥路 亮马桥路 广渠路"),
    ),
    "110101": DistrictProfile(
        6,
        39.928,
        116.416,
        0.012,
        _words("东长安街 王府井大街 东直门内大街 朝阳门内大街 崇文门外大街 和平里东街 雍和宫大街"),
    ),
    "110102": DistrictProfile(
        7,
        39.912,
        116.366,
        0.012,
        _words("西单北大街 金融大街 阜成门内大街 西直门南大街 德胜门外大街 广安门内大街 宣武门外大街"),
    ),
    "110106": DistrictProfile(
        9, 39.858, 116.286, 0.030, _words("丰台北路 南三环西路 马家堡东路 方庄路 右安门外大街 丽泽路")
    ),
    "110107": DistrictProfile(
        3, 39.906, 116.223, 0.015, _words("石景山路 鲁谷路 八角东街 古城大街 苹果园路 阜石路")
    ),
    "110108": DistrictProfile(
        15,
        39.959,
        116.298,
        0.030,
        _words("中关村大街 海淀大街 学院路 知春路 北四环西路 西三环北路 上地信息路 万泉河路"),
    ),
    "110109": DistrictProfile(2, 39.941, 116.102, 0.025, _words("新桥大街 滨河路 石龙路 黑山大街 双峪路")),
    "110111": DistrictProfile(4, 39.748, 116.143, 0.045, _words("拱辰大街 长虹西路 京周路 燕房路 西潞大街")),
    "110112": DistrictProfile(
        7, 39.910, 116.657, 0.040, _words("新华大街 通惠北路 运河东大街 九棵树东路 梨园中街 玉带河东街")
    ),
    "110113": DistrictProfile(
        5, 40.130, 116.655, 0.045, _words("府前中街 光明北街 新顺南大街 顺平路 裕民大街")
    ),
    "110114": DistrictProfile(8, 40.221, 116.231, 0.050, _words("政府街 府学路 回龙观西大街 立汤路 南环路")),
    "110115": DistrictProfile(
        7, 39.727, 116.341, 0.045, _words("兴华大街 黄村西大街 金星路 荣华南路 清源路")
    ),
    "110116": DistrictProfile(2, 40.316, 116.632, 0.040, _words("青春路 府前街 开放路 迎宾路 雁栖大街")),
    "110117": DistrictProfile(
        2, 40.141, 117.121, 0.035, _words("府前街 新平北路 林荫北街 建设西街 文化南街")
    ),
    "110118": DistrictProfile(2, 40.377, 116.843, 0.040, _words("鼓楼东大街 新中街 滨河路 檀州大街 宾阳路")),
    "110119": DistrictProfile(1, 40.457, 115.975, 0.035, _words("妫水北街 高塔街 东外大街 湖南东路 庆园街")),
}


@dataclass(frozen=True)
class SceneProfile:
    weight: int
    # (name pattern, legal form); a pattern may use {brand}, {place}, {road}, {word}, {n}.
    names: tuple[tuple[str, tuple[str, str]], ...]
    words: list[str] = field(default_factory=list)  # what {word} draws from


SCENE_PROFILES = {
    "catering": SceneProfile(
        30,
        (
            ("{brand}{word}", INDIVIDUAL),
            ("{brand}{word}", INDIVIDUAL),
            ("北京{brand}餐饮有限公司", COMPANY),
            ("北京{brand}餐饮管理有限公司{place}分店", COMPANY),
        ),
        _words(
            "烤鸭店 涮肉馆 火锅店 川菜馆 湘菜馆 粤菜馆 饺子馆 面馆 炸酱面馆 "
            "烧烤店 快餐店 包子铺 卤煮店 麻辣烫店 茶餐厅 咖啡馆 西餐厅 小吃店"
        ),
    ),
    "retail": SceneProfile(
        22,
        (
            ("{brand}超市", INDIVIDUAL),
            ("{brand}便利店", INDIVIDUAL),
            ("{brand}日用百货店", INDIVIDUAL),
            ("北京{brand}商贸有限公司", COMPANY),
            ("北京{brand}超市有限公司{road}店", COMPANY),
        ),
    ),
    "pharmacy": SceneProfile(
        7,
        (
            ("北京{brand}大药房有限公司", COMPANY),
            ("北京{brand}医药连锁有限公司{road}店", COMPANY),
            ("{brand}药店", INDIVIDUAL),
        ),
    ),
    "medical": SceneProfile(
        7,
        (
            ("{brand}{word}诊所", INDIVIDUAL),
            ("北京{brand}{word}医院有限公司", COMPANY),
            ("北京{place}{brand}{word}门诊部有限公司", COMPANY),
        ),
        _words("口腔 中医 眼科 皮肤科 儿科 骨科 康复 综合"),
    ),
    "hotel": SceneProfile(
        6,
        (
            ("北京{brand}酒店有限公司", COMPANY),
            ("北京{brand}酒店管理有限公司{place}分公司", COMPANY),
            ("{brand}宾馆", INDIVIDUAL),
            ("{brand}旅馆", INDIVIDUAL),
        ),
    ),
    "food_production": SceneProfile(
        5,
        (
            ("北京{brand}食品有限公司", COMPANY),
            ("北京{brand}饮品有限公司", COMPANY),
            ("北京{brand}烘焙食品有限公司", COMPANY),
        ),
    ),
    "entertainment": SceneProfile(
        5,
        (
            ("北京{brand}文化娱乐有限公司", COMPANY),
            ("{brand}量贩式KTV", INDIVIDUAL),
            ("{brand}电竞馆", INDIVIDUAL),
        ),
    ),
    "construction": SceneProfile(
        5,
        (
            ("北京{brand}建筑工程有限公司", COMPANY),
            ("北京{brand}建设集团有限公司", COMPANY),
            ("北京{brand}市政工程有限公司", COMPANY),
            ("北京{brand}装饰工程有限公司", COMPANY),
        ),
    ),
    "elderly_care": SceneProfile(
        4,
        (
            ("北京市{place}区{brand}养老院", NON_PROFIT),
            ("北京市{place}区{brand}养老照料中心", NON_PROFIT),
            ("北京{brand}老年公寓有限公司", COMPANY),
        ),
    ),
    "childcare": SceneProfile(
        4,
        (
            ("北京{brand}托育服务有限公司", COMPANY),
            ("北京市{place}区{brand}托育中心", NON_PROFIT),
        ),
    ),
    "school_canteen": SceneProfile(
        3,
        (
            ("北京市第{n}中学食堂", PUBLIC_INSTITUTION),
            ("北京市{place}区{word}食堂", PUBLIC_INSTITUTION),
            ("北京{brand}团餐管理有限公司", COMPANY),
        ),
        _words("实验小学 中心小学 外国语学校 实验学校 职业学校 第一小学 第二小学"),
    ),
    "hazardous_chemicals": SceneProfile(
        2,
        (
            ("北京{brand}化工有限公司", COMPANY),
            ("北京{brand}化学品经营有限公司", COMPANY),
            ("北京{brand}石油销售有限公司{road}加油站", COMPANY),
        ),
    ),
}

_BRAND_CHARS = "华鑫盛嘉恒瑞福祥和安康顺兴达德润泰宏金永益诚信佳美乐悦丰源隆昌荣通汇聚鼎宝旺"
# The forty commonest surnames, weighted roughly by frequency, then a few compound ones.
_SURNAMES = (
    ("王", 72), ("李", 71), ("张", 68), ("刘", 53), ("陈", 45), ("杨", 31), ("黄", 23), ("赵", 20),
    ("吴", 19), ("周", 19), ("徐", 15), ("孙", 15), ("马", 14), ("朱", 13), ("胡", 12), ("郭", 11),
    ("何", 10), ("高", 10), ("林", 10), ("罗", 9), ("郑", 9), ("梁", 8), ("谢", 6), ("宋", 6),
    ("唐", 6), ("许", 5), ("韩", 5), ("冯", 5), ("邓", 5), ("曹", 5), ("彭", 5), ("曾", 4),
    ("田", 4), ("董", 4), ("袁", 4), ("潘", 4), ("于", 4), ("蒋", 4), ("蔡", 4), ("余", 4),
    ("欧阳", 1), ("司马", 1), ("上官", 1), ("诸葛", 1),
)  # fmt: skip
_GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉萍红飞鹏宇浩然欣怡婷雪琳晨博文建国志海亮林斌辉"
    "丹凯倩颖佳思梓子轩雨涵诺睿嘉宁晓春秋梅兰"
)
_LICENCE_STATUSES = (
    (Enterprise.LicenceStatus.ACTIVE.value, 90),
    (Enterprise.LicenceStatus.SUSPENDED.value, 4),
    (Enterprise.LicenceStatus.REVOKED.value, 2),
    (Enterprise.LicenceStatus.DEREGISTERED.value, 4),
)


def _cumulative(pairs):
    values, weights = zip(*pairs, strict=True)
    total, cumulative = 0, []
    for weight in weights:
        total += weight
        cumulative.append(total)
    return values, cumulative


# Chinese district names from the reference data, which every database holds (migration core/0002).
_DISTRICT_NAMES = {code: name for code, name, _en in reference.DISTRICTS}
_DISTRICT_CODES, _DISTRICT_CUM = _cumulative((code, p.weight) for code, p in DISTRICT_PROFILES.items())
_SCENE_CODES, _SCENE_CUM = _cumulative((code, p.weight) for code, p in SCENE_PROFILES.items())
_SURNAME_VALUES, _SURNAME_CUM = _cumulative(_SURNAMES)
_STATUS_VALUES, _STATUS_CUM = _cumulative(_LICENCE_STATUSES)


@dataclass(frozen=True)
class EnterpriseRow:
    uscc: str
    name: str
    address: str
    district_code: str
    scene_code: str
    legal_representative: str
    licence_status: str
    opened_on: date
    latitude: str  # exact decimal text, written as is by COPY and by the DecimalField
    longitude: str


def demo_uscc(index: int, *, division: str, form: tuple[str, str]) -> str:
    """The USCC of demo index ``index``: unique per index whatever the division and form."""
    number = (_ORG_MULTIPLIER * index + _ORG_OFFSET) % _ORG_SPACE
    digits = []
    for _ in range(_ORG_DIGITS):
        number, digit = divmod(number, len(uscc.ALPHABET))
        digits.append(uscc.ALPHABET[digit])
    authority, kind = form
    return uscc.build(authority=authority, kind=kind, division=division, body8=DEMO_MARKER + "".join(digits))


def _chinese_number(n: int) -> str:
    """1-99 as schools are numbered: 第八中学, 第十二中学, 第五十中学."""
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    if tens == 0:
        return digits[ones]
    return ("十" if tens == 1 else digits[tens] + "十") + (digits[ones] if ones else "")


def _person_name(rng: random.Random) -> str:
    surname = rng.choices(_SURNAME_VALUES, cum_weights=_SURNAME_CUM)[0]
    given = rng.choice(_GIVEN_CHARS)
    if rng.random() < 0.7:
        given += rng.choice(_GIVEN_CHARS)
    return surname + given


def _row(index: int, rng: random.Random) -> EnterpriseRow:
    if index < len(_DISTRICT_CODES):
        district_code = _DISTRICT_CODES[index]
    else:
        district_code = rng.choices(_DISTRICT_CODES, cum_weights=_DISTRICT_CUM)[0]
    if index < len(_SCENE_CODES):
        scene_code = _SCENE_CODES[index]
    else:
        scene_code = rng.choices(_SCENE_CODES, cum_weights=_SCENE_CUM)[0]
    district, scene = DISTRICT_PROFILES[district_code], SCENE_PROFILES[scene_code]
    place = _DISTRICT_NAMES[district_code].removesuffix("区")

    pattern, form = rng.choice(scene.names)
    road = rng.choice(district.roads)
    brand = rng.choice(_BRAND_CHARS) + rng.choice(_BRAND_CHARS)
    if rng.random() < 0.25:
        brand += rng.choice(_BRAND_CHARS)
    name = pattern.format(
        brand=brand,
        place=place,
        road=road,
        word=rng.choice(scene.words) if scene.words else "",
        n=_chinese_number(rng.randint(2, 99)),
    )
    if form == INDIVIDUAL and rng.random() < 0.5:
        # Individual businesses are often registered under their division's name.
        name = f"北京市{place}区{name}"

    address = f"北京市{place}区{road}{rng.randint(1, 399)}号"
    detail = rng.random()
    if detail < 0.3:
        address += f"{rng.randint(1, 12)}号楼{rng.randint(1, 6)}层"
    elif detail < 0.45:
        address += f"院{rng.randint(1, 20)}号楼{rng.randint(1, 24)}{rng.randint(1, 20):02d}室"

    latitude = min(max(rng.gauss(district.latitude, district.spread), _LAT_RANGE[0]), _LAT_RANGE[1])
    longitude = min(max(rng.gauss(district.longitude, district.spread * 1.3), _LON_RANGE[0]), _LON_RANGE[1])
    # Squaring skews opening dates towards recent years, as the register's growth does.
    opened_on = _OPENED_UNTIL - timedelta(days=int(_OPENED_SPAN_DAYS * rng.random() ** 2))

    return EnterpriseRow(
        uscc=demo_uscc(index, division=district_code, form=form),
        name=name,
        address=address,
        district_code=district_code,
        scene_code=scene_code,
        legal_representative=_person_name(rng),
        licence_status=rng.choices(_STATUS_VALUES, cum_weights=_STATUS_CUM)[0],
        opened_on=opened_on,
        latitude=f"{latitude:.6f}",
        longitude=f"{longitude:.6f}",
    )


def enterprise_rows(start: int, stop: int) -> Iterator[EnterpriseRow]:
    """Demo enterprises with indices start <= i < stop, each the same whichever range asked for it."""
    block = start // BLOCK_SIZE
    while block * BLOCK_SIZE < stop:
        rng = random.Random(SEED * 1_000_003 + block)
        first = block * BLOCK_SIZE
        for index in range(first, min(first + BLOCK_SIZE, stop)):
            row = _row(index, rng)  # rows before ``start`` are generated too: they advance the generator
            if index >= start:
                yield row
        block += 1


def demo_enterprises() -> QuerySet[Enterprise]:
    # Position 9 is 1-based, as SQL's SUBSTR is: characters 9-10 of the USCC.
    return Enterprise.objects.annotate(marker=Substr("uscc", 9, len(DEMO_MARKER))).filter(marker=DEMO_MARKER)


def demo_enterprise_count() -> int:
    return demo_enterprises().count()


def demo_password() -> str:
    """Readable: lower case and digits without look-alikes (0/o, 1/l/i), in dashed groups; ~59 bits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


class _Writer:
    """Writes one chunk of rows; COPY on PostgreSQL, bulk_create elsewhere (or when asked)."""

    FIELDS = (
        "uscc",
        "name",
        "address",
        "district",
        "scene",
        "legal_representative",
        "licence_status",
        "opened_on",
        "latitude",
        "longitude",
        "created_at",
        "updated_at",
        "features",
    )

    def __init__(self, method: str):
        if method not in ("auto", "copy", "bulk"):
            raise DomainError(f"unknown write method {method!r}: auto, copy or bulk", code="invalid_method")
        if method == "auto":
            method = "copy" if connection.vendor == "postgresql" else "bulk"
        if method == "copy" and connection.vendor != "postgresql":
            raise DomainError("COPY needs PostgreSQL", code="copy_needs_postgresql")
        self.method = method
        self.district_ids = dict(District.objects.filter(code__in=_DISTRICT_CODES).values_list("code", "id"))
        self.scene_ids = dict(Scene.objects.filter(code__in=_SCENE_CODES).values_list("code", "id"))
        meta = Enterprise._meta
        columns = ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in self.FIELDS)
        self.copy_sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"

    def write(self, rows: Iterable[EnterpriseRow]) -> None:
        now = timezone.now()
        if self.method == "copy":
            self._copy(rows, now)
        else:
            self._bulk_create(rows, now)

    def _copy(self, rows, now) -> None:
        # Rows stream into COPY as they are generated, so the server indexes one part of
        # a chunk while Python builds the next.
        d, s = self.district_ids, self.scene_ids
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,
            cursor.copy(self.copy_sql) as copy,
        ):
            for r in rows:
                copy.write_row(
                    (
                        r.uscc,
                        r.name,
                        r.address,
                        d[r.district_code],
                        s[r.scene_code],
                        r.legal_representative,
                        r.licence_status,
                        r.opened_on,
                        r.latitude,
                        r.longitude,
                        now,
                        now,
                        "[]",
                    )
                )

    def _bulk_create(self, rows, now) -> None:
        d, s = self.district_ids, self.scene_ids
        Enterprise.objects.bulk_create(
            [
                Enterprise(
                    uscc=r.uscc,
                    name=r.name,
                    address=r.address,
                    district_id=d[r.district_code],
                    scene_id=s[r.scene_code],
                    legal_representative=r.legal_representative,
                    licence_status=r.licence_status,
                    opened_on=r.opened_on,
                    latitude=r.latitude,
                    longitude=r.longitude,
                    created_at=now,
                    updated_at=now,
                )
                for r in rows
            ],
            batch_size=2_000,
        )


Progress = Callable[[int, int, float], None]  # (demo enterprises now, target, rows per second)


def enterprises_seed(*, total: int, method: str = "auto", progress: Progress | None = None) -> int:
    """Create the missing demo enterprises up to ``total``; returns how many were created.

    One transaction per chunk: an interrupted run keeps what it wrote, and the next
    run carries on from there.
    """
    if not 1 <= total <= _ORG_SPACE:
        raise DomainError(f"the number of demo enterprises must be 1 to {_ORG_SPACE:,}", code="invalid_total")
    existing = demo_enterprise_count()
    if existing >= total:
        return 0
    writer = _Writer(method)
    started = time.monotonic()
    for chunk_start in range(existing, total, CHUNK_SIZE):
        chunk_stop = min(chunk_start + CHUNK_SIZE, total)
        try:
            with transaction.atomic():
                writer.write(enterprise_rows(chunk_start, chunk_stop))
        except IntegrityError as exc:
            raise DomainError(
                f"demo enterprises from #{chunk_start:,} on exist already ({exc}): either another "
                "seed_demo is running, or demo enterprises were deleted partly; delete all of them "
                f"(USCC characters 9-10 '{DEMO_MARKER}') or none",
                code="demo_set_inconsistent",
            ) from exc
        if progress is not None:
            elapsed = max(time.monotonic() - started, 1e-9)
            progress(chunk_stop, total, (chunk_stop - existing) / elapsed)
    if connection.vendor == "postgresql" and total - existing >= CHUNK_SIZE:
        # Fresh statistics now, not when autovacuum gets round to it: the planner would
        # otherwise plan the first demo queries for the table it saw before the load.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Enterprise._meta.db_table)}")
    return total - existing


@dataclass(frozen=True)
class DemoUser:
    username: str
    last_name: str
    first_name: str
    role: str  # admin | regulator | inspector | business
    department: str | None = None
    districts: tuple[str, ...] = ()
    certificate_no: str = ""
    membership: str = ""  # EnterpriseMembership.Role, for business users


# One login per role and scope. The market-regulation inspectors share Chaoyang, where
# demo enterprise #0 (the business logins' catering shop) is. Certificate numbers use a
# department digit pair other than the factories' "00", so test data never collides.
DEMO_USERS = (
    DemoUser("admin", "李", "明", "admin"),
    DemoUser("regulator", "王", "建国", "regulator", "market_regulation", ("110000",)),
    DemoUser("regulator_health", "赵", "敏", "regulator", "health", ("110108",)),
    DemoUser("regulator_chaoyang", "周", "志强", "regulator", None, ("110105",)),
    DemoUser("inspector", "张", "伟", "inspector", "market_regulation", ("110105",), "110105010001"),
    DemoUser("inspector2", "刘", "洋", "inspector", "market_regulation", ("110105",), "110105010002"),
    DemoUser("inspector_haidian", "孙", "磊", "inspector", "health", ("110108",), "110108020001"),
    DemoUser("business", "陈", "静", "business", membership=EnterpriseMembership.Role.OWNER),
    DemoUser("business_staff", "杨", "帆", "business", membership=EnterpriseMembership.Role.STAFF),
)


@dataclass(frozen=True)
class Login:
    username: str
    role: str
    scope: str


@dataclass
class SeedResult:
    enterprises_created: int
    enterprises_demo_total: int
    users_created: list[str] = field(default_factory=list)
    users_updated: list[str] = field(default_factory=list)
    logins: list[Login] = field(default_factory=list)


def business_enterprise() -> Enterprise:
    """Demo enterprise #0, the one the business logins belong to."""
    row = next(enterprise_rows(0, 1))
    try:
        return Enterprise.objects.select_related("district", "scene").get(uscc=row.uscc)
    except Enterprise.DoesNotExist:
        raise DomainError(
            f"demo enterprise #0 ({row.uscc}) is missing: demo enterprises were deleted partly; "
            "delete all of them or none",
            code="demo_set_inconsistent",
        ) from None


def _scope(department: Department | None, district: District | None) -> str:
    parts = [department.name if department else "全部部门", district.name if district else "全市"]
    return " · ".join(parts)


@transaction.atomic
def users_seed(*, password: str) -> tuple[list[str], list[str], list[Login]]:
    """Create or reset the demo logins: the given password, names, flags and the role each one shows."""
    User = get_user_model()
    # One hash for all of them: they share the password anyway, and hashing is the slow part.
    encoded = make_password(password)
    departments = {d.code: d for d in Department.objects.all()}
    districts = {d.code: d for d in District.objects.filter(level__in=["city", "district"])}
    enterprise = business_enterprise()
    created, updated, logins = [], [], []
    for spec in DEMO_USERS:
        user, was_created = User.objects.get_or_create(username=spec.username)
        (created if was_created else updated).append(spec.username)
        user.first_name, user.last_name = spec.first_name, spec.last_name
        user.is_active = True
        user.is_superuser = user.is_staff = spec.role == "admin"
        user.password = encoded
        user.save()

        department = departments[spec.department] if spec.department else None
        if spec.role == "admin":
            scope = "全部"
        elif spec.role == "regulator":
            district = districts[spec.districts[0]]
            Regulator.objects.update_or_create(
                user=user, defaults={"department": department, "district": district}
            )
            scope = _scope(department, district)
        elif spec.role == "inspector":
            inspector, _ = Inspector.objects.update_or_create(
                user=user,
                defaults={"department": department, "certificate_no": spec.certificate_no, "active": True},
            )
            inspector.districts.set([districts[code] for code in spec.districts])
            scope = _scope(department, districts[spec.districts[0]])
        else:
            EnterpriseMembership.objects.update_or_create(
                user=user, enterprise=enterprise, defaults={"role": spec.membership}
            )
            scope = f"{spec.membership} · {enterprise.name} ({enterprise.uscc})"
        logins.append(Login(spec.username, spec.role, scope))
    return created, updated, logins


def demo_task_seed() -> None:
    """An open task for today on the business's enterprise, so the loop can be tried at once:
    inspector and inspector2 inspect, business answers the order. Planned again when none is open."""

    enterprise = business_enterprise()
    open_statuses = (InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS)
    if InspectionTask.objects.filter(enterprise=enterprise, status__in=open_statuses).exists():
        return
    User = get_user_model()
    team = list(Inspector.objects.filter(user__username__in=["inspector", "inspector2"]))
    today = timezone.localdate()
    task_create(
        actor=User.objects.get(username="regulator"),
        enterprise=enterprise,
        inspectors=team,
        due_from=today,
        due_to=today + timedelta(days=7),
        note="演示任务 · demo task",
    )


def demo_seed(
    *, enterprises: int, password: str, method: str = "auto", progress: Progress | None = None
) -> SeedResult:
    """Top the demo enterprises up to ``enterprises`` and (re)set the demo logins to ``password``."""
    created = enterprises_seed(total=enterprises, method=method, progress=progress)
    # Every demo enterprise gets its identity code, as a real rollout would print them all.
    codes_issue_missing(enterprises=demo_enterprises())
    with transaction.atomic():
        users_created, users_updated, logins = users_seed(password=password)
        demo_task_seed()
        demo_total = demo_enterprise_count()
        audit_record(
            actor=None,
            action="demo.seed",
            data={
                "enterprises_requested": enterprises,
                "enterprises_created": created,
                "enterprises_demo_total": demo_total,
                "users_created": users_created,
                "users_updated": users_updated,
            },
        )
    return SeedResult(created, demo_total, users_created, users_updated, logins)


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def login_table(logins: list[Login], password: str) -> str:
    rows = [("username", "role", "scope", "password")] + [
        (x.username, x.role, x.scope, password) for x in logins
    ]
    widths = [max(display_width(row[col]) for row in rows) for col in range(3)]
    lines = []
    for row in rows:
        cells = [
            cell + " " * (width - display_width(cell)) for cell, width in zip(row[:3], widths, strict=True)
        ]
        lines.append("  ".join([*cells, row[3]]))
    lines.insert(1, "  ".join("-" * width for width in [*widths, len(password)]))
    return "\n".join(lines)
