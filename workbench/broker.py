"""kombu's Redis transport, made to survive losing Redis with a task in flight.

When the broker connection drops, the worker closes its channel, and closing a channel
hands the unacknowledged messages back to Redis. By then kombu (5.7) has detached the
channel from its connection, so building a Redis client for that hand-back fails with
``AttributeError: 'NoneType' object has no attribute 'hostname'``: an error kombu does not
expect there, which stops the worker for good ("Unrecoverable error") instead of letting
it reconnect when Redis returns.

Here the same situation raises the connection error it is: kombu ignores connection
errors while closing, the worker reconnects, and the messages it could not hand back stay
in Redis's unacknowledged set, whence Redis restores them after the visibility timeout
(and a job whose message is lost for good is recovered by the job sweep).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection is closed")
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)
        return params


class Transport(kombu_redis.Transport):
    Channel = Channel
