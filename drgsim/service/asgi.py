"""ASGI entry for multi-worker servers (``uvicorn drgsim.service.asgi:app --workers N``).

The app is built when a worker imports this module, from ``DRGSIM_*`` environment settings;
it is the only module that builds anything at import time, and nothing else imports it.
"""

import gc

from .app import create_app
from .server import configure
from .settings import ServiceSettings

_settings = ServiceSettings()  # type: ignore[call-arg]  # fields come from DRGSIM_*
app = create_app(_settings)
configure(_settings)  # this worker's request-head timeout
# the loaded scheme, policy and weights live as long as the worker: keep them out of the cyclic
# collector's full passes (which a 10,000-case batch's many small objects trigger)
gc.freeze()
