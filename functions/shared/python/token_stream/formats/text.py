"""Raw text (``text/plain``): the tokens as they come, nothing else.

Plain ``curl`` users see just the generated text. Raw text has no room for metadata, so a
stream that ends abnormally gets one bracketed notice line at its end (the only way such a
client learns it was cut short); a complete stream is exactly the tokens.
"""

from __future__ import annotations

from token_stream.messages import Done, Error, Message, Token

MEDIA_TYPE = "text/plain; charset=utf-8"


def encode(message: Message) -> bytes:
    if isinstance(message, Token):
        return message.text.encode()
    if isinstance(message, Error):
        return f"\n[error {message.code}: {message.message}]\n".encode()
    if isinstance(message, Done) and message.reason == "deadline":
        return b"\n[stopped: the function reached its time limit]\n"
    return b""
