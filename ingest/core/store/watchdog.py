"""A client-side bound on every PostgreSQL round trip, for a server that stops answering altogether.

``statement_timeout`` is enforced by the server, so a frozen server (a stopped process, a stalled proxy) never
sends the cancellation and the client waits forever. The watchdog arms a timer around each statement and each
checkout ping; if the answer has not come when it fires, it shuts the connection's socket down, which turns the
wait into a connection error the store reports as one line. The limit is longer than ``statement_timeout`` so a
live server's own, clearer error comes first.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

__all__ = ["install_watchdog"]


def _sever(dbapi_connection: Any) -> None:
    try:
        duplicate = socket.socket(fileno=os.dup(dbapi_connection.fileno()))
    except (OSError, AttributeError, ValueError):
        return
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        duplicate.close()


def _arm(dbapi_connection: Any, limit_s: float) -> threading.Timer:
    timer = threading.Timer(limit_s, _sever, args=(dbapi_connection,))
    timer.daemon = True
    timer.start()
    return timer


def install_watchdog(engine: Engine, limit_s: float) -> None:
    """Bound every statement and every checkout of ``engine`` (PostgreSQL) to ``limit_s`` seconds of waiting."""

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        timer = _arm(dbapi_connection, limit_s)
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as exc:
            raise DisconnectionError(str(exc)) from exc
        finally:
            timer.cancel()

    @event.listens_for(engine, "before_cursor_execute")
    def _start(connection: Any, _cursor: Any, *_args: Any) -> None:
        connection.info.setdefault("concord_watchdogs", []).append(_arm(connection.connection.dbapi_connection, limit_s))

    def _stop(connection: Any) -> None:
        for timer in connection.info.pop("concord_watchdogs", []):
            timer.cancel()

    @event.listens_for(engine, "after_cursor_execute")
    def _done(connection: Any, *_args: Any) -> None:
        _stop(connection)

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        if context.connection is not None:
            _stop(context.connection)
