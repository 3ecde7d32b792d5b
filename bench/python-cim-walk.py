"""Reference run for `npm run bench`: python-cim's full walk of a repository (every namespace reachable
from ROOT, every class definition, every instance with its property values). Needs a python-cim checkout
(mandiant/flare-wmi) and vstruct on PYTHONPATH; the benchmark passes them in. Prints one JSON line."""
import json
import sys
import time

from cim import CIM
from cim.objects import Tree


def main(kind, path):
    t0 = time.perf_counter()
    repo = CIM(kind, path)
    counts = {"namespaces": 0, "classes": 0, "instances": 0}

    def walk(ns):
        counts["namespaces"] += 1
        for cd in ns.classes:
            counts["classes"] += 1
            cd.cd
            for ci in cd.instances:
                counts["instances"] += 1
                for prop in ci.properties.values():
                    try:
                        prop.value
                    except Exception:
                        pass
        for child in ns.namespaces:
            walk(child)

    walk(Tree(repo).root)
    counts["seconds"] = time.perf_counter() - t0
    print(json.dumps(counts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
