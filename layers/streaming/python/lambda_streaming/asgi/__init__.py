"""Run ASGI 3 apps (FastAPI, Starlette, sse-starlette) as streaming Lambda handlers.

``handler = asgi_handler(app)`` serves Function URL (payload 2.0) and API Gateway REST proxy
(payload 1.0) events with no web server in the function and no localhost hop: each
``http.response.body`` the app sends goes to the client as it is sent. Nothing in the runtime
imports this package; only handlers that use it pay for it (and for asyncio).
"""

from lambda_streaming.asgi.handler import asgi_handler

__all__ = ["asgi_handler"]
