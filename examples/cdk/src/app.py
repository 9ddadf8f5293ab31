"""Counts to five, one line every 200 ms: each line reaches the client as it is written."""

import time

from lambda_streaming import StreamingResponse


def handler(event, context):
    def lines():
        for n in range(1, 6):
            yield f"{n}\n"
            time.sleep(0.2)

    return StreamingResponse(lines(), media_type="text/plain; charset=utf-8")
