import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded evidence and import files go to a temporary folder, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
