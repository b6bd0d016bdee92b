"""Code generated from spec/*.cflow by `canonicalflow spec gen`. Never edit by hand."""

MACHINES = (
    "execution_control",
    "intent_lifecycle",
    "order_lifecycle",
)
