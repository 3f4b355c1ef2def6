from django.urls import path

from . import views, views_outlook, views_trends

app_name = "scoring"
urlpatterns = [
    path("", views.index, name="index"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("trends/<int:year>/", views_trends.trends_page, name="trends"),
    path("trends/<int:year>/<str:chart>.xlsx", views_trends.trends_xlsx, name="trends_xlsx"),
    path("<int:year>/", views.scoreboard, name="scoreboard"),
    path("<int:year>/scores.xlsx", views.scoreboard_export, name="scoreboard_xlsx"),
    path("<int:year>/<str:code>/outlook/", views_outlook.outlook_page, name="outlook"),
    path("<int:year>/<str:code>/outlook/remind/", views_outlook.remind, name="outlook_remind"),
    path("<int:year>/<str:code>/", views.scoresheet, name="scoresheet"),
    path("<int:year>/<str:code>/scoresheet.xlsx", views.scoresheet_export, name="scoresheet_xlsx"),
    path("<int:year>/<str:code>/items/<int:number>/", views.item_detail, name="item"),
    path("<int:year>/<str:code>/items/<int:number>/cases.xlsx", views.item_cases_export, name="item_xlsx"),
]
