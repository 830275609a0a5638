"""Device placement of the tensors the training path makes (src/nn, src/train, src/data).

A CUDA run fails at its first step when an op mixes a tensor on the GPU with one that a factory
call made on the CPU (torch::eye(n) without options, say). LibTorch 1.13's C++ library runs the
objectives and the fully connected layers on its meta device (train_objectives_torch_test.cpp),
but not the conv layers' backward, the augmentations' mirror, nor whole models (see there). So
this check reads the sources: every call of a tensor factory (torch:: or at:: eye, arange, zeros,
ones, full, empty, tensor, rand, randn, randint, randperm, linspace, from_blob) must, in the same
statement, take its options from a tensor (`.options()`), name a device (`device`), or be moved
(`.to(`); or carry a comment `// host: <why>` on its line or the line above (memory that is meant
to be on the host: data read from files, seeded draws moved later, checkpoint scalars).

  device_factories.py [SOURCE ...]   (default: every .cpp under src/nn, src/train, src/data)
"""
import glob
import os
import re
import sys

SRC = os.environ.get("LRID_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
FACTORY = re.compile(r"\b(?:torch|at)::(eye|arange|zeros|ones|full|empty|tensor|rand|randn|randint|randperm|linspace|from_blob)\s*\(")
OK = re.compile(r"\.options\(\)|device|\.to\(")


def statement(text, start):
    """The text from `start` to the end of its statement (the ';' at parenthesis depth 0)."""
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return text[start:i]
        elif c == ";" and depth == 0:
            return text[start:i]
    return text[start:]


def offenders(path):
    text = open(path).read()
    lines = text.split("\n")
    out = []
    for m in FACTORY.finditer(text):
        line_no = text.count("\n", 0, m.start())
        line = lines[line_no]
        if line.lstrip().startswith("//"):
            continue
        above = lines[line_no - 1] if line_no > 0 else ""
        if "// host:" in line or "// host:" in above:
            continue
        if OK.search(statement(text, m.start())):
            continue
        out.append(f"{os.path.relpath(path, SRC)}:{line_no + 1}: {line.strip()}")
    return out


def main():
    files = sys.argv[1:] or sorted(
        f for d in ("nn", "train", "data") for f in glob.glob(os.path.join(SRC, "src", d, "*.cpp")))
    bad = [o for f in files for o in offenders(f)]
    for b in bad:
        print("device placement not stated: " + b)
    print(f"device_factories: {len(files)} files, {len(bad)} factory call(s) without a device or a '// host:' reason")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
