from django.urls import path

from . import views

app_name = "notices"
urlpatterns = [
    path("", views.notice_list, name="list"),
    path("offline/", views.offline_register, name="offline"),
    path("overview/", views.notice_overview, name="overview"),
    path("regions/<str:code>/draft/", views.notice_draft, name="draft"),
    path("regions/<str:code>/schedule/", views.schedule_edit, name="schedule"),
    path("<int:pk>/", views.notice_detail, name="detail"),
    path("<int:pk>/issue/", views.notice_issue, name="issue"),
    path("<int:pk>/redraft/", views.notice_redraft, name="redraft"),
    path("<int:pk>/correct/", views.notice_correct, name="correct"),
    path("<int:pk>/print/", views.notice_print, name="print"),
    path("<int:pk>/notice.xlsx", views.notice_download_xlsx, name="xlsx"),
    path("<int:pk>/notice.pdf", views.notice_download_pdf, name="pdf"),
    path("<int:pk>/document/", views.notice_document, name="document"),
]
