"""Routes of sharing: snippets, embeds, oEmbed, collections and accounts."""

from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from playground.share import accounts, collections, oembed, pages

ID = r"(?P<snippet_id>[A-Za-z0-9]{12,32})"

urlpatterns = [
    re_path(r"^api/snippets/?$", pages.create, name="snippet-create"),
    re_path(rf"^s/{ID}/?$", pages.snippet_page, name="snippet"),
    re_path(rf"^embed/{ID}/?$", pages.embed_page, name="embed"),
    path("oembed", oembed.oembed, name="oembed"),
    path("collections/", collections.mine, name="collections"),
    path("collections/<str:collection_id>/", collections.edit, name="collection-edit"),
    path("c/<str:collection_id>/", collections.overview, name="collection"),
    path("c/<str:collection_id>/<int:number>/", collections.step, name="step"),
    path("accounts/login/", accounts.SignIn.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", accounts.signup, name="signup"),
]
