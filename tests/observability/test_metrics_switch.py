"""``metrics.enabled``: on, every transport records; off, none does (not only ``/metrics`` gone)."""

from __future__ import annotations

import uuid
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from examples.bookshop.catalog import Catalog
from examples.bookshop.gen.bookshop.v1 import BookshopServiceClient, GetBookRequest
from examples.bookshop.services.bookshop_service import BookshopServiceServicer
from microlib import Service
from microlib.messaging import MessageContext
from microlib.testing import TestService
from tests.jobs._contract import Handlers, Receipt, ShopJobsEnqueuer
from tests.messaging.contract import Orders, eventually, orders, placed

# One family per transport the calls below go through.
PER_TRANSPORT = {
    "http_server_requests",
    "rpc_server_requests",
    "messaging_consumer_messages",
    "job_runs",
}


def _service() -> tuple[Service, Orders, list[str]]:
    """HTTP, gRPC, a message consumer and a job, all in one service."""
    service = Service("switch")
    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    consumed: list[str] = []

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        consumed.append(payload.order_id)

    service.include(type("Stock", (contract.consumer,), {"on_order": on_order})())
    service.include(Handlers())
    catalog = Catalog()
    service.add(catalog)
    service.include(BookshopServiceServicer(catalog))

    @service.http.route("/hello")
    async def hello(request: Request) -> dict[str, str]:
        return {"hello": "world"}

    return service, contract, consumed


async def _every_transport(service: Service, contract: Orders, consumed: list[str], t: TestService) -> None:
    assert (await t.http.get("/hello")).status_code == 200
    await BookshopServiceClient(t.grpc).get_book(GetBookRequest(id="1"))
    await t.messages.publish(contract.place_order, placed("o-1"), parameters={"region": "eu"})
    await eventually(lambda: consumed == ["o-1"], what="the message consumed")
    handle = await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="r1"))
    await handle.result(timeout=10)


def _recorded(service: Service) -> set[str]:
    text = service.metrics.exposition()[0].decode()
    return {family.name for family in text_string_to_metric_families(text) if family.samples}


async def test_metrics_on_record_every_transport() -> None:
    """The default: each transport's calls are counted (so the test below is not vacuous)."""
    service, contract, consumed = _service()
    async with TestService(service) as t:
        await _every_transport(service, contract, consumed, t)
        assert _recorded(service) >= PER_TRANSPORT
        assert (await t.http.get("/metrics")).status_code == 200


async def test_metrics_off_record_nothing_on_any_transport() -> None:
    """``metrics.enabled=false``: no family records a sample, the chain has no
    metrics step, the user's metrics are inert and ``/metrics`` is not served."""
    service, contract, consumed = _service()
    async with TestService(service, overrides=["metrics.enabled=false"]) as t:
        await _every_transport(service, contract, consumed, t)
        service.metrics.counter("shop_visits_total", "Visits.").inc()
        assert _recorded(service) == set()
        assert list(service.metrics.registry.collect()) == []
        assert not service.chain.installed("metrics")
        assert (await t.http.get("/metrics")).status_code == 404
