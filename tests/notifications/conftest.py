import pytest


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """These tests prove the outbox logic in-process: run Celery tasks eagerly even when the
    environment sets REDIS_URL (the integration tests start their own worker and broker)."""
    if request.node.module.__name__.endswith("test_celery_integration"):
        yield
        return
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before
