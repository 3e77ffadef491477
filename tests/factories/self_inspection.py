"""The self-inspection tests' content (published by the ``checklists`` fixture of
tests/supervision/self_inspection/conftest.py) and a way to find one of its items."""

from checklists.models import ChecklistItem

# The catering scene's content in these tests: two departments, four items, one of which applies
# only to businesses that sell through delivery platforms.
MARKET_ITEMS = [
    {
        "code": "hand-washing",
        "question": "从业人员是否规范洗手？",
        "question_en": "Do staff wash their hands properly?",
        "severity": "minor",
        "method": "look",
        "clause_code": "hygiene-1",
        "required_action": "张贴洗手流程",
    },
    {"code": "licence-displayed", "question": "是否公示许可证？", "severity": "major", "method": "document"},
    {
        "code": "delivery-seal",
        "question": "外卖是否使用封签？",
        "severity": "critical",
        "method": "look",
        "applies_if": "online_delivery",
    },
]
FIRE_ITEMS = [
    {"code": "extinguisher", "question": "灭火器是否在有效期内？", "severity": "major", "method": "look"}
]


def item_of(self_inspection, code: str) -> ChecklistItem:
    return ChecklistItem.objects.get(checklist__in=self_inspection.checklists.all(), code=code)
