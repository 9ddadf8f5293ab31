from django.urls import path

from streaming_site import views

urlpatterns = [
    path("", views.index, name="index"),
    path("text", views.text, name="text"),
    path("sse", views.sse, name="sse"),
    path("items", views.items, name="items"),
    path("echo", views.echo, name="echo"),
    path("hello/<str:name>", views.hello, name="hello"),
    path("session", views.session, name="session"),
]
