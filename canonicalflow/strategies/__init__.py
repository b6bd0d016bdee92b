"""Example strategies, ready to run and to copy: a skewing market maker, a queue-aware joiner, a taker."""

from canonicalflow.strategies._inventory_skew import InventorySkewMaker
from canonicalflow.strategies._queue_joiner import QueueAwareJoiner
from canonicalflow.strategies._taker import ImbalanceTaker

__all__ = ["ImbalanceTaker", "InventorySkewMaker", "QueueAwareJoiner"]
