"""The bench app through apig-wsgi, as its README writes it: an ordinary buffered handler, no
import of our layer."""

from apig_wsgi import make_lambda_handler
from wsgi_bench import app

handler = make_lambda_handler(app)
