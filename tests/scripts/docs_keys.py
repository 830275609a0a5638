"""Every key the job-file parser accepts (the lists src/config/job.cpp hands to check_keys, which
refuses anything else) appears in docs/job-file.md, as `key` in the text or tables or as `key:`
in its YAML examples. A key added to the parser without documentation fails here."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lridtest import SRC, check, finish  # noqa: E402

src = open(os.path.join(SRC, "src", "config", "job.cpp")).read()
doc = open(os.path.join(SRC, "docs", "job-file.md")).read()

keys = set()
for m in re.finditer(r"check_keys\([^{;]*\{([^}]*)\}", src, re.S):
    keys.update(re.findall(r'"([a-z_0-9]+)"', m.group(1)))
# parse_rule_settings builds its list in a variable, plus per-rule push_backs.
m = re.search(r"std::vector<std::string> keys = \{([^}]*)\};\s*if \(!rule.empty\(\)\)", src, re.S)
check(m is not None, "found the training keys list in parse_rule_settings")
if m:
    keys.update(re.findall(r'"([a-z_0-9]+)"', m.group(1)))
keys.update(re.findall(r'keys\.push_back\("([a-z_0-9]+)"\)', src))
check(len(keys) > 60, f"found the parser's keys ({len(keys)})")
missing = sorted(k for k in keys if f"`{k}`" not in doc and not re.search(rf"\b{re.escape(k)}:", doc))
check(not missing, f"every key is documented in docs/job-file.md (missing: {missing})")
finish()
