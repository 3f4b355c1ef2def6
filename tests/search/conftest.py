"""A county's history built through the services: three departments, three topics."""

from __future__ import annotations

import pytest

from cases import services
from cases.models import Category, Department
from tests.conftest import pdf_file

TOPICS = {
    "power": (
        "浉河区供电公司",
        "factors",
        [
            "企业扩大生产需要用电增容，变压器容量不足，申请报装两个月未批复",
            "新建厂房用电报装进度慢，专用变压器迟迟不能送电",
            "生产线频繁停电，希望供电线路改造并解决用电增容",
            "申请双电源供电，供电方案一直没有答复",
        ],
    ),
    "labour": (
        "浉河区人社局",
        "labour",
        [
            "季节性用工缺口约80人，招工难，希望组织用工对接",
            "稳岗补贴申领材料被退回，不清楚社保缴费证明要求",
            "技术工人招聘困难，希望开展技能培训和招聘会",
            "职工社保补贴迟迟没有到账，申领流程不清楚",
        ],
    ),
    "finance": (
        "浉河区金融工作局",
        "finance",
        [
            "流动资金贷款到期，银行续贷审批周期过长，希望银企对接",
            "抵押物评估费用偏高，贷款担保公司反担保要求过严",
            "企业融资难，希望协调应急转贷资金解决过桥资金",
            "贷款贴息政策申请后一直未兑现，银行利率偏高",
        ],
    ),
}
# Texts not in the history, one per topic.
NEW_TEXTS = {
    "power": "我公司新上两条生产线，用电负荷增加，需要用电增容并新装一台变压器",
    "labour": "订单增加后普工短缺，想申请稳岗补贴并参加用工对接招聘会",
    "finance": "银行贷款即将到期，续贷资料已提交，希望协调银企对接解决融资问题",
}


@pytest.fixture
def topic_departments(region_a):
    return {topic: Department.objects.create(region=region_a, name=name) for topic, (name, _c, _t) in TOPICS.items()}


def dept_user_for(department):
    from cases.users import create_user

    user, _ = create_user(f"user_{department.pk}", role="department", department=department, password="x-pass-1")
    return user


@pytest.fixture
def county_history(make_case, county_a, topic_departments):
    """Every topic text logged, routed to its department and resolved on time."""
    users = {topic: dept_user_for(d) for topic, d in topic_departments.items()}
    cases = {}
    for topic, (_name, category_code, texts) in TOPICS.items():
        category = Category.objects.get(code=category_code)
        for text in texts:
            case = make_case(description=text, category=category)
            services.assign(case, by=county_a, department=topic_departments[topic])
            services.resolve(case, by=users[topic], result="已协调解决", evidence=[pdf_file()])
            cases.setdefault(topic, []).append(case)
    return cases
