"""The bench app through serverless-wsgi's ``handle_request``: an ordinary buffered handler."""

from typing import Any

import serverless_wsgi
from wsgi_bench import app


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return serverless_wsgi.handle_request(app, event, context)  # type: ignore[no-any-return]
