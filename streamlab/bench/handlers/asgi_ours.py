"""The bench app through lambda_streaming.asgi: a streaming handler."""

from asgi_bench import app

from lambda_streaming.asgi import asgi_handler

handler = asgi_handler(app)
