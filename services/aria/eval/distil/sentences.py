"""The training sentences of the fitted table: every string of the seeded courses, split
into sentences of 15-400 characters (code lines left out), as `q<TAB>sentence` lines for
`e5_dump` (whose output, one JSON line of ids and e5 query vector each, fit.py reads)."""
import glob, json, re, sys

def walk(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from walk(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from walk(x)

for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    for s in walk(json.load(open(f))):
        for sent in re.split(r"(?<=[.!?])\s+|\n+", s):
            sent = sent.strip().replace("\t", " ")
            if 15 <= len(sent) <= 400 and not sent.startswith(("def ", "import ", "for ", "    ")):
                print("q\t" + sent)
