"""The content_io tests' files: a valid catering file (VALID), a way to make variants of it
(mutate) and a market-regulation checklist as CSV (CSV_TEXT). The tests name lines of these texts by
number: change them together with tests/checklists/content_io/."""

VALID = """\
scene: catering
manual:
  title: 餐饮服务经营者合规手册
  title_en: Compliance manual for catering businesses
  summary: 本手册依据食品安全法编写。
  chapters:
    - title: 许可与公示
      title_en: Licence and public notices
      clauses:
        - code: licence-displayed
          text: 在经营场所显著位置悬挂食品经营许可证正本。
          text_en: Display the original food business licence prominently.
          law: 中华人民共和国食品安全法
          article: 第三十五条
    - title: 从业人员
      clauses:
        - code: staff-health
          text: |
            从业人员每年进行健康检查，
            取得健康证明后方可上岗。
          law: 中华人民共和国食品安全法
          article: 第四十五条
        - code: staff-training
          text: 每年对从业人员进行食品安全培训。
          law: 中华人民共和国食品安全法
          article: 第四十四条
checklists:
  - department: market_regulation
    title: 餐饮服务食品安全监督检查单
    title_en: Food safety inspection checklist for catering
    items:
      - code: cat-mr-licence
        question: 是否在显著位置公示有效的食品经营许可证？
        question_en: Is a valid food business licence displayed prominently?
        law: 中华人民共和国食品安全法
        article: 第三十五条
        severity: major
        method: look
        clause: licence-displayed
        required_action: 立即公示有效许可证。
        required_action_en: Display the valid licence at once.
      - code: cat-mr-health
        question: 从业人员是否持有有效健康证明？
        law: 中华人民共和国食品安全法
        article: 第四十五条第一款
        severity: critical
        method: document
        clause: staff-health
      - code: cat-mr-delivery
        question: 网络订餐是否使用食品安全封签？
        law: 网络餐饮服务食品安全监督管理办法
        article: 第十六条
        severity: minor
        method: ask
        applies_if: online_delivery
  - department: fire_rescue
    title: 餐饮场所消防安全检查单
    items:
      - code: cat-fr-gas-alarm
        question: 燃气使用场所是否安装可燃气体探测报警装置？
        law: 中华人民共和国消防法
        article: 第十六条
        severity: critical
        method: look
        applies_if: uses_gas
"""


def mutate(*replacements: tuple[str, str], text: str = VALID) -> str:
    for old, new in replacements:
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    return text


CSV_TEXT = """\
question,code,severity,method,law,article,clause,applies_if
是否公示许可证？,cat-mr-licence,major,look,中华人民共和国食品安全法,第三十五条,,
"是否有健康证明？
（抽查三人）",cat-mr-health,critical,document,中华人民共和国食品安全法,第四十五条,staff-health,
是否使用封签？,cat-mr-seal,minor,ask,网络餐饮服务食品安全监督管理办法,第十六条,,online_delivery
"""
