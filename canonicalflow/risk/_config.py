"""Risk limits, as the backtest file and Live both give them; every limit is off unless set."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["RiskConfig"]

_RENAMED = {"max_position": "max_inventory"}  # old key: new key, refused with a pointer to the new one


class RiskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    trading_enabled: bool = Field(default=True, description="false: only cancels are allowed")
    # losses, in currency, as positive amounts
    max_loss: Decimal | None = Field(default=None, gt=0, description="stop adding risk once PnL <= -max_loss")
    max_drawdown: Decimal | None = Field(
        default=None, gt=0, description="stop adding risk once PnL falls this far below its peak"
    )
    rolling_loss: Decimal | None = Field(
        default=None, gt=0, description="stop adding risk once PnL falls this far within the window"
    )
    rolling_window_s: float = Field(default=60.0, gt=0, description="the rolling-loss window, seconds")
    # normalisation
    price_increment: int = Field(
        default=1, ge=1, description="ticks between tradable prices (buys round down, sells up)"
    )
    qty_increment: int = Field(default=1, ge=1, description="lots between tradable sizes (rounded down)")
    min_notional: Decimal | None = Field(default=None, gt=0, description="smallest order value, currency")
    # parameters
    max_order_qty: int | None = Field(default=None, ge=1, description="largest order, lots")
    # exposure
    max_inventory: int | None = Field(
        default=None, ge=0, description="lots per instrument, counting working orders on the same side"
    )
    max_single_order_notional: Decimal | None = Field(default=None, gt=0)
    max_gross_notional: Decimal | None = Field(
        default=None, gt=0, description="sum of |inventory| at the mid over instruments, plus this order"
    )
    max_active_quotes: int | None = Field(default=None, ge=0, description="working orders, all instruments")
    max_gross_quote_notional: Decimal | None = Field(default=None, gt=0)
    max_net_quote_notional: Decimal | None = Field(default=None, gt=0)
    # order rate: a token bucket in the Core; a request over it waits in the queue (not denied)
    max_orders_per_second: int | None = Field(
        default=None, ge=1, description="requests per second to the venue, all instruments; excess waits"
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_renamed(cls, values: Any) -> Any:
        """An old key is refused by name, so a config written for an earlier version says what to change."""
        if isinstance(values, dict):
            for old, new in _RENAMED.items():
                if old in values:
                    raise ValueError(f"`{old}` was renamed `{new}` (lots held per instrument)")
        return values
