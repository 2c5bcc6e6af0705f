from django.contrib import admin
from django.urls import include, path, re_path

from playground import pages
from playground.api import docs, views

admin.site.site_header = "Playground administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", pages.home, name="home"),
    re_path(r"^api/v2/(?:piston/)?openapi\.json/?$", docs.openapi_json),
    re_path(r"^api/docs/?$", docs.docs_page),
    path("", include("playground.share.urls")),
]

# The public Piston instance serves its API under /api/v2/piston/, and clients
# written for it put that in their base URL: both prefixes work here.
# A trailing slash is accepted too, as Piston's router does.
API = r"^api/v2/(?:piston/)?"
urlpatterns += [
    re_path(API + r"runtimes/?$", views.runtimes),
    re_path(API + r"execute/?$", views.execute),
    re_path(API + r"packages/?$", views.packages_view),
]

handler400 = "playground.api.views.bad_request"
handler404 = "playground.api.views.not_found"
handler500 = "playground.api.views.server_error"
