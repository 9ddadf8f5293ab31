"""Run WSGI apps (Flask, Django) as streaming Lambda handlers.

``handler = wsgi_handler(app)`` serves Function URL (payload 2.0) and API Gateway REST proxy
(payload 1.0) events with no web server in the function and no localhost hop: each item of
the app's body iterable goes to the client as it is produced. Nothing in the runtime imports
this package; only handlers that use it pay for it.
"""

from lambda_streaming.wsgi.handler import wsgi_handler

__all__ = ["wsgi_handler"]
