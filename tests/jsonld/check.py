"""Checklist G: the JSON-LD register parses with a JSON-LD 1.1 processor (pyld).

Reads the export on stdin, expands it without any network access (the context is inline; remote
contexts are refused), and checks that every @id and @type became an absolute IRI and that each
processing activity is a dpv:Process carrying purpose, legal basis, personal data and data
subject. Exits non-zero with the reason otherwise.
"""
import json
import sys

from pyld import jsonld

DPV = "https://w3id.org/dpv#"


def refuse_remote(url, options=None):
    raise RuntimeError(f"remote context requested: {url}")


def main() -> int:
    doc = json.load(sys.stdin)
    # pyld resolves relative IRIs against this base; none may appear in our export.
    expanded = jsonld.expand(doc, {"documentLoader": refuse_remote, "base": "http://example.org/base/"})
    problems = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "@id" and (
                    not value.startswith(("http://", "https://", "urn:"))
                    or value.startswith("http://example.org/base/")
                ):
                    problems.append(f"@id not an absolute IRI: {value!r}")
                if key == "@type":
                    for t in value if isinstance(value, list) else [value]:
                        if not t.startswith(("http://", "https://", "urn:")):
                            problems.append(f"@type not expanded: {t!r}")
                if not key.startswith("@") and not key.startswith(("http://", "https://")):
                    problems.append(f"property not expanded: {key!r}")
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(expanded)
    graph = expanded[0]["@graph"] if expanded and "@graph" in expanded[0] else expanded
    processes = [n for n in graph if DPV + "Process" in n.get("@type", [])]
    if len(processes) < 1:
        problems.append("no dpv:Process in the register")
    for p in processes:
        for prop in ["hasPurpose", "hasLegalBasis", "hasPersonalData", "hasDataSubject"]:
            if not p.get(DPV + prop):
                problems.append(f"{p.get('@id')} lacks dpv:{prop}")
    if problems:
        print("JSON-LD check failed:", *problems[:20], sep="\n  ")
        return 1
    print(f"JSON-LD check: expanded with pyld {jsonld.__version__ if hasattr(jsonld, '__version__') else ''}; "
          f"{len(processes)} dpv:Process nodes, every term absolute")
    return 0


if __name__ == "__main__":
    sys.exit(main())
