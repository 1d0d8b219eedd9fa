from django.contrib import admin
from django.urls import include, path

from founderops.api.api import api

admin.site.site_header = "FounderOps admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("founderops.web.urls")),
]
