"""The packages of canonicalflow form strict layers: a package imports only the packages below it.

The layers, from the bottom: errors, _generated, events, book, queue, config, portfolio, journal,
state, risk, strategy, runtime, venue, orderflow, data, exchange, backtest, live, testing, strategies,
cli.
`ALLOWED` says, for each package, which packages it may import; it is what the code imports
today, less what breaks the layering. Every `import` counts, also one inside a function or under
`if TYPE_CHECKING:`: a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "canonicalflow"

ALLOWED: dict[str, set[str]] = {
    # canonicalflow/__init__.py runs before any package loads: it may import none of them.
    "canonicalflow": set(),
    "errors": set(),
    "_generated": set(),
    "events": {"errors", "_generated"},
    "book": {"events"},
    "queue": {"errors", "_generated", "events", "book"},
    "config": {"errors", "queue"},
    "portfolio": {"config"},
    "journal": {"errors", "events"},
    "state": {"errors", "_generated", "events", "book", "queue", "config", "portfolio"},
    "risk": {"events", "portfolio", "state"},
    "strategy": {"events", "portfolio", "state"},
    "runtime": {"errors", "_generated", "events", "book", "config", "journal", "state"},
    "venue": {"errors", "events", "book", "queue", "config"},
    "orderflow": {"events", "book"},
    "data": {"errors", "_generated", "events", "book"},
    "exchange": {"errors", "_generated"},  # the other side of the wire: the venue's protocol, not our engine
    "backtest": {
        "errors",
        "events",
        "book",
        "config",
        "portfolio",
        "journal",
        "state",
        "risk",
        "strategy",
        "runtime",
        "venue",
        "orderflow",
        "data",
    },
    # a runtime on the backtest's engine: its session, simulation and outputs, on a live feed
    "live": {"errors", "events", "journal", "state", "risk", "runtime", "venue", "data", "backtest"},
    "testing": {"_generated", "events", "config", "strategy", "data"},
    "strategies": {"events", "strategy"},
    "cli": {
        "errors",
        "events",
        "journal",
        "state",
        "runtime",
        "data",
        "backtest",
        "live",
        "testing",
        "exchange",
    },
}


def _package_of(module: Path) -> str:
    """`canonicalflow/<pkg>/...` is package <pkg>; a top-level module (errors.py) is its own package."""
    parts = module.relative_to(ROOT).parts
    if len(parts) > 1:
        return parts[0]
    return "canonicalflow" if parts[0] == "__init__.py" else parts[0].removesuffix(".py")


def _is_module(dotted: str) -> bool:
    path = REPO.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(module: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every canonicalflow module `module` imports, relative imports resolved."""
    dotted = ".".join(module.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
    here = dotted if module.name == "__init__.py" else dotted.rpartition(".")[0]
    for node in ast.walk(ast.parse(module.read_text(), str(module))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # `from pkg import sub` imports the module pkg.sub when there is one
            names = [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names]
        else:
            continue
        for name in dict.fromkeys(names):  # one report per statement and target
            if name.startswith("canonicalflow."):
                yield node.lineno, name


def _modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_allowed_is_a_strict_layering_over_every_package() -> None:
    """Every package has a row, and the rows have no cycle: some order puts each package above
    everything it may import."""
    packages = {_package_of(m) for m in _modules()}
    assert packages <= set(ALLOWED), f"packages with no row in ALLOWED: {sorted(packages - set(ALLOWED))}"
    placed: set[str] = set()
    while len(placed) < len(ALLOWED):
        ready = {p for p, below in ALLOWED.items() if p not in placed and below <= placed}
        assert ready, (
            f"ALLOWED has a cycle (or names an unknown package) among {sorted(set(ALLOWED) - placed)}"
        )
        placed |= ready


def test_every_import_follows_the_layers() -> None:
    """A package importing one above it ties the lower layer to the higher one: the lower can no
    longer be used, tested or reasoned about without it, and a cycle is one step away."""
    violations = []
    for module in _modules():
        package = _package_of(module)
        for line, name in _imports(module):
            target = name.split(".")[1]
            if target != package and target not in ALLOWED.get(package, set()):
                violations.append(
                    f"{module.relative_to(REPO)}:{line}: package {package} imports {target}, "
                    f"not in ALLOWED[{package}]"
                )
    assert not violations, "\n" + "\n".join(violations)


def test_no_package_imports_another_packages_private_modules() -> None:
    """A `_module` is its package's business: other packages go through the package's `__all__`,
    so it can be split, renamed or moved (as this redesign did) without breaking them. The
    generated kernels in `canonicalflow._generated` are the exception: they are meant to be used."""
    violations = []
    for module in _modules():
        package = _package_of(module)
        for line, name in _imports(module):
            target, *inner = name.split(".")[1:]
            private = target != "_generated" and target.startswith("_")
            if target != package and (private or any(part.startswith("_") for part in inner)):
                violations.append(
                    f"{module.relative_to(REPO)}:{line}: package {package} imports {name}, "
                    f"a private module of package {target}"
                )
    assert not violations, "\n" + "\n".join(violations)
