"""Settings of a small Django site served from Lambda by lambda_streaming.wsgi.

No database and no contrib apps: the example is about responses. Everything that differs
between deployments comes from the function's environment.
"""

from __future__ import annotations

import os
import secrets

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
# Set DJANGO_SECRET_KEY (from Secrets Manager, say) before anything is signed: without it each
# execution environment makes up its own key, which is fine only while nothing uses one.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
# The Function URL's or the API's host name, comma separated; "*" in the template so the
# example answers on whatever URL it gets (and locally under streamlab serve).
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")

ROOT_URLCONF = "streaming_site.urls"
WSGI_APPLICATION = "streaming_site.wsgi.application"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
DATABASES: dict[str, object] = {}
USE_TZ = True
