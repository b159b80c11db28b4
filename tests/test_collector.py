"""The garbage collector after start-up (`bot.collector`): what start-up allocated is no
longer walked by collections, young collections are spaced out, and reference cycles
made afterwards are still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.collector import YOUNG_COLLECTION_EVERY, settle_after_startup


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_objects_are_frozen_and_later_cycles_still_collected() -> None:
    _, middle, oldest = gc.get_threshold()
    from_start_up = [Node()]
    assert any(found is from_start_up for found in gc.get_objects())

    settle_after_startup()

    assert gc.get_threshold() == (YOUNG_COLLECTION_EVERY, middle, oldest)
    assert gc.get_freeze_count() > 0
    assert not any(found is from_start_up for found in gc.get_objects())
    first, second = Node(), Node()
    first.other, second.other = second, first
    gone = weakref.ref(first)
    del first, second
    gc.collect()
    assert gone() is None
