"""The client subcommands: pure argument parsers, the calls, and table renderers."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from datetime import date
from typing import cast

import grpc
from tabulate import tabulate

from chatops.samplers import RATED
from petstore.client import PetstoreClient
from petstore.model import Pet, PetKind
from petstore.sampler import KIND, WRITTEN, SamplerSpec, SamplerSpecError
from petstore.v1 import petstore_pb2 as pb

KIND_WORDS = {
    "canine": PetKind.CANINE, "dog": PetKind.CANINE,
    "feline": PetKind.FELINE, "cat": PetKind.FELINE,
    "bird": PetKind.BIRD,
    "reptile": PetKind.REPTILE, "lizard": PetKind.REPTILE, "snake": PetKind.REPTILE,
}  # fmt: skip


def kind_arg(text: str) -> PetKind:
    """`canine`/`dog`, `feline`/`cat`, `bird`, `reptile`."""
    try:
        return KIND_WORDS[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"unknown pet type {text!r}; use canine, feline, bird or reptile"
        ) from None


def date_arg(text: str) -> date:
    """A YYYY-MM-DD date."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2019-04-01") from None


def sampler_arg(text: str) -> SamplerSpec:
    """`never`, `always` or `float:RATE`."""
    try:
        return SamplerSpec.parse(text)
    except SamplerSpecError as exc:
        raise argparse.ArgumentTypeError(f"bad sampler {text!r}: {exc}") from None


def kind_name(value: int) -> str:
    try:
        return PetKind(value).name.lower()
    except ValueError:
        return f"unknown({value})"


def pets_table(pets: Sequence[pb.Pet]) -> str:
    """Pets as a plain-text table, one row each."""
    rows = [
        [p.id, p.name, kind_name(p.type), f"{p.birthday.year:04}-{p.birthday.month:02}-{p.birthday.day:02}"]
        for p in pets
    ]
    return tabulate(rows, headers=["id", "name", "type", "birthday"])


def sampler_text(s: pb.Sampler) -> str:
    name = KIND.get(s.type, "unspecified")
    return f"{name}:{s.float_value:g}" if name == RATED else name


def add_arguments(new: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Register add, search, update, delete and sampler; `new(name, help)` makes each parser."""
    p = new("add", "add a pet and print it with its new id")
    p.add_argument("name")
    p.add_argument("type", type=kind_arg, help="canine, feline, bird or reptile")
    p.add_argument("birthday", type=date_arg, help="YYYY-MM-DD")
    p.set_defaults(call=_add)

    p = new("search", "list pets matching every filter given (at least one)")
    p.add_argument("--name", action="append", default=[], help="exact name; repeat for several")
    p.add_argument("--type", action="append", default=[], type=kind_arg, help="repeat for several")
    p.add_argument("--born-from", type=date_arg, help="YYYY-MM-DD, with --born-to")
    p.add_argument("--born-to", type=date_arg, help="YYYY-MM-DD, with --born-from")
    p.set_defaults(call=_search)

    p = new("update", "replace a pet by id")
    p.add_argument("id")
    p.add_argument("name")
    p.add_argument("type", type=kind_arg)
    p.add_argument("birthday", type=date_arg)
    p.set_defaults(call=_update)

    p = new("delete", "delete pets by id, all or none")
    p.add_argument("ids", nargs="+", metavar="id")
    p.set_defaults(call=_delete)

    p = new("sampler", "show the trace sampler, or switch it")
    p.add_argument("new", nargs="?", type=sampler_arg, metavar="|".join(WRITTEN))
    p.set_defaults(call=_sampler)


async def run(args: argparse.Namespace, addr: str) -> int:
    """Run the chosen client subcommand; a gRPC failure is one line on stderr and exit code 1."""
    async with PetstoreClient(addr, trace=args.trace, timeout=args.timeout) as client:
        try:
            out: str = await args.call(client, args)
        except grpc.aio.AioRpcError as exc:
            raise CommandFailed(describe(exc, addr)) from None
    print(out)
    return 0


class CommandFailed(Exception):
    """A call failed; the text is what the user sees."""


def describe(exc: grpc.aio.AioRpcError, addr: str) -> str:
    """One line for a failed call, saying when the server is not there at all."""
    code = exc.code()
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"cannot reach the petstore at {addr} (is it running? set PETSTORE_ADDR or --addr)"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"the petstore at {addr} did not answer in time"
    return f"{code.name}: {exc.details()}"


async def _add(client: PetstoreClient, a: argparse.Namespace) -> str:
    (pet_id,) = await client.add([Pet(a.name, a.type, a.birthday)])
    return pets_table([pb.Pet(id=pet_id, name=a.name, type=_pb_type(a.type), birthday=_date(a.birthday))])


async def _search(client: PetstoreClient, a: argparse.Namespace) -> str:
    if (a.born_from is None) != (a.born_to is None):
        raise CommandFailed("give --born-from and --born-to together")
    born = (a.born_from, a.born_to) if a.born_from else None
    pets = await client.search(names=a.name, kinds=a.type, born=born)
    return pets_table(pets) if pets else "no pets match"


async def _update(client: PetstoreClient, a: argparse.Namespace) -> str:
    await client.update([Pet(a.name, a.type, a.birthday, id=a.id)])
    return pets_table([pb.Pet(id=a.id, name=a.name, type=_pb_type(a.type), birthday=_date(a.birthday))])


async def _delete(client: PetstoreClient, a: argparse.Namespace) -> str:
    await client.delete(a.ids)
    return f"deleted {len(a.ids)} pet(s)"


async def _sampler(client: PetstoreClient, a: argparse.Namespace) -> str:
    if a.new is None:
        return tabulate([[sampler_text(await client.get_sampler())]], headers=["sampler"])
    reply = await client.change_sampler(a.new)
    rows = [[sampler_text(reply.previous), sampler_text(reply.current)]]
    return tabulate(rows, headers=["previous", "current"])


def _date(d: date) -> pb.Date:
    return pb.Date(year=d.year, month=d.month, day=d.day)


def _pb_type(kind: PetKind) -> pb.PetType:
    return cast(pb.PetType, int(kind))
