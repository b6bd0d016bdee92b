"""Code generated from spec/*.cflow by `canonicalflow spec gen`. Never edit by hand."""

MACHINES = (
    "dataset_lifecycle",
    "execution_control",
    "intent_lifecycle",
    "order_lifecycle",
    "queue_position",
)
