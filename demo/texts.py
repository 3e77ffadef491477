"""The words of the demo city's past: what inspectors, businesses, the public and regulators wrote.

Data, not interface: they are stored as people typed them (in Chinese, as the enterprise names
are), never translated. demo.stories picks from them with its seeded generator.
"""

# An inspector's note on an item found not compliant.
FINDING_NOTES = (
    "现场检查发现该项不符合要求，已当场指出。",
    "查阅台账，相关记录不完整。",
    "现场询问负责人，未能说明落实情况。",
    "部分区域不符合要求，已告知整改要求。",
    "制度有文本但未落实到岗位。",
    "相关证明材料过期，未及时更新。",
)
# An inspector's note on the whole record, by conclusion.
RECORD_NOTES = {
    "pass": ("现场检查未发现问题。", "各项检查内容符合要求。", ""),
    "rectify": ("现场检查发现问题，已下达责令改正通知书。", "发现问题已当场告知，限期整改。"),
    "refer": ("发现严重违法行为线索，移送立案调查。",),
}
REFUSAL_NOTES = (
    "当事人拒绝在笔录上签字，已由两名执法人员见证并全程录像。",
    "企业负责人对检查结论有异议，拒绝签字。",
)
MANUAL_TASK_NOTES = ("年度例行检查", "节前安全检查", "专项整治检查", "")
CANCEL_REASONS = (
    "企业停业装修，改期检查。",
    "检查人员临时抽调参加专项行动，改期。",
    "与联合检查合并进行。",
)
OBSTRUCTION_REASON = "企业负责人拒绝执法人员进入检查现场，已制作现场笔录。"

# The business's answer to an order, one per finding, and the inspector's reasons to return one.
RECTIFICATION_ENTRIES = (
    "已按要求整改完毕，相关记录已补齐。",
    "已更换相关设施设备，并安排专人每日检查。",
    "已组织员工培训，建立台账并张贴制度。",
    "已清理整改，重新制定管理制度并落实到人。",
    "已补办相关证明材料。",
)
RECTIFICATION_NOTES = ("请审核。", "整改情况见各项说明。", "")
REJECTION_NOTES = (
    "整改说明过于笼统，未体现整改后的实际状态，请补充说明。",
    "现场核实仍有问题未整改到位。",
    "缺少整改台账，请补充后重新提交。",
)
CASE_NOTES = (
    "逾期未整改，已立案调查。",
    "逾期拒不整改，移送执法大队立案查处。",
)

EVALUATION_COMMENTS = {
    5: ("检查人员态度好，讲解清楚。", "指导很到位，谢谢。", ""),
    4: ("检查认真，提出的问题很具体。", ""),
    3: ("检查时间有点长，影响营业。", ""),
    2: ("部分要求解释不够清楚。", "检查人员态度生硬。"),
    1: ("对检查结论有异议。", "检查过程不够规范。"),
}

# Reports from the public, by scene (the scenes not listed use the general ones).
COMPLAINTS = {
    "catering": (
        "在店里吃饭吃出了头发，和店员反映没人理。",
        "后厨卫生很差，透过窗口能看到地上有垃圾。",
        "吃完饭后全家都拉肚子，怀疑食材不新鲜。",
        "店里没有公示食品经营许可证。",
        "外卖送来的菜是凉的，包装也没有封签。",
    ),
    "retail": (
        "货架上有过期食品在卖。",
        "买到的牛奶已经过了保质期。",
        "店内消防通道堆满了纸箱。",
    ),
    "pharmacy": (
        "没有处方也能买到处方药。",
        "药店营业时没有药师在岗。",
    ),
    "medical": ("诊所医疗废物随意堆放在门口。", "医生没有执业证书也在看病。"),
    "hotel": ("入住时没有登记身份证。", "房间床单明显没有更换。", "楼道安全出口被锁住。"),
    "elderly_care": ("养老院老人反映饭菜质量差。", "护理人员不足，老人无人照看。"),
    "childcare": ("托育机构人员太多，老师照看不过来。", "孩子接回来后发现身上有伤。"),
    "school_canteen": ("孩子说学校食堂的饭菜有异味。", "食堂工作人员不戴口罩和帽子。"),
    "entertainment": ("KTV营业到深夜噪音扰民。", "场所内安全出口指示灯不亮。"),
    "construction": ("工地夜间施工噪音很大。", "工地扬尘严重，没有覆盖。"),
    "hazardous_chemicals": ("加油站周边有人吸烟无人制止。",),
    "food_production": ("工厂排放的废水有异味。",),
}
GENERAL_COMPLAINTS = ("服务态度差，反映问题没人处理。", "店门口占道经营，影响通行。")
DISMISS_REASONS = (
    "反映内容属消费纠纷，已告知通过12315协商解决。",
    "反映事项不属于本部门职责，已告知向主管部门反映。",
    "反映内容不具体，无法核实。",
)

SELF_CHECK_NOTES = ("自查发现，正在整改。", "已列入整改计划。")
SELF_FIX_NOTES = ("已整改完毕，并加强日常检查。", "已补齐记录，安排专人负责。", "已组织员工培训。")

# Credit events: the deciding authority's short name in decision numbers, and what was decided.
DEPARTMENT_ABBREVIATIONS = {
    "market_regulation": "市监",
    "health": "卫健",
    "civil_affairs": "民政",
    "fire_rescue": "消",
    "ecology_environment": "环",
    "emergency_management": "应急",
    "education": "教",
    "housing_construction": "建",
    "culture_tourism": "文旅",
    "public_security": "公",
    "medical_products": "药监",
}
PENALTY_NOTES = ("警告并处罚款", "没收违法所得并处罚款", "罚款")
SUSPENSION_NOTE = "责令停产停业"
REVOCATION_NOTE = "吊销许可证"
DISHONESTY_NOTE = "列入严重违法失信名单"
REFUSAL_EVENT_NOTE = "拒绝、阻碍执法检查"

# The legacy system's records (imported history, the LIVES layout): its inspection types, verbatim,
# and its violations by severity.
LEGACY_KINDS = (
    ("Routine - Unscheduled", 70),
    ("Reinspection/Followup", 15),
    ("Complaint", 10),
    ("New Ownership", 5),
)
LEGACY_VIOLATIONS = {
    "minor": (("103154", "未按规定公示相关证照"), ("103144", "台账记录不完整"), ("103139", "环境卫生不达标")),
    "major": (
        ("103119", "从业人员未持有效健康证明"),
        ("103131", "设施设备维护不到位"),
        ("103124", "进货查验不规范"),
    ),
    "critical": (
        ("103103", "使用超过保质期的原料"),
        ("103109", "生熟混放，存在交叉污染"),
        ("103101", "无证经营"),
    ),
}
