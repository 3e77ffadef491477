"""What a demo enterprise is: a pure function of its *demo index* 0, 1, 2, … (no database here).

- A demo enterprise's USCC carries the marker "DM" at positions 9-10, the start of
  its organisation code (real codes issued since 2015 start "MA"; older ones are
  digits). ``demo.enterprises.demo_enterprise_count`` counts them.
- The random generator is seeded per block of indices, and the organisation code is a
  bijection of the index, so codes are unique without checking. A run creates the
  indices from the current demo count up to N, so running again creates nothing,
  and growing from 500 to 5,000 gives the same rows as seeding 5,000 at once.
- The set is append-only: delete all demo enterprises or none. After a partial
  delete the next index would recreate an existing code, and the run stops on the
  unique constraint with a message saying so.
- Indices below 16 go round every district and below 12 round every scene, so any
  N >= 16 covers both; index 0 is a catering business in Chaoyang, the one the
  ``business`` login belongs to (inside the ``inspector`` logins' district).
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from core import reference, uscc
from core.models import Enterprise

SEED = 110000
DEMO_MARKER = "DM"
# Rows are seeded per block, not per row: reseeding costs more than generating a row.
BLOCK_SIZE = 1_000
_ORG_DIGITS = 6  # organisation-code characters after the marker, base 31
ORG_SPACE = len(uscc.ALPHABET) ** _ORG_DIGITS  # 887,503,681 possible demo enterprises
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
COMPOUND_SURNAMES = tuple(surname for surname, _weight in _SURNAMES if len(surname) > 1)
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
    number = (_ORG_MULTIPLIER * index + _ORG_OFFSET) % ORG_SPACE
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


def person_name(rng: random.Random) -> str:
    """A Chinese name as people have them: a common surname, one or two given characters."""
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
        legal_representative=person_name(rng),
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
