"""Hub errors: every client exception as one HubError line naming what failed, never the token."""

from __future__ import annotations

from contextlib import contextmanager

from huggingface_hub.errors import (
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

try:  # huggingface_hub 2.x talks through httpx2, 1.x through httpx: their connection errors
    from httpx2 import HTTPError as TransportError
except ImportError:  # pragma: no cover
    from httpx import HTTPError as TransportError


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
