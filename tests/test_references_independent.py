"""The plain-Python references in tests/ import no rule code of what they check.

A reference may take the library's *data containers* as inputs (a loaded scheme, a validated
policy, a weights table), never a function that computes a rule: otherwise the cross-check
would compare the code with itself.
"""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PACKAGES = ("grouper", "payment", "drgsim")
#: What a reference may import from the packages: data containers only.
ALLOWED = {
    ("grouper", None),  # ``grouper.Scheme`` used as a type of the loaded scheme data
    ("payment.policy", "Policy"),
    ("payment.weights", "Weights"),
}


def _package_imports(path: Path) -> list[tuple[str, str | None, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names
                      if a.name.split(".")[0] in PACKAGES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] in PACKAGES:
            found += [(node.module, a.name, node.lineno) for a in node.names]
    return found


def test_every_reference_imports_only_data_containers():
    refs = sorted({*TESTS.rglob("naive*.py"), *(p for d in TESTS.glob("ref*") if d.is_dir()
                                               for p in d.rglob("*.py"))})
    assert len(refs) >= 6, refs
    bad = [f"{p.relative_to(TESTS)}:{line}: {mod}{'.' + name if name else ''}"
           for p in refs for mod, name, line in _package_imports(p)
           if (mod, name) not in ALLOWED]
    assert bad == []


def test_grouper_reference_uses_the_scheme_only_as_data():
    src = (TESTS / "naive.py").read_text(encoding="utf-8")
    uses = {n.attr for n in ast.walk(ast.parse(src))
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id == "grouper"}
    assert uses == {"Scheme"}
