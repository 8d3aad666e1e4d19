"""The Redis broker transport, with one defect of kombu 5.7 / Celery 5.7 worked around.

When the worker loses the broker, Celery 5.7's consumer first `collect()`s the broken connection
(which detaches the transport from its kombu `Connection`) and then closes it. Closing the
default channel restores its unacknowledged messages, and a task that finishes after the
reconnect acknowledges through the channel it came from: both ask the detached transport for
its connection parameters and get `None.hostname`, an `AttributeError` that Celery does not
treat as a connection error, so the worker stops for good ("Unrecoverable error"). Seen on
every few broker restarts with 8 pool processes and late acknowledgement.

Here a channel whose transport is gone says so with a Redis `ConnectionError`, which Celery
and kombu handle as the connection loss it is: the close goes on, the late acknowledgement is
logged and dropped (the message comes back after the visibility timeout, and the execution's
lease makes that second delivery a no-op), and the worker reconnects.

Selected by `CELERY_BROKER_TRANSPORT` in settings whenever the broker is Redis.
"""

from typing import Any

import redis
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport is None or transport.client is None:
            raise redis.exceptions.ConnectionError("the broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
