"""Hub errors: every client exception as one HubError line naming what failed, never the token; and
bounded waits, so that a Hub that never answers is an error too."""

from __future__ import annotations

from contextlib import contextmanager

from huggingface_hub.errors import (
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

try:  # huggingface_hub 2.x talks through httpx2, 1.x through httpx: their connection errors
    import httpx2 as http_client
except ImportError:  # pragma: no cover
    import httpx as http_client

TransportError = http_client.HTTPError
HUB_CONNECT_SECONDS, HUB_READ_SECONDS = 10.0, 30.0


def bound_hub_waits(connect: float = HUB_CONNECT_SECONDS, read: float = HUB_READ_SECONDS) -> None:
    """Give huggingface_hub's HTTP client timeouts; by default it waits for ever, so a Hub that takes
    a connection and never answers kept the app from starting (CommitScheduler creates its repo
    as the app loads) and would hold the push thread for good. Its client's own hooks are kept."""
    from huggingface_hub import set_client_factory
    from huggingface_hub.utils import get_session

    hooks = get_session().event_hooks  # the default client's: the Hub's headers and token
    timeout = http_client.Timeout(read, connect=connect)
    set_client_factory(lambda: http_client.Client(event_hooks=hooks, follow_redirects=True, timeout=timeout))


class HubError(RuntimeError):
    """A Hub repo or revision is missing, the Hub refused a request, or it cannot be reached."""


@contextmanager
def hub_errors(what: str):
    """Turn the client's exceptions into one HubError line that names `what` (never the token)."""
    try:
        yield
    except RevisionNotFoundError:
        raise HubError(f"{what}: no such revision") from None
    except RepositoryNotFoundError:
        raise HubError(f"{what}: repository not found (or private, and no token with access)") from None
    except LocalEntryNotFoundError:
        raise HubError(f"{what}: not in the local cache and the Hub cannot be reached") from None
    except HfHubHTTPError as err:
        raise HubError(f"{what}: {str(err).splitlines()[0]}") from None
    except (TransportError, OSError) as err:
        raise HubError(f"{what}: the Hub cannot be reached ({err})") from None
