"""The HTTP side, over the runtime: Function URLs and API Gateway REST APIs.

One front per event source (``function_url``: payload 2.0; ``rest_api``: payload 1.0), told
apart by ``front.front_for(event)``; each reads its events into one ``request.Request`` and
writes the response head and BUFFERED result its source expects. ``prelude`` sends status and
headers ahead of a stream (``HttpResponseStream``), ``responses`` has ``StreamingResponse``,
``headers`` the rules every header obeys, ``cors`` what a REST API leaves to the function.
Like the Rust runtime's ``lambda-http`` crate over ``lambda-runtime``.
"""
