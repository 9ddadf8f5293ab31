// Bench handlers for AWS's Node.js runtime interface client (npm aws-lambda-ric).
// Twins of buffered.py and streamed.py: same results, same write pattern, so the figures compare.
import { once } from "node:events";

const pieces = new Map();

export const noop = async () => ({ ok: true });

export const noopStreamed = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write("ok");
  responseStream.end();
});

// Writes event.total bytes in event.piece-byte writes, honouring back-pressure as a
// well-behaved Node handler must (otherwise it would only measure memory growth).
export const bulk = awslambda.streamifyResponse(async (event, responseStream) => {
  const total = Number(event.total);
  const pieceSize = Number(event.piece);
  let piece = pieces.get(pieceSize);
  if (piece === undefined) {
    piece = Buffer.alloc(pieceSize, "x");
    pieces.set(pieceSize, piece);
  }
  let left = total;
  while (left > 0) {
    const chunk = left >= pieceSize ? piece : piece.subarray(0, left);
    left -= chunk.length;
    if (!responseStream.write(chunk)) {
      await once(responseStream, "drain");
    }
  }
  responseStream.end();
});
