"""Who is asking, read with what every request reads next: the user's profile, region and department.

Each page and API call reads the role (``cases.roles.role_of``) and the scope (``cases.scope``)
from ``user.profile``, and the header names the user's unit from the profile's region or
department: with Django's ModelBackend and DRF's TokenAuthentication that was two or three queries
after the user's own, on every request. These read them in the user's query.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

WITH_PROFILE = ("profile__region", "profile__department")


class ProfileBackend(ModelBackend):
    """ModelBackend whose session user comes with the profile, its region and its department.

    Listed before Django's ModelBackend (which stays for sessions signed in before, whose backend
    path the session names): a login it refuses stops there (PermissionDenied), so that wrong
    credentials are not hashed a second time by the ModelBackend after it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and password is not None:
            raise PermissionDenied
        return user

    def get_user(self, user_id):
        try:
            user = get_user_model()._default_manager.select_related(*WITH_PROFILE).get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class ProfileTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, the token's user read with the profile, region and department."""

    def authenticate_credentials(self, key):
        model = self.get_model()
        related = ["user", *(f"user__{path}" for path in WITH_PROFILE)]
        try:
            token = model.objects.select_related(*related).get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
