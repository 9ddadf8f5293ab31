"""The lambda-streaming layer given by ARN, served with the local code.

A template may take the runtime as a published layer version
(``arn:aws:lambda:<region>:<account>:layer:lambda-streaming:<n>``) rather than from source.
Nothing is downloaded from AWS: the emulator lays out ``/opt`` from the ``lambda_streaming``
package importable in its own environment (a checkout's ``layers/streaming``, or the installed
wheel) and the ``stream-bootstrap`` wrapper beside it, as symlinks in its cache, so edits to
the package show up on the next cold start as they do for a layer given by path.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

from streamlab.emulator import provision

# Any account's layer named lambda-streaming (the name layers/streaming/template.yaml gives it).
_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:lambda-streaming:\d+$")


class LocalLayerMissing(provision.ProvisionError):
    """The template names the layer, but this environment has no lambda_streaming to serve."""


def is_streaming_layer_arn(arn: str) -> bool:
    return _ARN.match(arn) is not None


def local_layer(arn: str, notify: provision.Notify = provision._print) -> Path | None:
    """A local ``/opt`` stand-in for the lambda-streaming layer ``arn`` names, or None when
    ``arn`` names another layer."""
    if not is_streaming_layer_arn(arn):
        return None
    package, wrapper = _local_code()
    key = hashlib.sha256(f"{package}\0{wrapper}".encode()).hexdigest()[:12]
    root = provision.cache_root() / "layers" / f"lambda-streaming-local-{key}"

    def build(tmp: Path) -> None:
        (tmp / "python").mkdir()
        (tmp / "python" / "lambda_streaming").symlink_to(package, target_is_directory=True)
        (tmp / "stream-bootstrap").symlink_to(wrapper)

    provision._ensure(root, build, notify, f"serving the layer {arn} from {package}")
    return root


def _local_code() -> tuple[Path, Path]:
    """The lambda_streaming package this environment imports, and its wrapper: beside it where
    pip installed the wheel, or at the layer's root in a checkout (``layers/streaming``)."""
    spec = importlib.util.find_spec("lambda_streaming")
    if spec is None or spec.origin is None:
        raise LocalLayerMissing(
            "the template names the lambda-streaming layer by ARN, but lambda_streaming is not "
            "installed here (pip install lambda-streaming, or layers/streaming from a checkout)"
        )
    package = Path(spec.origin).resolve().parent
    for candidate in (package.parent / "stream-bootstrap", package.parents[1] / "stream-bootstrap"):
        if candidate.is_file():
            return package, candidate
    raise LocalLayerMissing(f"no stream-bootstrap beside {package}: reinstall lambda-streaming")
