"""`exchangeInfo` for the served symbols: what a client such as ccxt loads before it subscribes.

Only the fields a market-data client reads are filled: the symbol, its assets, its status and
contract terms, and its price and lot filters. The grid comes from the caller, or from the
capture's own decimal places when it gives none.
"""

from __future__ import annotations

from typing import Any

from canonicalflow.exchange._capture import Capture

__all__ = ["exchange_info"]

_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "USD", "BTC", "ETH", "BNB")


def exchange_info(
    market: str, captures: list[Capture], grids: dict[str, tuple[str, str]], server_time: int
) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": [],
        "exchangeFilters": [],
        "assets": [],
        "symbols": [_symbol(market, c, grids.get(c.symbol) or _grid_of(c)) for c in captures],
    }


def _symbol(market: str, capture: Capture, grid: tuple[str, str]) -> dict[str, Any]:
    tick, lot = grid
    pair = capture.snapshot.get("pair", capture.symbol)
    quote = next((q for q in _QUOTES if pair.endswith(q) and pair != q), pair[-4:])
    base = pair[: -len(quote)]
    info: dict[str, Any] = {
        "symbol": capture.symbol,
        "status": "TRADING",
        "baseAsset": base,
        "quoteAsset": quote,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "filters": [
            {"filterType": "PRICE_FILTER", "tickSize": tick, "minPrice": tick, "maxPrice": "10000000"},
            {"filterType": "LOT_SIZE", "stepSize": lot, "minQty": lot, "maxQty": "100000"},
        ],
    }
    if market == "spot":
        return info | {"isSpotTradingAllowed": True, "isMarginTradingAllowed": False, "permissions": ["SPOT"]}
    futures = {
        "pair": pair,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "marginAsset": base if market == "coinm" else quote,
        "pricePrecision": _places(tick),
        "quantityPrecision": _places(lot),
        "underlyingType": "COIN",
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }
    if market == "coinm":
        futures |= {"contractSize": 100, "contractStatus": "TRADING"}
    return info | futures


def _grid_of(capture: Capture) -> tuple[str, str]:
    """The smallest step the capture's snapshot prints, for price and quantity."""
    levels = capture.snapshot["bids"][:1] or capture.snapshot["asks"][:1]
    price, qty = levels[0] if levels else ("1", "1")
    return _step(price), _step(qty)


def _step(text: str) -> str:
    places = _places(text)
    return "1" if places == 0 else "0." + "0" * (places - 1) + "1"


def _places(text: str) -> int:
    return len(text.partition(".")[2])
