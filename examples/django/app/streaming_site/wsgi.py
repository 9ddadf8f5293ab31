"""The WSGI application, as any server (gunicorn, ``manage.py runserver``) or Lambda takes it."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streaming_site.settings")

application = get_wsgi_application()
