"""Hand-written upb <-> betterproto2 converters for the benchmark messages.

They stand in for the per-message converters ``microlib codegen`` generates:
users see betterproto2 dataclasses, upb does the wire work.
"""

from __future__ import annotations

import datetime
from typing import Any

_UTC = datetime.UTC


def make(pb: Any, bp: Any) -> tuple[Any, Any, Any, Any]:
    """Converters for the generated modules: item_to_bp, item_to_pb, request_to_bp, item_to_pb."""
    Item, Owner, Status = bp.Item, bp.Owner, bp.Status
    PbItem = pb.Item

    def item_to_bp(m: Any) -> Any:
        return Item(
            id=m.id,
            name=m.name,
            count=m.count,
            price=m.price,
            tags=list(m.tags),
            labels=dict(m.labels),
            created_at=m.created_at.ToDatetime(tzinfo=_UTC) if m.HasField("created_at") else None,
            owner=Owner(name=m.owner.name, email=m.owner.email) if m.HasField("owner") else None,
            status=Status(m.status),
            active=m.active,
        )

    def item_to_pb(i: Any) -> Any:
        m = PbItem(
            id=i.id,
            name=i.name,
            count=i.count,
            price=i.price,
            tags=i.tags,
            labels=i.labels,
            status=int(i.status),
            active=i.active,
        )
        if i.created_at is not None:
            m.created_at.FromDatetime(i.created_at)
        if i.owner is not None:
            m.owner.name = i.owner.name
            m.owner.email = i.owner.email
        return m

    def request_to_bp(m: Any) -> Any:
        return bp.StreamRequest(item=item_to_bp(m.item) if m.HasField("item") else None, count=m.count)

    def request_to_pb(r: Any) -> Any:
        m = pb.StreamRequest(count=r.count)
        if r.item is not None:
            m.item.CopyFrom(item_to_pb(r.item))
        return m

    return item_to_bp, item_to_pb, request_to_bp, request_to_pb
