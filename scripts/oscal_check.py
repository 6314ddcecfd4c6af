#!/usr/bin/env python3
"""Checks a package's OSCAL documents with tools that are not ours.

    scripts/oscal_check.py PACKAGE_DIR

1. Loads oscal/assessment-results.json and oscal/dora-catalog.json with compliance-trestle's
   OSCAL models (pydantic, OSCAL 1.2.x).
2. Validates both against NIST's published OSCAL 1.2.1 JSON schemas, vendored in
   tests/fixtures/oscal/ (jsonschema, Draft 7; the schemas' \\p{L} patterns through `regex`).
3. Follows every link: each finding's target-id is the statement part of a control of the
   catalog; each relevant-evidence href is `#<uuid>` of a back-matter resource whose SHA-256 is
   the one the evidence names and the one of an artifact in artifacts.csv; each back-matter
   rlink is a file of the package with that SHA-256; import-ap names the catalog's resource.

Prints what it checked; exit 0 when all holds, 1 naming the first problem, 2 on usage errors.
Used by tests/integration/oscal.rs (scripts/test.sh installs the pinned packages).
"""

import csv
import hashlib
import json
import pathlib
import sys

import jsonschema
import regex
from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.catalog import Catalog

SCHEMAS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "oscal"
RESULTS = "oscal/assessment-results.json"
CATALOG = "oscal/dora-catalog.json"


class Problem(Exception):
    """The first thing that does not hold."""


def pattern(validator, patrn, instance, schema):
    # NIST's schemas use Unicode classes (\p{L}, \p{N}) that Python's `re` lacks.
    if validator.is_type(instance, "string") and not regex.search(patrn, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {patrn!r}")


Validator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": pattern})


def validate(doc, schema_name, what):
    schema = json.loads((SCHEMAS / schema_name).read_text(encoding="utf-8"))
    error = jsonschema.exceptions.best_match(Validator(schema).iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        raise Problem(f"{what}: schema {schema_name}: at /{where}: {error.message}")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load(pkg, rel, model):
    path = pkg / rel
    if not path.is_file():
        raise Problem(f"{rel}: missing")
    try:
        model.oscal_read(path)
    except Exception as e:  # trestle raises its own and pydantic's errors
        raise Problem(f"{rel}: trestle cannot load it: {e}") from e
    return json.loads(path.read_text(encoding="utf-8"))


def statements(catalog):
    """Statement part ids of every control (nested controls and groups included)."""
    found = set()

    def walk(controls):
        for c in controls or []:
            found.update(p["id"] for p in c.get("parts", []) if p.get("name") == "statement" and "id" in p)
            walk(c.get("controls"))

    def walk_groups(groups):
        for g in groups or []:
            walk(g.get("controls"))
            walk_groups(g.get("groups"))

    walk(catalog.get("controls"))
    walk_groups(catalog.get("groups"))
    return found


def check_rlinks(pkg, resources, artifacts):
    """Every rlink is a file of the package with the digest it states."""
    base = pkg / "oscal"
    for uuid, r in resources.items():
        for link in r.get("rlinks", []):
            target = (base / link["href"]).resolve()
            if not target.is_relative_to(pkg.resolve()) or not target.is_file():
                raise Problem(f"back-matter resource {uuid}: rlink {link['href']} is no file of the package")
            want = [h["value"] for h in link.get("hashes", []) if h["algorithm"] == "SHA-256"]
            if not want:
                raise Problem(f"back-matter resource {uuid}: rlink {link['href']} has no SHA-256")
            got = sha256_file(target)
            if want[0] != got:
                raise Problem(f"back-matter resource {uuid}: rlink {link['href']}: SHA-256 {want[0]} stated, file has {got}")
            if link["href"].startswith("../artifacts/") and got not in artifacts:
                raise Problem(f"back-matter resource {uuid}: {got} is no artifact of artifacts.csv")


def resource_sha(resource):
    for link in resource.get("rlinks", []):
        for h in link.get("hashes", []):
            if h["algorithm"] == "SHA-256":
                return h["value"]
    return None


def check_observations(result, resources, artifacts):
    """Every relevant-evidence href is a back-matter resource with the artifact's digest."""
    items = {i["uuid"] for i in result.get("local-definitions", {}).get("inventory-items", [])}
    count = 0
    for o in result.get("observations", []):
        for s in o.get("subjects", []):
            if s["type"] == "inventory-item" and s["subject-uuid"] not in items:
                raise Problem(f"observation {o['uuid']}: subject {s['subject-uuid']} is no inventory item")
        for e in o.get("relevant-evidence", []):
            href = e.get("href", "")
            named = [p["value"] for p in e.get("props", []) if p["name"] == "sha256"]
            resource = resources.get(href[1:]) if href.startswith("#") else None
            if resource is None:
                raise Problem(f"observation {o['uuid']}: relevant-evidence href {href} resolves to no back-matter resource")
            sha = resource_sha(resource)
            if not named or sha != named[0]:
                raise Problem(f"observation {o['uuid']}: relevant-evidence href {href}: resource SHA-256 {sha}, evidence names {named}")
            if sha not in artifacts:
                raise Problem(f"observation {o['uuid']}: relevant-evidence href {href}: {sha} is no artifact of artifacts.csv")
            count += 1
    return count


def check(pkg):
    results = load(pkg, RESULTS, AssessmentResults)
    catalog = load(pkg, CATALOG, Catalog)
    validate(results, "oscal_assessment-results_schema.json", RESULTS)
    validate(catalog, "oscal_catalog_schema.json", CATALOG)
    ar = results["assessment-results"]
    with open(pkg / "artifacts.csv", newline="", encoding="utf-8") as f:
        artifacts = {row["sha256"] for row in csv.DictReader(f)}
    for sha in artifacts:
        if sha256_file(pkg / "artifacts" / "sha256" / sha) != sha:
            raise Problem(f"artifacts/sha256/{sha}: content does not have that SHA-256")
    resources = {r["uuid"]: r for r in ar.get("back-matter", {}).get("resources", [])}
    check_rlinks(pkg, resources, artifacts)
    catalog_sha = sha256_file(pkg / CATALOG)
    plan = ar["import-ap"]["href"]
    if not plan.startswith("#") or resource_sha(resources.get(plan[1:], {})) != catalog_sha:
        raise Problem(f"import-ap href {plan} is not the back-matter resource of {CATALOG}")
    targets = statements(catalog["catalog"])
    findings = evidence = 0
    for result in ar["results"]:
        for finding in result.get("findings", []):
            target = finding["target"]["target-id"]
            if target not in targets:
                raise Problem(f"finding {finding['uuid']}: target-id {target} is no statement of {CATALOG}")
            findings += 1
        evidence += check_observations(result, resources, artifacts)
    print(f"trestle loaded both documents; both valid against NIST's OSCAL {ar['metadata']['oscal-version']} schemas")
    print(f"{findings} findings target {len(targets)} catalog statements; {evidence} relevant-evidence links resolve")
    print(f"{len(resources)} back-matter resources: every rlink is a package file with its SHA-256 ({len(artifacts)} artifacts)")


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        check(pathlib.Path(argv[1]))
    except Problem as e:
        print(f"oscal_check: {e}", file=sys.stderr)
        return 1
    print("oscal_check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
