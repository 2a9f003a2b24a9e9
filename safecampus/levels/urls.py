from django.urls import path

from . import views

app_name = "levels"
urlpatterns = [
    path("", views.index, name="index"),
    path("orders/new/", views.order_new, name="order-new"),
    path("orders/<int:pk>/", views.order, name="order"),
    path("orders/<int:pk>/progress/", views.order_progress, name="progress"),
    path("orders/<int:pk>/chase/", views.order_chase, name="chase"),
    path("orders/<int:pk>/end/", views.order_end, name="end"),
    path("orders/<int:pk>/units/<int:unit_id>/", views.order_unit, name="unit"),
    path("orders/<int:pk>/units/<int:unit_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path(
        "orders/<int:pk>/units/<int:unit_id>/measures/<int:measure_id>/",
        views.confirm,
        name="confirm",
    ),
    path("measures/", views.measures, name="measures"),
]
