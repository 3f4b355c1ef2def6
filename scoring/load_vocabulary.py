"""Vocabulary of the synthetic year (``generate_load``): what enterprises write, by topic.

Each topic names the department that handles it in a county and the category an office files it
under; a case's description is built from the topic's own phrases with common openings and asks,
so texts of one topic share words the way real ones do, while the category alone does not decide
the department (要素保障 covers power, land and water; 政策落实 taxes and subsidies). Routing
suggestions and search are measured on these texts (tests/benchmarks/bench_routing.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    department: str  # the county department's name after the county's own name
    category: str  # category code
    subjects: tuple[str, ...]
    problems: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        "供电公司",
        "factors",
        ("新建厂房", "二期生产线", "扩建车间", "新上设备"),
        (
            "需要用电增容，变压器容量不足，报装申请迟迟未批复",
            "频繁停电，供电线路老化需要改造",
            "申请双电源供电，供电方案一直没有答复",
            "专用变压器安装后迟迟不能送电",
            "电价优惠政策未落实，峰谷电价执行有误",
        ),
    ),
    Topic(
        "自然资源局",
        "factors",
        ("项目用地", "厂区扩建用地", "标准化厂房", "新建仓储"),
        (
            "用地指标不足，土地证办理停滞",
            "不动产登记办理缓慢，影响抵押融资",
            "规划许可与土地出让条件不一致",
            "征地拆迁补偿未到位，项目无法开工",
            "土地出让金分期缴纳申请未获答复",
        ),
    ),
    Topic(
        "人力资源和社会保障局",
        "labour",
        ("普工招聘", "技术工人", "季节性用工", "职工社保"),
        (
            "用工缺口较大，招工难，希望组织用工对接招聘会",
            "稳岗补贴申领材料被退回，社保缴费证明要求不清楚",
            "技能培训补贴迟迟未拨付",
            "社保补贴申领流程复杂，至今未到账",
            "以工代训补贴标准不明确",
        ),
    ),
    Topic(
        "税务局",
        "policy",
        ("增值税", "研发费用", "出口业务", "企业所得税"),
        (
            "留抵退税申请三个月未到账",
            "研发费用加计扣除政策不清楚，希望税务辅导",
            "出口退税审核周期过长",
            "减税降费政策执行不到位，发票开具受限",
            "税收优惠备案资料被反复退回",
        ),
    ),
    Topic(
        "金融工作局",
        "finance",
        ("流动资金贷款", "技改贷款", "应急转贷", "担保融资"),
        (
            "贷款到期续贷审批周期过长，希望银企对接",
            "抵押物评估费用偏高，担保公司反担保要求过严",
            "融资难融资贵，希望协调过桥资金",
            "贷款贴息政策申请后一直未兑现",
            "无还本续贷申请被银行拒绝",
        ),
    ),
    Topic(
        "市场监督管理局",
        "approval",
        ("营业执照", "产品质量检验", "商标注册", "计量器具"),
        (
            "企业名称变更后证照不一致，变更登记办理缓慢",
            "产品质量检验周期过长影响出货",
            "商标被仿冒侵权，希望查处",
            "特种设备检验排队时间过长",
            "食品生产许可证延续办理材料反复补正",
        ),
    ),
    Topic(
        "住房和城乡建设局",
        "approval",
        ("厂房建设", "办公楼", "职工宿舍", "配套工程"),
        (
            "施工许可办理时限过长",
            "消防验收一直未通过，整改意见不明确",
            "竣工验收备案办理缓慢",
            "建设工程规划核实迟迟不安排",
            "图审意见反复修改影响开工",
        ),
    ),
    Topic(
        "生态环境局",
        "approval",
        ("新建项目", "技改项目", "污水处理设施", "锅炉改造"),
        (
            "环评审批材料反复补正",
            "排污许可证迟迟未发放",
            "环保督查限产要求不明确，影响正常生产",
            "危废处置渠道不畅，贮存超期",
            "环评批复后变更手续办理缓慢",
        ),
    ),
    Topic(
        "商务局",
        "market",
        ("本地产品", "外贸订单", "电商销售", "展销活动"),
        (
            "希望产销对接进入大型商超渠道",
            "产品进入政府采购目录受阻",
            "外贸订单下滑，希望参加境外展会补贴",
            "电商平台入驻费用高，希望组织产销对接会",
            "出口信用保险补贴申请未兑现",
        ),
    ),
    Topic(
        "工业和信息化局",
        "transition",
        ("技术改造", "数字化转型", "专精特新申报", "产能调整"),
        (
            "技改资金补贴未拨付",
            "专精特新企业认定材料被退回",
            "数字化转型项目补助标准不清楚",
            "行业低迷产能过剩，希望转型解困指导",
            "兼并重组手续复杂，希望协调",
        ),
    ),
    Topic(
        "发展和改革委员会",
        "burden",
        ("项目立项", "涉企收费", "惠企政策", "重点项目"),
        (
            "项目立项备案办理缓慢",
            "涉企收费项目不清，存在乱收费",
            "惠企政策兑现慢，企业减负政策落实不到位",
            "重点项目审批环节多，希望开通绿色通道",
            "检查频次过高影响生产，希望企业减负",
        ),
    ),
    Topic(
        "水利局",
        "factors",
        ("生产用水", "取水许可", "厂区排水", "防洪设施"),
        (
            "取水许可证办理缓慢，生产用水紧张",
            "厂区排水管网堵塞，雨季积水严重",
            "供水管网压力不足影响生产",
            "防洪设施建设影响厂区通行",
            "水资源费征收标准不清楚",
        ),
    ),
)

DEPARTMENT_NAMES = tuple(topic.department for topic in TOPICS)

OPENINGS = ("", "我公司", "本企业", "企业负责人反映：", "经走访了解，企业", "企业来电反映，")
ASKS = (
    "，恳请协调解决。",
    "，希望尽快解决。",
    "，请求相关部门协调。",
    "，影响正常生产经营，请帮助解决。",
    "。",
    "，企业多次反映未果，希望给予答复。",
)


def describe(topic: Topic, rng: random.Random, enterprise: str = "") -> str:
    """One enterprise's description of a problem of this topic."""
    opening = rng.choice(OPENINGS)
    if opening == "" and enterprise:
        opening = f"{enterprise}反映："
    return f"{opening}{rng.choice(topic.subjects)}{rng.choice(topic.problems)}{rng.choice(ASKS)}"
