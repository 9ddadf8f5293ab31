"""An invocation's result on the wire: the buffered response, and ``next`` sent behind it.

The Runtime API answers a connection's requests in order, so ``next`` can leave in the same
write as a result's last bytes (HTTP/1.1 pipelining, RFC 9112 section 9.3.2) and the event
follows the result's 202 without another round trip. Only once the function's code is done:
Lambda counts ``next`` as the invocation's end and may freeze the environment from then on, so
work after a handler's own ``end()`` (or an ASGI app's background tasks) must come first. Such
a stream leaves its reply owed; ``end_invocation`` sends ``next`` and reads it.

Built on ``api``'s transport and loaded with the first invocation: reaching the first ``next``
needs none of it (the Rust runtime splits its requests from its client the same way).
"""

from __future__ import annotations

from lambda_streaming.runtime.api import PREFIX, RuntimeApiError

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Sequence

    from lambda_streaming.runtime.api import RuntimeApiClient


def post(
    client: RuntimeApiClient,
    path: str,
    body: bytes,
    headers: bytes,
    ends_invocation: bool = False,
) -> None:
    """POST ``body`` with ``headers`` (whole lines); anything but a 2xx raises.

    ``ends_invocation``: the invocation's result, so ``next`` goes out behind it.
    """
    head = (
        f"POST {path} HTTP/1.1\r\n".encode("latin-1")
        + client.common_headers
        + headers
        + b"Content-Length: %d\r\n\r\n" % len(body)
    )
    parts = (head, body) if body else (head,)
    if ends_invocation:
        send_with_next(client, parts, may_connect=True)
    else:
        client.send(parts, may_connect=True)
    status, _, reply = client.read_response(path)
    expect_accepted(path, status, reply)


def post_response(
    client: RuntimeApiClient,
    request_id: str,
    body: bytes,
    content_type: str,
    ends_invocation: bool = False,
) -> None:
    """A buffered result, with the event's invocation id echoed."""
    headers = f"Content-Type: {content_type}\r\n".encode("latin-1") + client.echo_header(request_id)
    post(client, f"{PREFIX}/invocation/{request_id}/response", body, headers, ends_invocation)


def send_with_next(
    client: RuntimeApiClient, parts: Sequence[bytes], may_connect: bool = False
) -> None:
    """Send a result's last bytes with the ``next`` request right behind them."""
    client.send((*parts, client.next_request), may_connect)
    client.next_pending = True


def end_invocation(client: RuntimeApiClient) -> None:
    """The function's code is done: ``next`` goes out, then the reply a result still owes is
    read (a refusal raises ``RuntimeApiError``; the event stays for ``client.next()``)."""
    path, client.owed_reply = client.owed_reply, None
    if path is None:
        return
    send_with_next(client, ())  # on the result's connection, whose reply is on its way
    status, _, reply = client.read_response(path)
    expect_accepted(path, status, reply)


def expect_accepted(path: str, status: int, body: bytes) -> None:
    if not 200 <= status < 300:
        raise RuntimeApiError(path, status, body)
