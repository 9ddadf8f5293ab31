"""The bench app through lambda_streaming.wsgi: a streaming handler."""

from wsgi_bench import app

from lambda_streaming.wsgi import wsgi_handler

handler = wsgi_handler(app)
