"""The HTTP fronts on top of the runtime: Function URLs and API Gateway REST APIs.

The response prelude (``stream``), ``StreamingResponse`` (``responses``) and BUFFERED-mode
results (``buffered``); like the Rust runtime's ``lambda-http`` crate over ``lambda-runtime``.
"""
