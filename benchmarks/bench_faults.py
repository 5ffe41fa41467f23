"""Issue 15's hostile cases, re-run: each one's exit code, its stderr, and whether anything was lost.

    python benchmarks/bench_faults.py      # writes benchmarks/results/faults.json (a few minutes)

A case passes when the command ends with the documented exit code, its error is one
`Error: ...` line (not the bug-class `Error: unexpected ...`, no traceback), and its
check holds (the old output is intact, the records before a break are there, ...).
Cases run as real shell commands in a scratch directory, with the embedded sample
(corpora/imdb-sample) and small models trained first. The issue's classes 1-4 are the
runner's (the lead's); they are re-run here too, so that the closing note has one table.
"""

from __future__ import annotations

import gzip
import http.server
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import IMDB, REPO, write_results  # noqa: E402

SAMPLE = REPO / "corpora" / "imdb-sample"
N = f"{sys.executable} -m nlpkit"
# the kill / Ctrl-C / worker cases need a run that is still going when the signal comes: IMDb's
# 50,000 unlabelled reviews four times over, signalled once the run's temporary output has grown
BIG = " ".join(["big.jsonl.gz"] * 4)


def started(output: str) -> str:
    """Shell: wait (at most 60 s) until the run writing `output` has written 100 kB of it."""
    return (f"for i in $(seq 600); do [ -n \"$(find . -maxdepth 1 -name '.{output}.tmp-*' -size +100k)\" ] && break; "
            "sleep 0.1; done")


@dataclass
class Case:
    cls: int
    name: str
    command: str
    exit_code: int | tuple[int, ...]
    check: str = ""  # a shell test run after the command; it must exit 0 (nothing lost, the right output)
    timeout: float = 120


@dataclass
class Outcome:
    cls: int
    name: str
    command: str
    expected: str
    exit_code: int | None
    clean: bool
    check_ok: bool
    ok: bool
    stderr: str
    seconds: float


def prepare(scratch: Path) -> None:
    """Data and models the cases share."""
    with gzip.open(SAMPLE / "train.jsonl.gz", "rt") as f:
        records = [json.loads(line) for line in f][::4][:200]
    (scratch / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with gzip.open(SAMPLE / "test.jsonl.gz", "rt") as f:
        tests = [json.loads(line) for line in f][::40][:20]
    (scratch / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in tests))
    shell(scratch, f"{N} train --model tfidf-lr --train train.jsonl -o lr")
    shell(scratch, f"{N} train --model fasttext --epochs 2 --train train.jsonl -o ft")
    shell(scratch, f"{N} train --model bilstm --epochs 1 --dim 8 --hidden 8 --max-len 24 --train train.jsonl -o bl")
    shell(scratch, f"{N} embed train --algo word2vec --dim 8 --epochs 1 train.jsonl -o vec")
    # a larger input, for the kill / Ctrl-C / worker cases (the issue used IMDb's 50,000 unlabelled reviews)
    if (IMDB / "unsup.jsonl.gz").is_file():
        (scratch / "big.jsonl.gz").symlink_to(IMDB / "unsup.jsonl.gz")
    else:
        with gzip.open(scratch / "big.jsonl.gz", "wt") as out:
            for _ in range(50):
                with gzip.open(SAMPLE / "train.jsonl.gz", "rt") as f:
                    out.writelines(f)


