"""Reference data of SPEC §1 and §8: Xinyang's regions, the categories and the channels."""

from __future__ import annotations

CITY = ("411500", "信阳市")
REGIONS = [
    ("411502", "浉河区"),
    ("411503", "平桥区"),
    ("411521", "罗山县"),
    ("411522", "光山县"),
    ("411523", "新县"),
    ("411524", "商城县"),
    ("411525", "固始县"),
    ("411526", "潢川县"),
    ("411527", "淮滨县"),
    ("411528", "息县"),
]
CATEGORIES = [
    ("market", "产销对接"),
    ("finance", "银企对接"),
    ("labour", "用工对接"),
    ("burden", "企业减负"),
    ("transition", "困难行业转型解困"),
    ("approval", "行政审批"),
    ("factors", "要素保障"),
    ("policy", "政策落实"),
    ("other", "其他"),
]
CHANNELS = [
    ("online", "网络平台"),
    ("hotline", "热线电话"),
    ("visit", "走访"),
    ("province", "省企业服务网"),
    ("letter", "来信来函"),
    ("other", "其他"),
]
ROLE_GROUPS = ["city_office", "county_office", "department", "assessor"]


def load(get_model) -> None:
    """Create what is missing; never overwrite what an office has edited."""
    Region = get_model("cases", "Region")
    Category = get_model("cases", "Category")
    Channel = get_model("cases", "Channel")
    Group = get_model("auth", "Group")
    Region.objects.get_or_create(code=CITY[0], defaults={"name": CITY[1], "level": "city"})
    for code, name in REGIONS:
        Region.objects.get_or_create(code=code, defaults={"name": name, "level": "county"})
    for position, (code, name) in enumerate(CATEGORIES):
        Category.objects.get_or_create(code=code, defaults={"name": name, "position": position})
    for position, (code, name) in enumerate(CHANNELS):
        Channel.objects.get_or_create(code=code, defaults={"name": name, "position": position})
    for group in ROLE_GROUPS:
        Group.objects.get_or_create(name=group)
