"""Code generated from spec/*.cflow by `canonicalflow spec gen`. Never edit by hand."""

MACHINES = (
    "book_sync",
    "dataset_lifecycle",
    "execution_control",
    "intent_lifecycle",
    "order_lifecycle",
    "queue_place",
)
