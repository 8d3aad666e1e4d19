"""Waking a request that waits for its execution's end (`Prefer: wait`) over Redis pub/sub:
each thread keeps its subscriber connection between waits, and a late notice for an earlier
execution does not wake a later wait (executions/notify.py)."""

import threading
import time
import uuid

from executions.notify import LISTENER, publish_ended, wait_until


def _ended_soon(execution_id, after: float = 0.1) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(after), publish_ended(execution_id)))
    thread.start()
    return thread


def test_a_wait_wakes_on_the_end_notice_without_asking_again():
    execution_id = uuid.uuid4()
    asked = []
    notice = _ended_soon(execution_id)

    started = time.monotonic()
    assert wait_until(lambda: asked.append(1) and False, execution_id, 5) is True

    notice.join()
    assert time.monotonic() - started < 1.0  # woken by the notice, not by a timeout
    assert len(asked) == 1  # asked once, after subscribing


def test_a_thread_keeps_its_subscriber_between_waits():
    first, second = uuid.uuid4(), uuid.uuid4()
    _ended_soon(first)
    assert wait_until(lambda: False, first, 5) is True
    kept = LISTENER.pubsub
    connection = kept.connection

    _ended_soon(second)
    assert wait_until(lambda: False, second, 5) is True

    assert LISTENER.pubsub is kept and kept.connection is connection


def test_a_late_notice_for_an_earlier_execution_does_not_wake_the_next_wait():
    earlier, later = uuid.uuid4(), uuid.uuid4()
    assert wait_until(lambda: True, earlier, 1) is True  # it had ended already
    publish_ended(earlier)  # its notice arrives after that wait

    assert wait_until(lambda: False, later, 0.3) is False


def test_an_end_whose_notice_was_lost_is_found_within_a_second_or_so():
    execution_id = uuid.uuid4()
    looks = iter([False, True])  # ended without a notice, between the first and second look

    started = time.monotonic()
    assert wait_until(lambda: next(looks), execution_id, 5) is True
    assert time.monotonic() - started < 2.5
