"""The HTTP fronts on top of the runtime: Function URLs and API Gateway REST APIs.

Which front sent an event and the request it describes (``request``: payload 2.0 or 1.0,
read from the event itself), the response prelude (``stream``), ``StreamingResponse``
(``responses``), BUFFERED-mode results for either front (``buffered``) and the CORS header
a REST API leaves to the function (``cors``); like the Rust runtime's ``lambda-http`` crate
over ``lambda-runtime``.
"""
