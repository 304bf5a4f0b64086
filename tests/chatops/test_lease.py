"""One replica at a time: a lease in chatops_leases, on a real nats-server, with clocks moved by hand."""

from __future__ import annotations

from nats.aio.client import Client

from chatops.lease import Leader
from chatops.streams import provision
from chatops.subjects import KV_LEASES


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def two(nc: Client) -> tuple[Clock, Leader, Leader]:
    """A clock and two replicas after the same lease, "first" and "second"."""
    js = nc.jetstream()
    await provision(js)
    kv = await js.key_value(KV_LEASES)
    clock = Clock()
    return (
        clock,
        Leader(kv, "job", "first", 30.0, clock=clock),
        Leader(kv, "job", "second", 30.0, clock=clock),
    )


async def test_one_holds_the_lease_another_takes_it_only_once_it_has_run_out(nc: Client) -> None:
    clock, first, second = await two(nc)

    assert await first.step() and first.holds()
    assert not await second.step() and not second.holds()
    clock.now += 20  # extended within its length: still the first's
    assert await first.step()
    clock.now += 25
    assert not await second.step()
    # The first stops extending (it died): once its lease has run out the second takes it.
    clock.now += 10
    assert not first.holds()  # a holder that could not extend stops calling itself one in time
    assert await second.step() and second.holds()
    assert not await first.step() and not first.holds()


async def test_a_holder_that_stops_gives_the_lease_up_at_once(nc: Client) -> None:
    _, first, second = await two(nc)
    assert await first.step()
    await first.stop()
    assert await second.step()
