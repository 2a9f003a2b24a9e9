from django.urls import path

from . import views

app_name = "hazards"
urlpatterns = [
    path("", views.ledger, name="ledger"),
    path("new/", views.hazard_new, name="new"),
    path("ledger.xlsx", views.ledger_xlsx, name="xlsx"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("photos/<int:pk>/original/", views.photo, {"original": True}, name="photo-original"),
    path("<int:pk>/", views.hazard_detail, name="detail"),
    path("<int:pk>/<str:action>/", views.hazard_action, name="action"),
]
