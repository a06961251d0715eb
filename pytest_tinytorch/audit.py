"""A static audit of the learner's kata files, for grading runs.

Runtime checks (`integrity`, the supervisor) catch what learner code does; this reads
what it says it will do, without running it: imports of the grader's machinery or of
process control, writes to other modules' attributes, file paths that reach for the
reference or the hidden tests, process exits and forks. Findings are reported per kata;
instructors choose whether they only flag the kata (default) or zero it
(`--tinytorch-audit=zero`). A kata that imports another ML framework always scores 0:
the work would not be the learner's.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from .curriculum import BY_ID, ROOT

# Modules a kata never needs: the grader's machinery, and control over the process.
SUSPICIOUS_IMPORTS = {
    "pytest": "the test framework", "_pytest": "the test framework", "pluggy": "pytest's hooks",
    "hypothesis": "the test-case generator", "pytest_tinytorch": "the grader",
    "ctypes": "raw memory access", "signal": "signal handlers (the grader's timers)",
    "resource": "process limits", "gc": "the garbage collector", "threading": "threads",
    "_thread": "threads", "multiprocessing": "child processes", "subprocess": "child processes",
    "importlib": "the import system", "builtins": "Python's builtins", "inspect": "the call stack",
    "sys": None,  # allowed, but some of its attributes are not (below)
    "os": None,
}
FOREIGN_FRAMEWORKS = {"torch", "tensorflow", "jax", "jaxlib", "keras", "mxnet", "paddle", "cupy"}
SUSPICIOUS_CALLS = {
    "os._exit": "ends the process", "os.fork": "forks the process", "os.kill": "sends signals",
    "os.system": "runs a command", "os.execv": "replaces the process", "os.popen": "runs a command",
    "exec": "runs code from a string", "eval": "runs code from a string", "compile": "compiles code",
    "__import__": "imports by name", "sys.setrecursionlimit": "changes the recursion limit",
    "sys.settrace": "traces the grader", "sys.setprofile": "profiles the grader", "sys.exit": "exits",
    "globals": "reads the module namespace",
}
SUSPICIOUS_ATTRIBUTES = {"sys.modules": "the table of loaded modules", "sys.meta_path": "import hooks",
                         "sys._getframe": "the call stack", "os.environ": "the environment"}
SUSPICIOUS_TEXT = re.compile(r"(^|[/\\])reference([/\\]|$)|\.tests\b|pytest_tinytorch|site-packages|"
                            r"progress\.json|GRADING-MANIFEST")
OWN = "tinytorch"  # the learner's own package: kata 06 patches its classes on purpose


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def audit_file(path: Path) -> tuple[list[str], bool]:
    """(findings, uses a foreign framework) for one learner file."""
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return [], False  # a file that does not parse fails its tests already
    findings, foreign = [], False
    aliases: dict[str, str] = {}  # local name -> module it names

    def note(node, text):
        findings.append(f"{rel}:{getattr(node, 'lineno', '?')}: {text}")

    def resolved(node) -> str:
        """A dotted name with its first part read through the imports (`_s.x` -> `sys.x`)."""
        name = _dotted(node)
        first, dot, rest = name.partition(".")
        return (aliases.get(first, first) + dot + rest) if name else ""

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""])
            for name, alias in zip(names, node.names):
                top = name.split(".")[0]
                if isinstance(node, ast.Import):
                    aliases[alias.asname or top] = name if alias.asname else top
                if top in FOREIGN_FRAMEWORKS:
                    foreign = True
                    note(node, f"imports {name}, another ML framework: the kata must be your own code")
                elif SUSPICIOUS_IMPORTS.get(top):
                    note(node, f"imports {name} ({SUSPICIOUS_IMPORTS[top]}), which a kata never needs")
            if isinstance(node, ast.ImportFrom):
                aliases.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("os", "sys"):
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if full in SUSPICIOUS_CALLS or full in SUSPICIOUS_ATTRIBUTES:
                        note(node, f"imports {full}")
        elif isinstance(node, ast.Call):
            name = resolved(node.func)
            if name in SUSPICIOUS_CALLS:
                note(node, f"calls {name} ({SUSPICIOUS_CALLS[name]})")
            elif name in ("setattr", "delattr") and node.args and _foreign_module(node.args[0], aliases):
                note(node, f"calls {name} on the module {aliases[node.args[0].id]}")
        elif isinstance(node, ast.Attribute):
            name = resolved(node)
            if name in SUSPICIOUS_ATTRIBUTES:
                note(node, f"uses {name} ({SUSPICIOUS_ATTRIBUTES[name]})")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                root = target
                while isinstance(root, (ast.Attribute, ast.Subscript)):
                    root = root.value
                if isinstance(target, ast.Attribute) and _foreign_module(root, aliases):
                    note(node, f"writes {_dotted(target)}: an attribute of the module {aliases[root.id]}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            hit = SUSPICIOUS_TEXT.search(node.value)
            if hit:
                note(node, f"mentions {hit.group(0)!r} in a string: a kata never reads the grader's files")
    return findings, foreign


def _foreign_module(node, aliases) -> bool:
    """A name bound by an import to something outside the learner's own tinytorch."""
    return isinstance(node, ast.Name) and node.id in aliases and not aliases[node.id].startswith(OWN)


def scan(kata_ids, root: Path | None = None) -> dict[str, list[str]]:
    """kata id -> findings (katas without findings are left out)."""
    out = {}
    for kid in kata_ids:
        kata = BY_ID[kid]
        folder = (root / "katas" / kid) if root else kata.path
        findings = []
        for f in kata.files:
            path = folder / f.name
            if path.is_file():
                found, foreign = audit_file(path)
                findings += found
        for conftest in sorted(folder.rglob("conftest.py")):
            findings.append(f"{conftest.relative_to(folder.parent.parent)}: a conftest.py inside a kata "
                            "is not part of the kata (it would run inside the grader)")
        if findings:
            out[kid] = findings
    return out


def foreign(kata_id: str, root: Path | None = None) -> bool:
    kata = BY_ID[kata_id]
    folder = (root / "katas" / kata_id) if root else kata.path
    return any(audit_file(folder / f.name)[1] for f in kata.files if (folder / f.name).is_file())


def zeroes(config) -> bool:
    return (config.getoption("tinytorch_audit", "flag") or "flag") == "zero"
