"""What the functions stream: words, one at a time (replace it with your model or your job)."""

import time

WORDS = ["Streaming", "sends", "each", "piece", "as", "soon", "as", "it", "exists"]


def count(event: dict) -> int:
    """``?n=`` from the query string (Function URL and REST events alike), 1 to 50."""
    query = event.get("queryStringParameters") or {}
    try:
        return max(1, min(50, int(query.get("n", len(WORDS)))))
    except ValueError:
        return len(WORDS)


def words(n: int, delay_s: float = 0.1):
    for index in range(n):
        if index:
            time.sleep(delay_s)
        yield index, WORDS[index % len(WORDS)]
