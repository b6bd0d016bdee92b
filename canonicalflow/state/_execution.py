"""The execution domain: our orders, their intents, execution control per order key, rate limits.

Every order goes through the generated order-lifecycle kernel, every order key through execution
control's, every intent through the intent lifecycle's; the Core stores what comes back and never
edits a kernel state by hand. A kernel's refusal is recorded as a change, never raised.

Our orders' terms (what we asked for and what the venue acknowledged) and the queue places of
those that rest (in the market domain) are kept here too, so everything a strategy reads of its
orders is State.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any, NamedTuple

from canonicalflow._generated import execution_control_kernel as ec
from canonicalflow._generated import intent_lifecycle_kernel as il
from canonicalflow._generated import order_lifecycle_kernel as order
from canonicalflow.config import CoreConfig
from canonicalflow.errors import InvariantViolation
from canonicalflow.events import Command, Event, EventKind, Intent
from canonicalflow.state._market import MarketState
from canonicalflow.state._portfolio import PortfolioState

__all__ = ["ExecutionState", "OrderTerms"]

Change = tuple[Any, ...]
_K = EventKind
_NONE, _NEW, _REPLACE, _CANCEL = Command.NONE, Command.NEW, Command.REPLACE, Command.CANCEL
_SUBMIT: dict[int, int] = {_NEW: ec.E_SUBMIT_NEW, _REPLACE: ec.E_SUBMIT_REPLACE, _CANCEL: ec.E_SUBMIT_CANCEL}
_DISPATCH_ORDER: dict[int, int] = {_CANCEL: 0, _REPLACE: 1, _NEW: 2}  # CANCEL first, then REPLACE, then NEW
_IDLE_KEY = ec.initial()


class OrderTerms(NamedTuple):
    """One of our orders as sent, with the price and size the venue last acknowledged."""

    instrument: int
    side: int
    price: int  # ticks
    qty: int  # lots
    order_type: int
    tif: int
    expire_ts: int
    replace_price: int = 0  # the price a REPLACE in flight asks for (its size: the order's requested_qty)


# Execution report kind -> (order-lifecycle event, whether it answers our in-flight request).
# Unsolicited reports do not; execution control hears of them only when they make the order final.
_REPORTS: dict[EventKind, tuple[int, bool]] = {
    _K.ACK: (order.E_ACK, True),
    _K.REJECT: (order.E_REJECT, True),
    _K.FILL: (order.E_FILL, False),
    _K.CANCEL_ACK: (order.E_CANCELED, True),
    _K.CANCEL_REJECT: (order.E_CANCEL_REJECT, True),
    _K.REPLACE_ACK: (order.E_REPLACED, True),
    _K.REPLACE_REJECT: (order.E_REPLACE_REJECT, True),
    _K.EXPIRED: (order.E_EXPIRE, False),
    _K.DONE_FOR_DAY: (order.E_DONE_FOR_DAY, False),
    _K.VENUE_CANCEL: (order.E_UNSOLICITED_CANCEL, False),
    _K.RESTATE: (order.E_RESTATE, False),
    _K.TRADE_BUST: (order.E_BUST, False),
}


def final(state: order.State) -> bool:
    """The order can no longer trade (the spec's `working` is false): filled, or terminal."""
    return not order.working(state)


def order_terms(ev: Event) -> tuple[int, int, int, int, int, int]:
    """What a request asks the venue for: side, price, lots, order type, time in force, expiry."""
    return (ev.side, ev.price, ev.qty, ev.order_type, ev.tif, ev.expire_ts)


class ExecutionState:
    """Our orders, keys, intents and rate-limit buckets, by client order id (and intent id).

    | attribute | key -> value |
    |---|---|
    | `orders` | client order id -> order-lifecycle kernel state |
    | `terms` | client order id -> `OrderTerms`, from its dispatch on |
    | `open_orders` | client order ids of dispatched orders not final, in the order they opened |
    | `order_fills` | client order id -> {trade id: (lots, instrument, side, price, fee)} |
    | `keys` | client order id -> execution-control kernel state |
    | `key_instrument` | client order id -> instrument, from its first allowed decision |
    | `requests` | client order id -> (intent id, side, price, lots, type, tif, expiry) queued |
    | `intents` | intent id -> intent-lifecycle kernel state, until it closes |
    | `in_flight` | client order id -> the intent id of its request in flight |
    | `final_orders` | final client order ids, oldest first: the release line |
    | `buckets` | rate-limit scope -> (tokens left, time they were counted) |
    """

    def __init__(
        self, config: CoreConfig, market: MarketState, portfolio: PortfolioState, now: Callable[[], int]
    ) -> None:
        self.config = config
        self._market, self._portfolio, self._now = market, portfolio, now
        self.orders: dict[int, order.State] = {}
        self.terms: dict[int, OrderTerms] = {}
        self.open_orders: dict[int, None] = {}
        self.order_fills: dict[int, dict[int, tuple[int, int, int, int, int]]] = {}
        self.keys: dict[int, ec.State] = {}
        self.key_instrument: dict[int, int] = {}
        self.requests: dict[int, tuple[int, int, int, int, int, int, int]] = {}
        self.intents: dict[int, il.State] = {}
        self.in_flight: dict[int, int] = {}
        self.final_orders: dict[int, None] = {}
        self._limits = {r.scope: r for r in config.rate_limits}
        self.buckets: dict[int, tuple[int, int]] = {r.scope: (r.capacity, 0) for r in config.rate_limits}
        self.queued: set[int] = set()  # keys in Queued: derived from `keys`, so the runtime's asks stay cheap

    def handlers(self) -> dict[int, Callable[[Event, list[Change]], None]]:
        """The Core's handler for each execution and intent kind."""
        table: dict[int, Callable[[Event, list[Change]], None]] = {
            int(kind): self._report(event, answers) for kind, (event, answers) in _REPORTS.items()
        }
        table[int(_K.TRADE_CORRECT)] = self._trade_correct
        table[int(_K.RISK_DECISION)] = self._all_or_nothing(self._risk_decision)
        table[int(_K.DISPATCH)] = self._all_or_nothing(self._dispatch)
        table[int(_K.RATE_LIMIT_CONSUMED)] = self._rate_limit
        return table

    # ------------------------------------------------------------------ reads
    def status(self, coid: int) -> str:
        """The order's lifecycle state by its spec name ("" when State has no such order)."""
        state = self.orders.get(coid)
        return order.STATE_NAMES[state.state] if state is not None else ""

    def is_final(self, coid: int) -> bool:
        """The order can no longer trade (the spec's `working` is false); False when unknown."""
        state = self.orders.get(coid)
        return state is not None and final(state)

    def leaves(self, coid: int) -> int:
        """Lots one of our orders still has open (0 once final or unknown)."""
        state = self.orders.get(coid)
        return order.leaves(state) if state is not None else 0

    def queued_intent(self, coid: int) -> Intent:
        """The command queued for a key, as the intent it carries (the one to dispatch)."""
        intent_id, side, price, qty, order_type, tif, expire_ts = self.requests[coid]
        command = self.keys[coid].queued
        return Intent(
            intent_id, self.key_instrument[coid], coid, command, side, price, qty, order_type, tif, expire_ts
        )

    def dispatchable(self) -> list[int]:
        """Queued commands free to go now (nothing in flight, a token in every bucket), in dispatch order."""
        ready = [coid for coid in self.queued if all(self.tokens(scope) >= 1 for scope in self.scopes(coid))]
        return sorted(ready, key=lambda coid: (_DISPATCH_ORDER[self.keys[coid].queued], coid))

    def rate_limit_dues(self) -> dict[int, int]:
        """For every bucket that holds a queued command back: when its next token frees."""
        due: dict[int, int] = {}
        for coid in sorted(self.queued):
            for scope in self.scopes(coid):
                if self.tokens(scope) < 1:
                    due[scope] = self.buckets[scope][1] + self._limits[scope].refill_ns
        return due

    def scopes(self, coid: int) -> list[int]:
        """The rate-limit buckets a request for this key must take a token from."""
        instrument = self.key_instrument.get(coid)
        return [r.scope for r in self.config.rate_limits if r.instrument in (None, instrument)]

    def tokens(self, scope: int) -> int:
        """Tokens in a bucket at `now`: what was left, plus one per refill period since."""
        tokens, since = self.buckets[scope]
        limit = self._limits[scope]
        return min(limit.capacity, tokens + (self._now() - since) // limit.refill_ns)

    # ----------------------------------------------------------------- reports
    def _report(self, order_event: int, answers: bool) -> Callable[[Event, list[Change]], None]:
        """A handler for an execution report: the order kernel first, then execution control."""

        def handle(ev: Event, changes: list[Change]) -> None:
            coid = ev.client_order_id
            if coid not in self.orders:
                changes.append(("rejected", "order", coid, "unknown_order"))
                return
            fills = self.order_fills.get(coid, {})
            qty = ev.qty
            if order_event == order.E_FILL and ev.trade_id in fills:
                changes.append(("rejected", "order", coid, "duplicate_execution"))
                return
            if order_event == order.E_BUST:
                if ev.trade_id not in fills:
                    changes.append(("rejected", "order", coid, "unknown_execution"))
                    return
                qty = fills[ev.trade_id][0]  # a bust voids the whole execution it names
            was_final = final(self.orders[coid])
            if not self._step_order(coid, order_event, qty, 0, changes):
                return
            if order_event == order.E_FILL:
                fill = (qty, ev.instrument, ev.side, ev.price, ev.fee)
                self.order_fills.setdefault(coid, {})[ev.trade_id] = fill
                changes.append(("fill", coid, ev.trade_id, qty))
                self._portfolio.trade(fill, False, changes)
            elif order_event == order.E_BUST:
                self._portfolio.trade(fills.pop(ev.trade_id), True, changes)
                changes.append(("fill", coid, ev.trade_id, 0))
            self._venue_answered(ev, coid, changes)
            self._order_moved(coid, was_final, answers, changes)

        return handle

    def _venue_answered(self, ev: Event, coid: int, changes: list[Change]) -> None:
        """What the venue says of our order's terms and where it rests."""
        terms = self.terms.get(coid)
        if terms is None:
            return
        kind = ev.kind
        if kind == _K.ACK:
            terms = self._set_terms(coid, terms._replace(price=ev.price, qty=ev.qty), changes)
            if not final(self.orders[coid]):
                self._market.rest(terms.instrument, coid, terms.side, terms.price, changes)
        elif kind == _K.REPLACE_ACK:
            grew = ev.qty > terms.qty
            terms = self._set_terms(
                coid, terms._replace(price=ev.price, qty=ev.qty, replace_price=0), changes
            )
            if not final(self.orders[coid]):
                self._market.moved(terms.instrument, coid, terms.side, terms.price, grew, changes)
        elif kind == _K.REPLACE_REJECT and terms.replace_price:
            self._set_terms(coid, terms._replace(replace_price=0), changes)

    def _trade_correct(self, ev: Event, changes: list[Change]) -> None:
        coid = ev.client_order_id
        was = self.order_fills.get(coid, {}).get(ev.trade_id)
        if coid not in self.orders or was is None:
            changes.append(("rejected", "order", coid, "unknown_execution"))
            return
        was_final = final(self.orders[coid])
        if self._step_order(coid, order.E_CORRECT, was[0], ev.qty, changes):
            _, instrument, side, _, fee = was
            now = (ev.qty, instrument, side, ev.price, fee)  # the fee stays as charged
            self.order_fills[coid][ev.trade_id] = now
            changes.append(("fill", coid, ev.trade_id, ev.qty))
            self._portfolio.trade(was, True, changes)
            self._portfolio.trade(now, False, changes)
            self._order_moved(coid, was_final, False, changes)

    def _order_moved(self, coid: int, was_final: bool, answers: bool, changes: list[Change]) -> None:
        """An answer to the request in flight, or news that the order became final or works again."""
        is_final = final(self.orders[coid])
        if answers and self._step_key(coid, ec.E_ANSWER, int(is_final), changes):
            intent = self.in_flight.pop(coid, None)
            if intent is not None:
                self._step_intent(intent, il.E_ANSWERED, 0, changes)
        elif not answers and is_final and not was_final:
            self._step_key(coid, ec.E_ORDER_FINAL, 0, changes)
        elif not answers and was_final and not is_final:
            self._step_key(coid, ec.E_ORDER_REOPENED, 0, changes)
        if is_final and not was_final:
            self.final_orders[coid] = None
            self.open_orders.pop(coid, None)
            terms = self.terms.get(coid)
            if terms is not None:
                self._market.left(terms.instrument, coid, changes)
        elif was_final and not is_final:
            del self.final_orders[coid]
            self.open_orders[coid] = None  # re-opened by a bust or a correction: it works again
        if is_final:
            self._release_excess(changes)

    def _release_excess(self, changes: list[Change]) -> None:
        """Keep the newest `retained_final_orders` final orders; release the oldest beyond them.

        Only a key with nothing queued or in flight can go: execution control's `retire` must
        accept it. The others wait their turn in place. A released order leaves State entirely,
        so State stays bounded however long the stream; a report naming it later is refused
        `unknown_order`.
        """
        excess = len(self.final_orders) - self.config.retained_final_orders
        if excess <= 0:
            return
        idle = (coid for coid in self.final_orders if self.keys[coid].state == ec.S_IDLE)
        for coid in list(islice(idle, excess)):  # oldest first; usually the very first one
            if not self._step_key(coid, ec.E_RETIRE, 0, changes):
                continue  # refused (recorded): the key is not free to go yet
            del self.final_orders[coid]
            for domain in (
                self.orders,
                self.order_fills,
                self.keys,
                self.key_instrument,
                self.requests,
                self.terms,
            ):
                domain.pop(coid, None)
            changes.append(("released", coid))

    # ----------------------------------------------------------------- intents
    # What a decision or a dispatch may have changed, for its key, before a check halts it (the
    # open and final order lists change only after every check has passed, so their order holds).
    _PER_KEY = ("keys", "requests", "key_instrument", "in_flight", "orders", "terms", "order_fills")

    def _all_or_nothing(
        self, handler: Callable[[Event, list[Change]], None]
    ) -> Callable[[Event, list[Change]], None]:
        """`handler`, undone when it halts: the intent machine and execution control are stepped
        one after the other, and a disagreement found by the second must not leave the first
        moved. Only the key's entries and its intents can change, so only those are kept."""

        def apply(ev: Event, changes: list[Change]) -> None:
            coid = ev.client_order_id
            domains = [getattr(self, name) for name in self._PER_KEY]
            kept = [(domain, domain.get(coid, _ABSENT)) for domain in domains]
            request = self.requests.get(coid)
            ids = {
                ev.intent_id,
                self.in_flight.get(coid, ev.intent_id),
                request[0] if request else ev.intent_id,
            }
            intents = {i: self.intents.get(i, _ABSENT) for i in ids}
            queued = coid in self.queued
            try:
                handler(ev, changes)
            except InvariantViolation:
                for domain, value in kept:
                    _put_back(domain, coid, value)
                for i, value in intents.items():
                    _put_back(self.intents, i, value)
                (self.queued.add if queued else self.queued.discard)(coid)
                raise

        return apply

    def _risk_decision(self, ev: Event, changes: list[Change]) -> None:
        if ev.command not in _SUBMIT:
            changes.append(("rejected", "execution_control", ev.client_order_id, "unknown_command"))
            return
        if ev.intent_id in self.intents:
            changes.append(("rejected", "intent", ev.intent_id, "duplicate_intent"))
            return
        coid, intent_id = ev.client_order_id, ev.intent_id
        if ev.allowed and ev.command == _NEW and ev.instrument not in self._market.books:
            changes.append(("rejected", "execution_control", coid, "unknown_instrument"))
            return  # no book to rest on: risk denies these, so only a foreign journal says so
        changes.append(("risk", intent_id, coid, ev.command, ev.allowed, ev.reason))
        self.intents[intent_id] = il.initial(ev.command)
        if not ev.allowed:
            self._step_intent(intent_id, il.E_RISK_DENY, 0, changes)
            return
        self._step_intent(intent_id, il.E_RISK_ALLOW, 0, changes)
        key_before = self.keys.get(coid, _IDLE_KEY)
        waiting = self.requests[coid][0] if coid in self.requests else None
        accepted = self._step_key(coid, _SUBMIT[ev.command], 0, changes)
        names_instrument = ev.command == _NEW or coid not in self.key_instrument  # only a NEW names it anew
        if (
            accepted
            and coid in self.keys
            and names_instrument
            and self.key_instrument.get(coid) != ev.instrument
        ):
            self.key_instrument[coid] = ev.instrument
            changes.append(("key_instrument", coid, ev.instrument))
        if accepted and self.keys.get(coid, _IDLE_KEY).queued != _NONE:
            self.requests[coid] = (intent_id, *order_terms(ev))  # now the queued request
            changes.append(("request", coid, *self.requests[coid]))
        self._intent_queued(ev, intent_id, key_before.queued, waiting, changes)

    def _intent_queued(
        self, ev: Event, intent_id: int, queued_before: int, waiting: int | None, changes: list[Change]
    ) -> None:
        """The intent meets the queue; the intent that waited there hears it was superseded if
        execution control let the newcomer take its slot. The two machines must agree on who holds it."""
        holder = self.requests[ev.client_order_id][0] if ev.client_order_id in self.requests else None
        self._step_intent(intent_id, il.E_ENQUEUE, queued_before, changes)
        if waiting is not None and waiting != holder:
            self._step_intent(waiting, il.E_SUPERSEDED_BY, ev.command, changes)
        pending = intent_id in self.intents
        if pending and holder != intent_id:  # execution control refused it, or a CANCEL ate a queued NEW
            self._step_intent(intent_id, il.E_DROP, 0, changes)
        elif not pending and holder == intent_id:
            self._disagree(
                ev, "intent_holds_its_slot", f"intent {intent_id} superseded", "queued for its key"
            )
        if waiting is not None and waiting != holder and waiting in self.intents:
            self._disagree(ev, "intent_holds_its_slot", f"intent {waiting} still pending", "its slot taken")

    def _dispatch(self, ev: Event, changes: list[Change]) -> None:
        """The request sent is the command execution control had queued; the event must agree."""
        coid = ev.client_order_id
        queued = self.keys[coid].queued if coid in self.keys else _NONE
        if queued not in (_NONE, ev.command):
            changes.append(("rejected", "execution_control", coid, "command_mismatch"))
            return
        if queued in (_NEW, _REPLACE) and self.requests[coid][1:] != order_terms(ev):
            changes.append(("rejected", "execution_control", coid, "request_mismatch"))
            return
        if queued == _NEW and ev.instrument != self.key_instrument.get(coid):
            changes.append(("rejected", "execution_control", coid, "instrument_mismatch"))
            return
        intent = self.requests[coid][0] if coid in self.requests else None
        if ev.reason:  # risk, checked again, denied it: the command leaves the queue unsent
            changes.append(("withdrawn", ev.intent_id, coid, ev.reason))
            if self._step_key(coid, ec.E_WITHDRAW, 0, changes) and intent is not None:
                self._step_intent(intent, il.E_RECHECK_DENY, 0, changes)
            return
        if queued in (_NEW, _REPLACE) and not 1 <= ev.qty <= order.MAX_QTY:
            changes.append(("rejected", "order", coid, "bad_quantity"))
            return
        token = int(all(self.tokens(scope) >= 1 for scope in self.scopes(coid)))
        if not self._step_key(coid, ec.E_DISPATCH, token, changes):
            return  # refused (rate limited, in flight): recorded, the command stays queued
        if self.keys.get(coid, _IDLE_KEY).inflight == _NONE:  # a stale command, dropped: nothing is sent
            if intent is not None:
                self._step_intent(intent, il.E_DROP, 0, changes)
            return
        if intent is not None:
            self._step_intent(intent, il.E_DISPATCH, 0, changes)
            self._step_intent(intent, il.E_TRANSMITTED, 0, changes)  # a recorded DISPATCH is sent
            self.in_flight[coid] = intent
        if queued == _NEW:  # a fresh order, even for a client order id used before
            self.final_orders.pop(coid, None)
            self.order_fills.pop(coid, None)
            self.orders[coid] = order.initial(ev.qty)
            changes.append(("order", coid, *self.orders[coid]))
            terms = OrderTerms(ev.instrument, *order_terms(ev))
            self.terms.pop(coid, None)
            self._set_terms(coid, terms, changes)
            self.open_orders[coid] = None
        elif coid in self.orders:
            event = order.E_CANCEL_REQUEST if queued == _CANCEL else order.E_REPLACE_REQUEST
            if (
                self._step_order(coid, event, ev.qty, 0, changes)
                and queued == _REPLACE
                and coid in self.terms
            ):
                self._set_terms(coid, self.terms[coid]._replace(replace_price=ev.price), changes)

    def _rate_limit(self, ev: Event, changes: list[Change]) -> None:
        if ev.scope not in self._limits or ev.tokens < 1:
            changes.append(
                ("rejected", "rate_limit", ev.scope, "unknown_scope" if ev.tokens >= 1 else "bad_tokens")
            )
            return
        limit = self._limits[ev.scope]
        tokens, since = self.buckets[ev.scope]
        refilled = self.tokens(ev.scope)
        if refilled < ev.tokens:
            raise InvariantViolation(
                ev.position,
                ev,
                "rate_limit_respected",
                f"{refilled} tokens in scope {ev.scope}",
                f"{ev.tokens} consumed",
            )
        since = self._now() if refilled == limit.capacity else since + (refilled - tokens) * limit.refill_ns
        self.buckets[ev.scope] = (refilled - ev.tokens, since)
        changes.append(("bucket", ev.scope, *self.buckets[ev.scope]))

    # --------------------------------------------------------------- snapshots
    def to_data(self) -> dict[str, Any]:
        """Every domain as [key, *fields] lists; the ordered ones (the release line, the open
        orders) in their order, the rest sorted."""

        def rows(domain: dict[int, Any]) -> list[list[Any]]:
            return sorted([key, *value] for key, value in domain.items())

        return {
            "orders": rows(self.orders),
            "terms": rows(self.terms),
            "open_orders": list(self.open_orders),
            "order_fills": sorted(
                [coid, sorted([trade_id, *fill] for trade_id, fill in fills.items())]
                for coid, fills in self.order_fills.items()
            ),
            "keys": rows(self.keys),
            "key_instrument": sorted([coid, i] for coid, i in self.key_instrument.items()),
            "requests": rows(self.requests),
            "intents": rows(self.intents),
            "in_flight": sorted([coid, intent] for coid, intent in self.in_flight.items()),
            "final_orders": list(self.final_orders),
            "buckets": rows(self.buckets),
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.orders = {coid: order.State(*fields) for coid, *fields in data["orders"]}
        self.terms = {coid: OrderTerms(*fields) for coid, *fields in data["terms"]}
        self.open_orders = dict.fromkeys(data["open_orders"])
        self.order_fills = {
            coid: {trade_id: (lots, i, side, price, fee) for trade_id, lots, i, side, price, fee in fills}
            for coid, fills in data["order_fills"]
        }
        self.keys = {coid: ec.State(*fields) for coid, *fields in data["keys"]}
        self.key_instrument = {coid: instrument for coid, instrument in data["key_instrument"]}
        self.requests = {coid: (intent, *terms) for coid, intent, *terms in data["requests"]}
        self.intents = {intent: il.State(*fields) for intent, *fields in data["intents"]}
        self.in_flight = {coid: intent for coid, intent in data["in_flight"]}
        self.final_orders = dict.fromkeys(data["final_orders"])
        self.buckets = {scope: (tokens, since) for scope, tokens, since in data["buckets"]}
        self.queued = {coid for coid, key in self.keys.items() if key.state == ec.S_QUEUED}

    # ------------------------------------------------------------------- steps
    def _set_terms(self, coid: int, terms: OrderTerms, changes: list[Change]) -> OrderTerms:
        if self.terms.get(coid) != terms:
            self.terms[coid] = terms
            changes.append(("terms", coid, *terms))
        return terms

    def _step_order(self, coid: int, event: int, a0: int, a1: int, changes: list[Change]) -> bool:
        before = self.orders[coid]
        after = order.step(before, event, a0, a1)
        if isinstance(after, order.Rejection):
            changes.append(("rejected", "order", coid, after.reason))
            return False
        if after is not before:
            self.orders[coid] = after
            changes.append(("order", coid, *after))
        return True

    def _step_key(self, coid: int, event: int, arg: int, changes: list[Change]) -> bool:
        before = self.keys.get(coid) or _IDLE_KEY
        after = ec.step(before, event, arg)
        if isinstance(after, ec.Rejection):
            changes.append(("rejected", "execution_control", coid, after.reason))
            return False
        if after is not before or coid not in self.keys:
            self.keys[coid] = after
            changes.append(("key", coid, *after))
            if after.state == ec.S_QUEUED:
                self.queued.add(coid)
            else:
                self.queued.discard(coid)
        if after.queued == _NONE:
            self.requests.pop(coid, None)
        if after == _IDLE_KEY and coid not in self.orders:  # a NEW withdrawn before it was sent
            del self.keys[coid]
            self.key_instrument.pop(coid, None)
        return True

    def _step_intent(self, intent_id: int, event: int, arg: int, changes: list[Change]) -> None:
        """Step an intent's machine; a closed intent leaves State. A refusal means the Core drove
        the machine against its own spec: it halts, like any broken invariant."""
        before = self.intents[intent_id]
        after = il.step(before, event, arg)
        if isinstance(after, il.Rejection):
            raise InvariantViolation(
                None,
                None,
                f"intent_lifecycle.{after.reason}",
                f"intent {intent_id}: {il.STATE_NAMES[before.state]}",
                il.EVENT_NAMES[event],
            )
        changes.append(("intent", intent_id, *after))
        if after.state in il.TERMINAL_STATES:
            del self.intents[intent_id]
        else:
            self.intents[intent_id] = after

    def _disagree(self, ev: Event, invariant: str, before: str, after: str) -> None:
        raise InvariantViolation(ev.position, ev, invariant, before, after)


_ABSENT = object()  # an entry that was not there


def _put_back(domain: dict[int, Any], key: int, value: object) -> None:
    if value is _ABSENT:
        domain.pop(key, None)
    else:
        domain[key] = value
