"""The bench app through Mangum: ordinary buffered handlers, no import of our layer.

``handler``: ``lifespan="off"``, Mangum at its fastest (the app has no lifespan work).
``default``: ``Mangum(app)`` as its README writes it; lifespan "auto" runs the app's startup
and shutdown around every invocation.
"""

from asgi_bench import app
from mangum import Mangum

handler = Mangum(app, lifespan="off")
default = Mangum(app)
