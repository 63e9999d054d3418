from django.contrib import admin
from django.urls import path

from admin2_tasks import views

app_name = "tasks"
# Mounted under the admin URL (tasks/), beside the TaskRun changelist at tasks/taskrun/.
urlpatterns = [
    path("status/", admin.site.admin_view(views.status), name="status"),
    path("run/", admin.site.admin_view(views.run), name="run"),
]
