"""Reference data every installation starts with: Beijing's divisions, the
agencies, and the industry scenes with their inherent risk and supervising
departments. Loaded by a data migration and safe to load again (upsert by code).
"""

CITY = ("110000", "北京市", "Beijing")

# GB/T 2260 codes of Beijing's 16 districts.
DISTRICTS = [
    ("110101", "东城区", "Dongcheng"),
    ("110102", "西城区", "Xicheng"),
    ("110105", "朝阳区", "Chaoyang"),
    ("110106", "丰台区", "Fengtai"),
    ("110107", "石景山区", "Shijingshan"),
    ("110108", "海淀区", "Haidian"),
    ("110109", "门头沟区", "Mentougou"),
    ("110111", "房山区", "Fangshan"),
    ("110112", "通州区", "Tongzhou"),
    ("110113", "顺义区", "Shunyi"),
    ("110114", "昌平区", "Changping"),
    ("110115", "大兴区", "Daxing"),
    ("110116", "怀柔区", "Huairou"),
    ("110117", "平谷区", "Pinggu"),
    ("110118", "密云区", "Miyun"),
    ("110119", "延庆区", "Yanqing"),
]

# A few streets (GB/T 10114, 9 digits) so that the tree has its third level.
STREETS = [
    ("110101001", "东华门街道", "Donghuamen Subdistrict"),
    ("110101002", "景山街道", "Jingshan Subdistrict"),
    ("110101003", "交道口街道", "Jiaodaokou Subdistrict"),
    ("110101004", "安定门街道", "Andingmen Subdistrict"),
    ("110105001", "建外街道", "Jianwai Subdistrict"),
    ("110105002", "朝外街道", "Chaowai Subdistrict"),
    ("110105003", "呼家楼街道", "Hujialou Subdistrict"),
    ("110105004", "三里屯街道", "Sanlitun Subdistrict"),
]

DEPARTMENTS = [
    ("market_regulation", "市场监督管理局", "Administration for Market Regulation"),
    ("health", "卫生健康委员会", "Health Commission"),
    ("civil_affairs", "民政局", "Civil Affairs Bureau"),
    ("fire_rescue", "消防救援总队", "Fire and Rescue Corps"),
    ("ecology_environment", "生态环境局", "Ecology and Environment Bureau"),
    ("emergency_management", "应急管理局", "Emergency Management Bureau"),
    ("education", "教育委员会", "Education Commission"),
    ("housing_construction", "住房和城乡建设委员会", "Housing and Urban-Rural Development Commission"),
    ("culture_tourism", "文化和旅游局", "Culture and Tourism Bureau"),
    ("public_security", "公安局", "Public Security Bureau"),
    ("medical_products", "药品监督管理局", "Medical Products Administration"),
]

# (code, name, English name, inherent risk 1-4, supervising departments)
SCENES = [
    ("catering", "餐饮服务", "Catering", 3, ["market_regulation", "fire_rescue", "ecology_environment"]),
    ("medical", "医疗机构", "Medical institution", 4, ["health", "fire_rescue", "ecology_environment"]),
    (
        "elderly_care",
        "养老机构",
        "Elderly care",
        3,
        ["civil_affairs", "health", "fire_rescue", "market_regulation"],
    ),
    ("pharmacy", "药品零售", "Pharmacy", 3, ["medical_products", "market_regulation"]),
    ("school_canteen", "学校食堂", "School canteen", 4, ["education", "market_regulation", "health"]),
    ("hotel", "旅馆住宿", "Hotel", 2, ["public_security", "fire_rescue", "culture_tourism", "health"]),
    (
        "hazardous_chemicals",
        "危险化学品经营",
        "Hazardous chemicals",
        4,
        ["emergency_management", "fire_rescue", "ecology_environment"],
    ),
    ("construction", "建筑施工", "Construction site", 3, ["housing_construction", "emergency_management"]),
    ("childcare", "托育机构", "Childcare", 3, ["health", "education", "fire_rescue"]),
    (
        "entertainment",
        "娱乐场所",
        "Entertainment venue",
        2,
        ["culture_tourism", "public_security", "fire_rescue"],
    ),
    ("food_production", "食品生产", "Food production", 3, ["market_regulation", "ecology_environment"]),
    ("retail", "商超零售", "Retail store", 1, ["market_regulation", "fire_rescue"]),
]


# Traits of an enterprise that make a checklist item apply (ChecklistItem.applies_if).
FEATURES = {
    "serves_children": ("服务未成年人", "serves children"),
    "online_delivery": ("提供网络订餐", "sells through online delivery platforms"),
    "uses_gas": ("使用燃气", "uses fuel gas"),
    "has_canteen": ("设有食堂", "runs a canteen"),
    "inpatient_beds": ("设有住院床位", "has inpatient beds"),
    "radiation": ("使用放射诊疗设备", "uses radiological equipment"),
    "prescription_drugs": ("经营处方药", "sells prescription drugs"),
    "cold_chain": ("经营冷链食品", "handles cold-chain food"),
    "special_equipment": ("使用特种设备", "operates special equipment (boilers, lifts, pressure vessels)"),
    "dementia_care": ("提供失智照护", "provides dementia care"),
    "swimming_pool": ("设有游泳池", "has a swimming pool"),
}


def load(District, Department, Scene) -> None:
    """Upsert everything by code. Takes the model classes so a migration can pass its historical ones."""

    def upsert_district(code, name, name_en, level, parent):
        path = f"{parent.path if parent else ''}{code}/"
        district, _ = District.objects.update_or_create(
            code=code,
            defaults={"name": name, "name_en": name_en, "level": level, "parent": parent, "path": path},
        )
        return district

    city = upsert_district(*CITY, "city", None)
    by_code = {code: upsert_district(code, name, en, "district", city) for code, name, en in DISTRICTS}
    for code, name, en in STREETS:
        upsert_district(code, name, en, "street", by_code[code[:6]])

    departments = {
        code: Department.objects.update_or_create(code=code, defaults={"name": name, "name_en": en})[0]
        for code, name, en in DEPARTMENTS
    }
    for code, name, en, risk, owners in SCENES:
        scene, _ = Scene.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": en, "inherent_risk": risk}
        )
        scene.departments.set([departments[owner] for owner in owners])
