"""What a receiver on case writes costs a case write: shared by bench_search (the search index)
and bench_routing (the routing model). Not collected by pytest."""

from __future__ import annotations

import random
import statistics
import time


def time_case_writes(n: int, receivers, *, prefix: str) -> tuple[float, float]:
    """Median ms of a case written through the services (create + assign + resolve, three
    transactions), with ``receivers`` — (signal, receiver, dispatch_uid) of Case — connected and
    disconnected, n cases each way, interleaved twice so that load on the machine hits both alike.
    Returns (with, without). The accounts are made as ``{prefix}_office`` / ``{prefix}_dept``."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cases import services
    from cases.models import Case, Category, Channel, Department, Region
    from cases.users import create_user
    from scoring.load_vocabulary import TOPICS, describe

    region = Region.objects.get(code="411528")
    office = create_user(f"{prefix}_office", role="county_office", region=region, password="x-bench-1")[0]
    department = Department.objects.filter(region=region, active=True).first()
    handler = create_user(f"{prefix}_dept", role="department", department=department, password="x-bench-1")[0]
    category, channel = Category.objects.get(code="factors"), Channel.objects.first()
    rng = random.Random(3)
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

    def one() -> float:
        started = time.perf_counter()
        case = services.create_case(
            by=office,
            region=region,
            enterprise_name="息县测试纺织有限公司",
            credit_code_value="91411528MA46H6U16J",
            category=category,
            channel=channel,
            description=describe(rng.choice(TOPICS), rng),
        )
        case = services.assign(case, by=office, department=department)
        services.resolve(
            case,
            by=handler,
            result="已协调供电公司完成增容改造，企业已恢复生产",
            evidence=[SimpleUploadedFile("说明.pdf", pdf, content_type="application/pdf")],
        )
        return (time.perf_counter() - started) * 1000

    results: dict[bool, list[float]] = {True: [], False: []}
    for _round in range(2):
        for connected in (True, False):
            if not connected:
                for signal, receiver, uid in receivers:
                    signal.disconnect(receiver, sender=Case, dispatch_uid=uid)
            try:
                results[connected].extend(one() for _ in range(n))
            finally:
                if not connected:
                    for signal, receiver, uid in receivers:
                        signal.connect(receiver, sender=Case, dispatch_uid=uid)
    return statistics.median(results[True]), statistics.median(results[False])
