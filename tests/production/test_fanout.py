"""The process's fan-out: one layer subscription per group, every local socket served once."""

import asyncio
import logging
import random

import channels.layers
import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer

from production.realtime import fanout

pytestmark = pytest.mark.usefixtures("channel_layers")


class Listener:
    def __init__(self, fail: bool = False) -> None:
        self.received: list[dict] = []
        self.fail = fail

    async def dispatch(self, message: dict) -> None:
        if self.fail:
            raise RuntimeError("socket gone")
        self.received.append(message)


def message(group: str, text: str) -> dict:
    return {"type": "order.updated", "group": group, "text": text}


async def settle(check, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def members(layer, group: str) -> int:
    if hasattr(layer, "groups"):  # in-memory layer
        return len(layer.groups.get(group, {}))
    return await layer.group_size(group)


async def test_many_sockets_on_one_order_are_one_member_and_each_gets_every_frame_in_order():
    layer = get_channel_layer()
    listeners = [Listener() for _ in range(50)]
    hubs = {await fanout.subscribe(layer, "order.a", listener) for listener in listeners}

    assert len(hubs) == 1
    assert await members(layer, "order.a") == 1
    await layer.group_send("order.a", message("order.a", "first"))
    await layer.group_send("order.a", message("order.a", "second"))
    await settle(lambda: all(len(listener.received) == 2 for listener in listeners))
    assert {tuple(m["text"] for m in listener.received) for listener in listeners} == {
        ("first", "second")
    }
    [hub] = hubs
    for listener in listeners:
        await hub.remove("order.a", listener)
    assert await members(layer, "order.a") == 0


async def test_other_groups_frames_do_not_reach_a_socket():
    layer = get_channel_layer()
    mine, theirs = Listener(), Listener()
    hub = await fanout.subscribe(layer, "order.mine", mine)
    await fanout.subscribe(layer, "order.theirs", theirs)

    await layer.group_send("order.theirs", message("order.theirs", "not for you"))
    await layer.group_send("order.mine", message("order.mine", "for you"))
    # One loop forwards both in order: had the first reached `mine`, it would be there by now.
    await settle(lambda: theirs.received and mine.received)
    assert [m["text"] for m in mine.received] == ["for you"]
    await hub.remove("order.mine", mine)
    await hub.remove("order.theirs", theirs)


async def test_the_last_socket_leaving_leaves_the_group_and_stops_the_hub():
    layer = get_channel_layer()
    first, second = Listener(), Listener()
    hub = await fanout.subscribe(layer, "order.a", first)
    await fanout.subscribe(layer, "order.a", second)
    tasks = hub.tasks

    await hub.remove("order.a", first)
    assert await members(layer, "order.a") == 1
    await hub.remove("order.a", second)
    assert await members(layer, "order.a") == 0
    assert hub.stopped and hub.tasks == ()
    await asyncio.wait(tasks, timeout=5)
    assert all(task.done() for task in tasks)

    # A socket arriving later gets a fresh hub, and its frames.
    later = Listener()
    new_hub = await fanout.subscribe(layer, "order.a", later)
    assert new_hub is not hub and new_hub.channel != hub.channel
    await layer.group_send("order.a", message("order.a", "hello again"))
    await settle(lambda: later.received)
    await new_hub.remove("order.a", later)


async def test_sockets_coming_and_going_at_once_leave_exactly_the_memberships_still_needed():
    layer = get_channel_layer()
    groups = ["order.x", "order.y", "order.z"]
    rng = random.Random(7)
    placed = [(groups[i % 3], Listener()) for i in range(300)]
    hubs = await asyncio.gather(*(fanout.subscribe(layer, g, listener) for g, listener in placed))
    # Everyone in x leaves, half of y leaves, while new sockets join z: all at once, shuffled.
    leaving = [
        (hub, g, listener)
        for hub, (g, listener) in zip(hubs, placed, strict=True)
        if g == "order.x" or (g == "order.y" and rng.random() < 0.5)
    ]
    joining = [Listener() for _ in range(50)]
    work = [hub.remove(g, listener) for hub, g, listener in leaving]
    work += [fanout.subscribe(layer, "order.z", listener) for listener in joining]
    rng.shuffle(work)
    await asyncio.gather(*work)

    assert await members(layer, "order.x") == 0
    assert await members(layer, "order.y") == 1
    assert await members(layer, "order.z") == 1
    gone = {id(listener) for *_, listener in leaving}
    staying = [listener for g, listener in placed if g == "order.y" and id(listener) not in gone]
    for group in ("order.x", "order.y", "order.z"):
        await layer.group_send(group, message(group, group))
    await settle(lambda: all(listener.received for listener in staying + joining))
    assert all(m["text"] == "order.y" for listener in staying for m in listener.received)
    assert all(m["text"] == "order.z" for listener in joining for m in listener.received)
    assert not any(listener.received for *_, listener in leaving)


async def test_a_failing_socket_does_not_stop_the_others(caplog):
    layer = get_channel_layer()
    broken, healthy = Listener(fail=True), Listener()
    hub = await fanout.subscribe(layer, "order.a", broken)
    await fanout.subscribe(layer, "order.a", healthy)
    with caplog.at_level(logging.ERROR, logger="production.realtime.fanout"):
        await layer.group_send("order.a", message("order.a", "one"))
        await layer.group_send("order.a", message("order.a", "two"))
        await settle(lambda: len(healthy.received) == 2)
    assert "could not deliver" in caplog.text
    await hub.remove("order.a", broken)
    await hub.remove("order.a", healthy)


class BreakableLayer(InMemoryChannelLayer):
    """Its receives fail once `down` is set, as they do when Redis stops or restarts."""

    def __init__(self) -> None:
        super().__init__()
        self.down = asyncio.Event()

    async def receive(self, channel: str) -> dict:
        receiving = asyncio.ensure_future(super().receive(channel))
        broken = asyncio.ensure_future(self.down.wait())
        done, pending = await asyncio.wait({receiving, broken}, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()
        if broken in done:
            raise ConnectionError("Connection closed by server.")
        return receiving.result()


async def test_a_failed_receive_closes_every_local_socket_and_a_new_hub_takes_over(caplog):
    # Redis may have come back without the hub's memberships: sockets must not stay open on a hub
    # that hears nothing. They are told (the consumers close with 4503, pages reconnect).
    layer = BreakableLayer()
    on_a, on_b, also_on_a = Listener(), Listener(), Listener()
    hub = await fanout.subscribe(layer, "order.a", on_a)
    await fanout.subscribe(layer, "order.b", on_b)
    await fanout.subscribe(layer, "order.a", also_on_a)
    tasks = hub.tasks
    with caplog.at_level(logging.ERROR, logger="production.realtime.fanout"):
        layer.down.set()
        await settle(lambda: hub.stopped and all(x.received for x in (on_a, on_b, also_on_a)))
    assert [listener.received for listener in (on_a, on_b, also_on_a)] == [[fanout.FAILED]] * 3
    assert "lost the channel layer" in caplog.text and "closing 3 sockets" in caplog.text
    assert len(caplog.records) == 1  # one line, not one per socket
    await asyncio.wait(tasks, timeout=5)
    assert all(task.done() for task in tasks)  # its receive and renew loops are gone
    await hub.remove("order.a", on_a)  # what the closing sockets do next: nothing to leave

    # Redis is back: a reconnecting socket joins through a new hub and hears the next change.
    layer.down.clear()
    reconnected = Listener()
    new_hub = await fanout.subscribe(layer, "order.a", reconnected)
    assert new_hub is not hub
    await layer.group_send("order.a", message("order.a", "after the outage"))
    await settle(lambda: reconnected.received)
    assert [m["text"] for m in reconnected.received] == ["after the outage"]
    await new_hub.remove("order.a", reconnected)


async def test_membership_is_renewed_before_the_layer_expires_it(monkeypatch):
    layer = InMemoryChannelLayer(group_expiry=2)  # the hub renews every second
    listener = Listener()
    hub = await fanout.subscribe(layer, "order.a", listener)
    joined_at = layer.groups["order.a"][hub.channel]
    now = joined_at
    # The layer's clock is the test's: the membership ages only as the test says.
    monkeypatch.setattr(channels.layers.time, "time", lambda: now)

    now = joined_at + 1.5  # the first membership still counts (2 s)...
    await settle(lambda: layer.groups["order.a"].get(hub.channel) == now)  # ...and is renewed
    now = joined_at + 3  # past the first membership's expiry, within the renewed one
    await layer.group_send("order.a", message("order.a", "still here"))
    await settle(lambda: listener.received)
    await hub.remove("order.a", listener)


async def test_a_change_is_expanded_once_per_process_and_every_socket_gets_its_frames_in_order(
    monkeypatch, caplog
):
    """`order.changed` carries ids only: the hub builds its frames once (not per socket), and
    the messages after it wait, so frames keep the order of the changes."""
    layer = get_channel_layer()
    built = []

    async def expand(change: dict) -> list[dict]:
        built.append(change["order"])
        if change["order"] == "broken":
            raise RuntimeError("database down")
        await asyncio.sleep(0.05 if change["order"] == "slow" else 0)  # a slow read
        return [message(change["group"], f"{change['order']}:{n}") for n in (1, 2)]

    monkeypatch.setitem(fanout.expanders, "order.changed", expand)
    listeners = [Listener() for _ in range(20)]
    hubs = {await fanout.subscribe(layer, "order.a", listener) for listener in listeners}
    for order in ("slow", "broken", "fast"):
        await layer.group_send(
            "order.a", {"type": "order.changed", "group": "order.a", "order": order}
        )
    await layer.group_send("order.a", message("order.a", "plain"))
    await settle(lambda: all(len(listener.received) == 5 for listener in listeners))

    assert built == ["slow", "broken", "fast"]  # once each, whatever the socket count
    assert {tuple(m["text"] for m in listener.received) for listener in listeners} == {
        ("slow:1", "slow:2", "fast:1", "fast:2", "plain")
    }
    assert "could not build the frames" in caplog.text  # the broken one: logged, skipped
    [hub] = hubs
    for listener in listeners:
        await hub.remove("order.a", listener)
