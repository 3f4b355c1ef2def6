"""App configurations the project adjusts for third-party apps."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    """django-axes (login throttling) under a Chinese name in the admin; axes itself has none."""

    verbose_name = _("Login protection")
