"""The Lambda handler: the site's WSGI application, streamed by ``lambda_streaming.wsgi``.

Django is set up once per execution environment, when Lambda imports this module (the cold
start); each invocation is then one request through ``application``.
"""

from streaming_site.wsgi import application

from lambda_streaming.wsgi import wsgi_handler

handler = wsgi_handler(application)
