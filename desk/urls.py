from django.urls import path

from . import views

app_name = "desk"

# The dashboard itself is the site's start page, named "home" in config/urls.py.
urlpatterns = [
    path("queues/extension/<int:pk>/<str:decision>/", views.decide_extension, name="decide_extension"),
]
