"""What the stock runtime client does, done again so responses can stream.

Runtime API client (``api``), chunked framing, the loop, the context object, error documents,
logging and handler loading. Knows nothing of HTTP or of the app's content: like the Rust
runtime's ``lambda-runtime`` crate, it moves bytes between the Runtime API and a handler.
"""
