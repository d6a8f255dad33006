#!/usr/bin/env python3
"""Checks an `odradek view` page in a real browser's DOM.

Usage: check_view.py PAGE.html DOM.html

PAGE.html is the file odradek wrote; DOM.html is what headless Chromium dumped after
running its script (`--dump-dom`). The page's own data section says how many nodes and
delivered messages the run had and whether it has a violation; the dumped DOM must hold a
lane for every node, an arrow for every delivered message, the violation marker when there
is one, `data-rendered="ok"` on the root and no `data-error`.
"""

import json
import re
import sys


def main(page_path, dom_path):
    page = open(page_path, encoding="utf-8").read()
    dom = open(dom_path, encoding="utf-8").read()
    found = re.search(
        r'<script type="application/json" id="odradek-data">(.*?)</script>', page, re.S
    )
    if not found:
        return "the page has no data section"
    data = json.loads(found.group(1).replace("<\\/", "</"))
    root = re.search(r'<div id="odradek-view"([^>]*)>', dom)
    if not root:
        return "the DOM has no root element"
    if "data-error" in root.group(1):
        return "the page's script failed: " + root.group(1)
    if 'data-rendered="ok"' not in root.group(1):
        return "the page's script did not finish drawing"
    failures = []
    for node in data["nodes"]:
        if f'class="lane" data-node="{node["name"]}"' not in dom:
            failures.append(f"no lane for {node['name']}")
    delivered = [m for m in data["messages"] if m["fate"] in ("delivered", "held")]
    arrows = len(re.findall(r'<line class="msg"[^>]*data-fate="(?:delivered|held)"', dom))
    if arrows != len(delivered):
        failures.append(f"{arrows} arrows for {len(delivered)} delivered messages")
    if data["violation"] is not None and 'id="violation"' not in dom:
        failures.append("no violation marker")
    if failures:
        return "; ".join(failures)
    print(
        f"view ok: {len(data['nodes'])} lanes, {arrows} delivered messages drawn, "
        f"violation {'marked' if data['violation'] else 'none'}"
    )
    return None


if __name__ == "__main__":
    error = main(sys.argv[1], sys.argv[2])
    if error:
        print(f"view check failed: {error}", file=sys.stderr)
        sys.exit(1)
