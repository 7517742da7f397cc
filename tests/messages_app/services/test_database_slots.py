"""The IDLE listener's bounded database pool (services/idle_listener.DatabaseSlots): urgent work
(stores, Inbox passes) goes before the arrival steps, and one slot is always kept from them."""

import threading
import time
from concurrent.futures import CancelledError

import pytest

from messages_app.services.idle_listener import DatabaseSlots
from tests.messages_app.sync.test_idle_leases import wait_for


class Gate:
    """A job that records that it started and then waits until it is opened."""

    def __init__(self, name: str, log: list[str]):
        self.name, self.log, self.opened = name, log, threading.Event()

    def __call__(self) -> str:
        self.log.append(self.name)
        assert self.opened.wait(10), f"{self.name} was never opened"
        return self.name


def in_thread(fn, *args) -> tuple[threading.Thread, list]:
    result: list = []

    def run() -> None:
        try:
            result.append(fn(*args))
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_stores_run_while_the_arrival_steps_fill_every_slot_they_may_take():
    slots = DatabaseSlots(size=3)
    started: list[str] = []
    try:
        steps = [Gate(f"step-{index}", started) for index in range(3)]
        step_threads = [in_thread(slots.background, step) for step in steps]
        assert wait_for(lambda: len(started) == 2, 5, step=0.01)
        assert set(started) == {"step-0", "step-1"}  # the third waits: one slot is kept for stores

        store = Gate("store", started)
        store.opened.set()
        thread, result = in_thread(slots, store)
        thread.join(5)
        assert result == ["store"]  # ran in the kept slot while both step slots were busy
        assert "step-2" not in started

        steps[0].opened.set()
        assert wait_for(lambda: "step-2" in started, 5, step=0.01)
        for step in steps:
            step.opened.set()
        for (thread, result), step in zip(step_threads, steps, strict=True):
            thread.join(5)
            assert result == [step.name]
    finally:
        slots.shutdown()


def test_queued_stores_go_before_queued_arrival_steps():
    slots = DatabaseSlots(size=1)
    started: list[str] = []
    try:
        first = Gate("first", started)
        first_thread = in_thread(slots, first)
        assert wait_for(lambda: started == ["first"], 5, step=0.01)
        step = Gate("step", started)
        step.opened.set()
        step_thread = in_thread(slots.background, step)
        assert wait_for(lambda: len(slots._background) == 1, 5, step=0.01)
        store = Gate("store", started)
        store.opened.set()
        store_thread = in_thread(slots, store)
        assert wait_for(lambda: len(slots._urgent) == 1, 5, step=0.01)

        first.opened.set()
        for thread, _result in (first_thread, step_thread, store_thread):
            thread.join(5)
        assert started == ["first", "store", "step"]
    finally:
        slots.shutdown()


def test_an_error_reaches_the_caller_and_shutdown_cancels_what_is_queued():
    slots = DatabaseSlots(size=1)
    started: list[str] = []

    def refused() -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        slots(refused)
    busy = Gate("busy", started)
    busy_thread = in_thread(slots, busy)
    assert wait_for(lambda: started == ["busy"], 5, step=0.01)
    waiting_thread, waiting = in_thread(slots.background, Gate("never", started))
    assert wait_for(lambda: len(slots._background) == 1, 5, step=0.01)
    slots.shutdown()
    waiting_thread.join(5)
    assert len(waiting) == 1 and isinstance(waiting[0], CancelledError)
    busy.opened.set()
    busy_thread[0].join(5)
    assert busy_thread[1] == ["busy"]  # what was running finishes
    with pytest.raises(CancelledError):
        slots(lambda: None)
    assert "never" not in started


def test_arrival_steps_wait_for_a_burst_of_stores_to_end_but_not_for_ever():
    """While stores keep coming (a burst of new mail at many accounts), the follow-ups wait, so
    they take no CPU from the stores; once no store came for `quiet_s` they run. Steady stores
    delay a follow-up by at most `max_defer_s`."""
    slots = DatabaseSlots(size=3, quiet_s=0.4, max_defer_s=30)
    started: list[str] = []
    try:
        slots(lambda: None)  # a store: the quiet window starts now
        step = Gate("step", started)
        step.opened.set()
        step_thread = in_thread(slots.background, step)
        for _ in range(4):  # stores 0.2 s apart keep the window from closing
            assert slots(lambda: "stored") == "stored"
            time.sleep(0.2)
            assert started == []
        step_thread[0].join(5)
        assert step_thread[1] == ["step"]

        slots_capped = DatabaseSlots(size=3, quiet_s=10, max_defer_s=0.5)
        try:
            capped = Gate("capped", started)
            capped.opened.set()
            slots_capped(lambda: None)
            capped_thread = in_thread(slots_capped.background, capped)
            for _ in range(2):
                slots_capped(lambda: None)
                time.sleep(0.1)
            assert "capped" not in started
            capped_thread[0].join(5)  # ran after 0.5 s although stores kept the window open
            assert capped_thread[1] == ["capped"]
        finally:
            slots_capped.shutdown()
    finally:
        slots.shutdown()


def test_a_listeners_own_store_does_not_hold_back_its_own_follow_up():
    """The listener waits for its follow-up, so the store it made just before must not delay it
    (one account's next message would wait out the window); another thread's store does."""
    slots = DatabaseSlots(size=3, quiet_s=30, max_defer_s=60)
    try:
        started = time.monotonic()
        slots(lambda: None)
        assert slots.background(lambda: "followed up") == "followed up"
        assert time.monotonic() - started < 5

        other_store = in_thread(slots, lambda: None)
        other_store[0].join(5)
        step = Gate("step", [])
        step.opened.set()
        step_thread = in_thread(slots.background, step)
        step_thread[0].join(0.5)
        assert step_thread[0].is_alive()  # held back by the other thread's store
    finally:
        slots.shutdown()
