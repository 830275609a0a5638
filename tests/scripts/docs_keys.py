"""Every key the job-file parser accepts (the lists src/config/job.cpp hands to check_keys, which
refuses anything else, and the training keys and rules' own keys of the rule registry, from
`lrid rules --json`) appears in docs/job-file.md, as `key` in the text or tables or as `key:` in
its YAML examples, and every learning rule is named there. A key or rule added without
documentation fails here."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lridtest import LRID, SRC, check, finish  # noqa: E402

src = open(os.path.join(SRC, "src", "config", "job.cpp")).read()
doc = open(os.path.join(SRC, "docs", "job-file.md")).read()

keys = set()
for m in re.finditer(r"check_keys\([^{;]*\{([^}]*)\}", src, re.S):
    keys.update(re.findall(r'"([a-z_0-9]+)"', m.group(1)))
# The training keys and every learning rule's own keys come from the rule registry.
reg = json.loads(subprocess.run([LRID, "rules", "--json"], capture_output=True, text=True, check=True).stdout)
keys.update(reg["training_keys"])
keys.add("optimizer")
for r in reg["rules"]:
    check(f"`{r['name']}`" in doc, f"learning rule {r['name']} is documented")
    for k in r["keys"]:
        keys.update(k["key"].split("."))
check(len(keys) > 60, f"found the parser's keys ({len(keys)})")
missing = sorted(k for k in keys if f"`{k}`" not in doc and not re.search(rf"\b{re.escape(k)}:", doc))
check(not missing, f"every key is documented in docs/job-file.md (missing: {missing})")
finish()
