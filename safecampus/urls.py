from django.urls import include, path
from django.views.i18n import set_language

from safecampus.api import urls as api
from safecampus.dashboards import views as dashboards
from safecampus.notify import views as notify_views
from safecampus.orgs import views_login

urlpatterns = [
    # First: the API's calls are the busiest requests, and resolving tries these in order.
    path("api/v1/", api.urls()),
    path("", dashboards.home, name="home"),
    path("login/", views_login.login_view, name="login"),
    path("logout/", views_login.logout_view, name="logout"),
    path("account/password/", views_login.password_change, name="password_change"),
    path(
        "account/reset/<uidb64>/<token>/",
        views_login.PasswordResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path("i18n/setlang/", set_language, name="set_language"),
    path("orgs/", include("safecampus.orgs.urls")),
    path("admin/", include("safecampus.administration.urls")),
    path("audit/", include("safecampus.administration.audit_urls")),
    path("notices/", include("safecampus.notices.urls")),
    path("notify/", include("safecampus.notify.urls")),
    path("reports/", include("safecampus.reports.urls")),
    path("duty/", include("safecampus.duty.urls")),
    path("incidents/", include("safecampus.incidents.urls")),
    path("hazards/", include("safecampus.hazards.urls")),
    path("routines/", include("safecampus.routines.urls")),
    path("drills/", include("safecampus.drills.urls")),
    path("levels/", include("safecampus.levels.urls")),
    path("campaigns/", include("safecampus.campaigns.urls")),
    path("n/ack/<str:token>/", notify_views.ack, name="ack"),
]

# Under /api/ these answer in the API's JSON shape; elsewhere Django's pages (api/errors.py).
handler400 = "safecampus.api.errors.bad_request"
handler403 = "safecampus.api.errors.permission_denied"
handler404 = "safecampus.api.errors.page_not_found"
handler500 = "safecampus.api.errors.server_error"
