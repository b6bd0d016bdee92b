"""The operator's side of the control API: what `canonicalflow ctl` sends, over plain HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from canonicalflow.errors import CanonicalFlowError, DataError
from canonicalflow.live._config import LiveConfig
from canonicalflow.live._http import ENDPOINTS_FILE, read_token
from canonicalflow.live._node import LIVE_FILE

__all__ = ["ACTIONS", "ControlRefused", "control_request", "run_endpoint"]

ACTIONS = {
    "status": ("GET", "/status"),
    "enable": ("POST", "/trading/enable"),
    "disable": ("POST", "/trading/disable"),
    "kill": ("POST", "/kill"),
    "stop": ("POST", "/stop"),
}
_TIMEOUT_S = 10.0


class ControlRefused(CanonicalFlowError):
    """The node answered, and said no (a wrong token, a session already stopping)."""


def run_endpoint(run_dir: Path) -> tuple[str, Path]:
    """The control API's address and the token file of the live session in `run_dir`."""
    endpoints, recorded = run_dir / ENDPOINTS_FILE, run_dir / LIVE_FILE
    if not recorded.exists():
        raise DataError(f"{run_dir} holds no live session (no {LIVE_FILE})")
    config = LiveConfig.model_validate(json.loads(recorded.read_text()))
    if config.live.control is None:
        raise DataError(f"{run_dir}: its session has no control API ([live.control] in its configuration)")
    if not endpoints.exists():
        raise DataError(
            f"{run_dir}: no {ENDPOINTS_FILE}: its node is not serving (not started yet, or stopped)"
        )
    return json.loads(endpoints.read_text())["control"], config.live.control.token_file


def control_request(url: str, token_file: Path, action: str) -> dict[str, Any]:
    """Send `action` (a key of ACTIONS) to the control API at `url`; the node's JSON answer."""
    method, path = ACTIONS[action]
    if not url.startswith(("http://", "https://")):
        raise DataError(f"--url {url}: give the control API's address as http://HOST:PORT")
    token = read_token(token_file, "--token-file")
    headers = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url.rstrip("/") + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        reason = {
            401: "the token was refused",
            404: "not a live node's control API (is this the metrics port?)",
            409: "the session is already stopping",
        }.get(error.code, error.reason)
        raise ControlRefused(f"{url}{path}: {error.code} {reason}") from None
    except (urllib.error.URLError, OSError) as error:
        why = error.reason if isinstance(error, urllib.error.URLError) else error
        raise DataError(f"no live node answers at {url} ({why}); is it running?") from None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise DataError(f"{url}{path} answered, but not as a live node's control API does")
    return answer
