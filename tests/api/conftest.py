import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api():
    """api(user) → a client logged in as that user (session auth, as the browser uses it)."""

    def client_for(user=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return client_for


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded evidence and import files go to a temporary folder, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
