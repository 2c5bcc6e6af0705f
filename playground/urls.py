from django.contrib import admin
from django.urls import path

from playground import pages
from playground.api import views

admin.site.site_header = "Playground administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", pages.home, name="home"),
    path("api/v2/runtimes", views.runtimes),
    path("api/v2/execute", views.execute),
]

handler400 = "playground.api.views.bad_request"
handler404 = "playground.api.views.not_found"
handler500 = "playground.api.views.server_error"
