from django.urls import path

from . import views, views_staff

app_name = "desk"

# The dashboard itself is the site's start page, named "home" in config/urls.py.
urlpatterns = [
    path("queues/extension/<int:pk>/<str:decision>/", views.decide_extension, name="decide_extension"),
    path("users/", views_staff.user_list, name="users"),
    path("users/new/", views_staff.user_add, name="user_add"),
    path("users/changes/", views_staff.user_changes, name="user_changes"),
    path("users/<int:pk>/password/", views_staff.user_password, name="user_password"),
    path("users/<int:pk>/active/", views_staff.user_active, name="user_active"),
]
