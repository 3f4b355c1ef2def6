from django.apps import AppConfig


class CaseSearchConfig(AppConfig):
    name = "cases.search"
    label = "case_search"
    verbose_name = "Case search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import index, routing_model  # noqa: F401  (connect the receivers that keep them current)