def shell(cwd: Path, command: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def unseal(directory: str) -> str:
    """A shell step: strip the checksums, as in a model saved before nlpkit had them."""
    return (f"{sys.executable} -c \"import json; p='{directory}/nlpkit.json'; d=json.load(open(p)); "
            "[d.pop(k, None) for k in ('checksums', 'manifest_checksum')]; json.dump(d, open(p, 'w'))\"")


def edit(directory: str, key: str, value: str) -> str:
    return (f"{sys.executable} -c \"import json; p='{directory}/nlpkit.json'; d=json.load(open(p)); "
            f"d['{key}'] = {value}; json.dump(d, open(p, 'w'))\"")


def cases(garbage_url: str) -> list[Case]:
    one = '{"text": "k"}'
    return [
        # 1-4: the runner's
        Case(1, "clean -o equal to the input", f"printf '{one}\\n' > x.jsonl; {N} clean x.jsonl -o x.jsonl", 2,
             "test -s x.jsonl"),
        Case(1, "tokenize -o equal to the input (gzip)", f"printf '{one}\\n' | gzip > x.jsonl.gz; "
             f"{N} tokenize x.jsonl.gz -o x.jsonl.gz", 2, "zcat x.jsonl.gz | grep -q k"),
        Case(1, "run -o equal to the input", f"printf '{one}\\n' > y.jsonl; {N} run --pipeline 'clean | tokenize' y.jsonl -o y.jsonl", 2,
             "test -s y.jsonl"),
        Case(2, "a failing run keeps the old -o file", "echo old > o.jsonl; printf '{\"text\": \"a\"}\\n{\"text\": 1}\\n'"
             f" > bad.jsonl; {N} clean bad.jsonl -o o.jsonl", 1, "test \"$(cat o.jsonl)\" = old"),
        Case(2, "kill -9 keeps the old -o file", f"echo old > k.jsonl; {N} clean {BIG} -o k.jsonl & p=$!; "
             f"{started('k.jsonl')}; kill -9 $p; wait $p", 137, "test \"$(cat k.jsonl)\" = old"),
        # set -m: a script's background job would otherwise start with SIGINT ignored
        Case(2, "Ctrl-C keeps the old -o file", f"set -m; echo old > c.jsonl; {N} clean {BIG} -o c.jsonl & p=$!; "
             f"{started('c.jsonl')}; kill -INT $p; wait $p", 130, "test \"$(cat c.jsonl)\" = old"),
        Case(3, "a killed --jobs worker ends the run", f"{N} clean -j 2 {BIG} -o w.jsonl & p=$!; {started('w.jsonl')}; "
             "kill -9 $(pgrep -P $p | head -1); wait $p", 1, "", timeout=90),
        Case(4, "Ctrl-C under --jobs 2 is one line", f"set -m; {N} clean -j 2 {BIG} -o j.jsonl & p=$!; {started('j.jsonl')}; "
             "kill -INT $p; wait $p", 130),
        # 5
        *[Case(5, f"{name} on a closed pipe", f"{N} {args} | head -c 10 > /dev/null", 0)
          for name, args in (("inspect", "inspect --model lr --top 3000"), ("doctor", "doctor"),
                             ("corpora list", "corpora list"))],
        # 6, 7, 8
        Case(6, "damaged gzip, a path", f"{sys.executable} -c \"d=bytearray(open('{SAMPLE}/train.jsonl.gz','rb').read()); "
             "d[5000:5100]=bytes(b^0x55 for b in d[5000:5100]); open('bad.jsonl.gz','wb').write(d)\"; "
             f"{N} clean bad.jsonl.gz", 1),
        Case(6, "damaged gzip, --on-error skip", f"{N} clean --on-error skip bad.jsonl.gz test.jsonl > s.jsonl", 0,
             "test $(wc -l < s.jsonl) -eq 20"),
        Case(6, "truncated gzip on stdin", f"head -c 20000 {SAMPLE}/train.jsonl.gz | {N} clean > t1.jsonl", 1,
             "test $(wc -l < t1.jsonl) -eq 42"),
        Case(7, "truncated gzip keeps what it holds", f"head -c 20000 {SAMPLE}/train.jsonl.gz > t.jsonl.gz; "
             f"{N} clean --on-error skip t.jsonl.gz > t2.jsonl", 0, "test $(wc -l < t2.jsonl) -eq 42"),
        Case(8, "JSONL with a BOM on stdin", f"printf '\\xef\\xbb\\xbf{{\"text\": \"A b\"}}\\n' | {N} clean > bom.jsonl", 0,
             "grep -q '\"text\":\"a b\"' bom.jsonl"),
        # 9, 10, 11
        Case(9, "truncated linear.npz", f"cp -r lr m1; truncate -s 100 m1/linear.npz; {N} predict --model m1 test.jsonl", 1),
        Case(9, "empty linear.npz (no checksums)", f"cp -r lr m2; {unseal('m2')}; : > m2/linear.npz; "
             f"{N} predict --model m2 test.jsonl", 1),
        Case(9, "truncated weights.safetensors", f"cp -r bl b1; {unseal('b1')}; truncate -s 1000 b1/weights.safetensors; "
             f"{N} predict --model b1 test.jsonl", 1),
        Case(9, "a pickle as weights.safetensors", f"cp -r bl b2; {unseal('b2')}; {sys.executable} -c \"import pickle, os; "
             "open('b2/weights.safetensors','wb').write(pickle.dumps(os.getcwd))\"; "
             f"{N} predict --model b2 test.jsonl", 1),
        Case(9, "truncated fastText .bin (bad_alloc)", f"cp -r ft f1; {unseal('f1')}; truncate -s 3000 f1/model.bin; "
             f"{N} predict --model f1 test.jsonl", 1),
        Case(9, "format_version \"1\"", f"cp -r lr m3; {edit('m3', 'format_version', repr('1'))}; "
             f"{N} predict --model m3 test.jsonl", 1),
        Case(9, "params null", f"cp -r lr m4; {unseal('m4')}; {edit('m4', 'params', 'None')}; "
             f"{N} predict --model m4 test.jsonl", 1),
        Case(9, "labels null", f"cp -r lr m5; {unseal('m5')}; {edit('m5', 'labels', 'None')}; "
             f"{N} predict --model m5 test.jsonl", 1),
        Case(9, "corrupt trainer state.json on --resume", "cp -r bl b3; echo '{\"broken' > b3/model-last/trainer/state.json; "
             f"{N} train --model bilstm --epochs 2 --dim 8 --hidden 8 --max-len 24 --train train.jsonl -o b3 --resume latest",
             1),
        Case(9, "corrupt bench data.json, --force", f"{N} bench imdb --data {SAMPLE} --methods bow-nb --limit 40 --out bo "
             f"> /dev/null 2>&1; echo '{{\"key\":' > bo/data/data.json; {N} bench imdb --data {SAMPLE} --methods bow-nb "
             "--limit 40 --out bo --force > /dev/null", 0, "grep -q counts bo/data/data.json", timeout=300),
        Case(9, "word2vec header 100000000 100000000", "printf '100000000 100000000\\nw 1 2\\n' > huge.txt; "
             f"{N} embed similar --vectors huge.txt w", 1),
        Case(10, "fastText .bin cut in half", f"cp -r ft f2; {unseal('f2')}; truncate -s $(( $(stat -c %s f2/model.bin) / 2 ))"
             f" f2/model.bin; {N} evaluate --model f2 --test test.jsonl", 1),
        Case(11, "bert directory without tokenizer.json", "mkdir -p bert/transformer; echo '{}' > bert/transformer/config.json;"
             " : > bert/transformer/model.safetensors; echo '{\"format_version\": 1, \"kind\": \"bert\", \"params\": {}, "
             f"\"labels\": [\"neg\", \"pos\"]}}' > bert/nlpkit.json; {N} predict --model bert test.jsonl", 1),
        # 12, 13, 14
        Case(12, "tokenize a 1.25 MB text, skip", f"{sys.executable} -c \"import json; print(json.dumps({{'text': 'word ' * "
             f"250000}})); print(json.dumps({{'text': 'Short.'}}))\" > long.jsonl; {N} tokenize --on-error skip long.jsonl"
             " > l1.jsonl", 0, "test $(wc -l < l1.jsonl) -eq 1"),
        Case(12, "ner a 1.25 MB text, skip", f"{N} ner --on-error skip long.jsonl > l2.jsonl", 0,
             "test $(wc -l < l2.jsonl) -eq 1"),
        Case(13, "lemmatize with a non-string pos", "printf '{\"tokens\": [\"dogs\"], \"pos\": [\"NNS\"]}\\n{\"tokens\": "
             f"[\"cats\"], \"pos\": [1]}}\\n' | {N} lemmatize > lem.jsonl", 1, "grep -q dog lem.jsonl"),
        Case(14, "fastText with __label__x in a text", "cp train.jsonl lab.jsonl; echo '{\"text\": \"a __label__x b\", "
             f"\"label\": \"pos\"}}' >> lab.jsonl; {N} train --model fasttext --epochs 1 --train lab.jsonl -o f3 && "
             f"{N} predict --model f3 test.jsonl > /dev/null", 0),
        # 15
        Case(15, "clean -o /dev/full", f"{N} clean test.jsonl -o /dev/full", 1, "test -c /dev/full"),
        Case(15, "vectorize -o /dev/full (a directory output)", f"{N} vectorize tfidf train.jsonl -o /dev/full", 1,
             "test -c /dev/full"),
        Case(15, "inspect to a full stdout", f"{N} inspect --model lr > /dev/full", 1),
        Case(15, "clean with stdout closed", f"{N} clean test.jsonl >&-", 1),
        Case(15, "train -o under a regular file", f"echo x > afile; {N} train --model tfidf-lr --train train.jsonl "
             "-o afile/m", 1, "test \"$(cat afile)\" = x"),
        Case(15, "clean -o under a regular file", f"{N} clean test.jsonl -o afile/c.jsonl", 1),
        # 16, 17, 18
        Case(16, "neural weights get the umask's mode", "umask 022; stat -c %a bl/weights.safetensors | grep -qx 644", 0),
        Case(17, "import with a FIFO, a directory N_R.txt and a symlink", "mkdir -p acl/aclImdb/{train,test}/{pos,neg}; "
             "for s in train test; do for l in pos neg; do echo \"review $s $l\" > acl/aclImdb/$s/$l/1_7.txt; done; done; "
             "mkfifo acl/aclImdb/train/pos/9_7.txt; mkdir acl/aclImdb/train/neg/8_3.txt; echo SECRET > secret.txt; "
             "ln -s \"$PWD/secret.txt\" acl/aclImdb/test/pos/7_9.txt; "
             f"NLPKIT_HOME=$PWD/home {N} corpora import imdb acl", 0,
             "! zcat home/corpora/imdb/*.jsonl.gz | grep -q SECRET", timeout=60),
        Case(18, "vectors manifest file ../../etc/passwd", f"cp -r vec v1; {unseal('v1')}; "
             f"{edit('v1', 'file', repr('../../../../../etc/passwd'))}; {N} embed similar --vectors v1 good 2> v1.err; "
             "rc=$?; cat v1.err >&2; ! grep -q root: v1.err && exit $rc", 1),
        # 19
        Case(19, "evaluate an empty file", f": > empty.jsonl; {N} evaluate --model lr --test empty.jsonl", 1),
        Case(19, "vectorize an empty file", f"{N} vectorize tfidf empty.jsonl -o vz", 1),
        Case(19, "embed train an empty file", f"{N} embed train --algo word2vec empty.jsonl -o ve", 1),
        Case(19, "bench an empty split", f"mkdir -p eb; : > eb/train.jsonl; : > eb/test.jsonl; "
             f"{N} bench imdb --data eb --methods bow-nb --out be", 1),
        Case(19, "import a file that is not a tarball", f"echo '<html>' > page.tar.gz; NLPKIT_HOME=$PWD/home2 "
             f"{N} corpora import imdb page.tar.gz", 1),
        Case(19, "fetch garbage: nothing left in downloads/", f"NLPKIT_HOME=$PWD/home3 {N} corpora fetch imdb --url "
             f"{garbage_url} --md5 $({sys.executable} -c \"import hashlib; print(hashlib.md5(b'<html>moved</html>').hexdigest())\")",
             1, "test -z \"$(ls -A home3/downloads 2>/dev/null)\""),
        Case(19, "a null label in the test split", "mkdir -p jd; printf '{\"text\": \"a\", \"label\": \"pos\"}\\n' > "
             "jd/train.jsonl; printf '{\"text\": \"b\", \"label\": null}\\n' > jd/test.jsonl; "
             f"NLPKIT_HOME=$PWD/home4 {N} corpora import imdb jd", 1),
        Case(19, "kill -9 leaves no temporaries for the next run", f"{N} embed train --algo word2vec --dim 8 big.jsonl.gz "
             f"-o vk & p=$!; sleep 6; kill -9 $p; wait $p; {N} train --model tfidf-lr --train train.jsonl -o vk2 && "
             f"{N} embed train --algo word2vec --dim 4 --epochs 1 test.jsonl -o vk", 0,
             "test -z \"$(ls -A | grep '^\\.vk')\" && ! ls ${TMPDIR:-/tmp}/nlpkit-corpus-tmp-* 2>/dev/null | grep -q .",
             timeout=180),
        Case(19, "a missing stage input is exit 2", f"{N} clean missing.jsonl", 2),
        Case(19, "a missing --train file is exit 2", f"{N} train --model tfidf-lr --train missing.jsonl -o mm", 2),
    ]


PROBE = f"{sys.executable} {REPO / 'benchmarks' / 'serve_probe.py'}"


def server_cases() -> list[Case]:
    """`nlpkit serve` against hostile clients (classes 20-28): each probe starts a real server on
    127.0.0.1, sends its requests, stops it with SIGTERM, and exits 0 when the server behaved."""
    serve_lr = f"{N} serve --model lr --port"
    return [
        Case(20, "/v1/run: no option names a file; errors do not tell if a path exists", f"{PROBE} files", 0, timeout=180),
        Case(20, "/v1/run: hostile and slow requests wedge nothing", f"{PROBE} wedge", 0, timeout=300),
        Case(20, "SIGTERM with a slow /v1/run in flight", f"{PROBE} sigterm", 0, timeout=180),
        Case(21, "explain: 100 calls at concurrency 50 on a fresh server", f"{PROBE} explain", 0, timeout=180),
        Case(22, "NaN, Infinity, 1e400 and lone surrogates", f"{PROBE} values", 0, timeout=180),
        Case(23, "records [] on a linear model, --help, wordpiece --checkpoint", f"{PROBE} 500s", 0, timeout=180),
        Case(24, "--workers 2, a model that fails only at load", f"cp -r lr w1; {unseal('w1')}; truncate -s 100 "
             f"w1/linear.npz; timeout 120 {serve_lr} 0 --workers 2 --model w1", 1),
        Case(25, "300 half-sent requests", f"{PROBE} slowloris", 0, timeout=180),
        Case(26, "50 invented HTTP methods in /metrics", f"{PROBE} methods", 0, timeout=180),
        Case(27, "urllib sends a body over --max-body-mb whole", f"{PROBE} urllib-413", 0, timeout=180),
        Case(28, "a port in use", f"{sys.executable} -c \"import socket, subprocess, sys; s = socket.socket(); "
             "s.bind(('127.0.0.1', 0)); s.listen(); sys.exit(subprocess.call(sys.argv[1:] + [str(s.getsockname()[1])]))\" "
             f"{serve_lr}", 1, timeout=120),
    ]


def run_case(case: Case, scratch: Path) -> Outcome:
    started = time.perf_counter()
    try:
        proc = shell(scratch, case.command, timeout=case.timeout)
        rc, stderr = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired:
        rc, stderr = None, f"hung: no exit within {case.timeout:.0f} s"
    seconds = round(time.perf_counter() - started, 2)
    # bash's own reports of the case's job control ("[1]+  Exit 130 ...", "bash: line 1: 123 Killed ...") are not nlpkit's
    lines = [line for line in stderr.splitlines()
             if line.strip() and not re.match(r"^\[\d+\][+-]? |^bash: line \d+: +\d+ ", line)]
    errors = [line for line in lines if line.startswith("Error: ")]
    expected = case.exit_code if isinstance(case.exit_code, tuple) else (case.exit_code,)
    clean = "Traceback" not in stderr and not any(line.startswith("Error: unexpected") for line in lines)
    if rc == 130:  # Ctrl-C: that one line and nothing else
        clean = clean and lines == ["Interrupted."]
    elif rc not in (0, 137, None):  # 137: killed by the case itself, bash reports it
        clean = clean and len(errors) == 1
    check_ok = not case.check or shell(scratch, case.check, timeout=60).returncode == 0
    ok = rc in expected and clean and check_ok
    return Outcome(case.cls, case.name, case.command, "/".join(map(str, expected)), rc, clean, check_ok, ok,
                   "\n".join(lines[-3:])[:600], seconds)


class _Garbage(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"<html>moved</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main() -> int:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scratch = Path(tempfile.mkdtemp(prefix="nlpkit-faults-"))
    try:
        started = time.perf_counter()
        prepare(scratch)
        outcomes = []
        for case in cases(f"http://127.0.0.1:{server.server_port}/aclImdb_v1.tar.gz") + server_cases():
            outcome = run_case(case, scratch)
            outcomes.append(outcome)
            print(f"{'ok  ' if outcome.ok else 'FAIL'} {case.cls:>2} {case.name}: exit {outcome.exit_code} "
                  f"({outcome.seconds:.1f} s) {outcome.stderr.splitlines()[-1] if outcome.stderr else ''}", flush=True)
        passed = sum(o.ok for o in outcomes)
        write_results("faults", {
            "summary": {"cases": len(outcomes), "ok": passed, "failed": [f"{o.cls}: {o.name}" for o in outcomes if not o.ok],
                        "seconds": round(time.perf_counter() - started, 1)},
            "cases": [asdict(o) for o in outcomes],
        })
        return 0
    finally:
        server.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
