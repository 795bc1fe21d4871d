"""Benchmark: accuracy of the notice text parser over tests/notice_corpus (directives, agency roles, deadlines).

Prints one JSON object (precision, recall, F1 per kind; deadline accuracy; per-file misses), then one
human line. Targets: agency-role F1 >= 0.95 and deadline accuracy >= 0.95.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from config.agencies import AgencyDirectory, load_agencies
from config.policy import load_calendar, load_deadline_policy
from config.settings import PACKAGED_CONFIG_DIR
from domain.deadlines import compute_due, rule_from_json
from domain.notice_parser import NoticeDraftText, parse_notice_text, read_notice_text
from domain.text import match_key

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "notice_corpus"
TARGET_AGENCY_F1 = 0.95
TARGET_DEADLINE_ACCURACY = 0.95


def corpus_files(corpus: Path = CORPUS) -> list[tuple[Path, Path]]:
    """(notice, expected) pairs of the corpus, sorted by name."""
    pairs = []
    for expected in sorted(corpus.glob("*.expected.yaml")):
        data = yaml.safe_load(expected.read_text(encoding="utf-8"))
        pairs.append((corpus / data["source"], expected))
    return pairs


def agency_key(ref: Any) -> str:
    """The comparison key of a parsed agency: its (group) code, or '?' + the normalised unknown name."""
    return ref.code if ref.known and ref.code else "?" + match_key(ref.surface)


def expected_key(name: str) -> str:
    """The comparison key of an expected agency ('SO_TC' or '?Sở Y tế')."""
    return "?" + match_key(name[1:]) if name.startswith("?") else name


@dataclass
class FileResult:
    """What one notice scored."""

    name: str
    directives: tuple[set[str], set[str]]
    pairs: tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]
    deadlines: tuple[dict[str, tuple], dict[str, tuple]]
    recipient_errors: list[str] = field(default_factory=list)
    metadata: dict[str, bool] = field(default_factory=dict)


def deadline_tuple(draft: NoticeDraftText, directive: Any, calendar: Any, policy: Any) -> tuple | None:
    """(kind, due date, recurrence, priority) of a parsed directive, due computed with the packaged calendar."""
    dl = directive.deadline
    if dl.rule is None and dl.recurrence is None:
        return None
    kind, due = None, None
    if dl.rule is not None:
        rule = rule_from_json(dl.rule)
        kind = rule.kind
        if draft.issued_on is not None:
            due = compute_due(rule, draft.issued_on, calendar, policy).due
    return (kind, due.isoformat() if due else None, dl.recurrence, dl.priority)


def expected_deadline_tuple(item: dict) -> tuple | None:
    """The same tuple from an expected directive."""
    dl = item.get("deadline")
    rec = item.get("recurrence")
    if dl is None and rec is None:
        return None
    kind = dl["kind"] if dl else None
    due = dl.get("due") if dl else None
    due = due.isoformat() if isinstance(due, date) else due
    return (kind, due, rec, item.get("priority", "normal"))


def score_file(
    source: Path, expected_path: Path, directory: AgencyDirectory, calendar: Any, policy: Any
) -> tuple[FileResult, NoticeDraftText]:
    """Parse one notice and compare it with its expected file."""
    exp = yaml.safe_load(expected_path.read_text(encoding="utf-8"))
    draft = parse_notice_text(read_notice_text(source), directory, source_name=source.name)
    found_numbers = {d.number for d in draft.directives}
    exp_numbers = {str(d["number"]) for d in exp["directives"]}
    found_pairs = {(d.number, agency_key(r), r.role) for d in draft.directives for r in d.assignments}
    exp_pairs = {
        (str(d["number"]), expected_key(k), v) for d in exp["directives"] for k, v in (d.get("agencies") or {}).items()
    }
    found_dl = {d.number: deadline_tuple(draft, d, calendar, policy) for d in draft.directives}
    exp_dl = {str(d["number"]): expected_deadline_tuple(d) for d in exp["directives"]}
    errors = []
    by_number = {d.number: d for d in draft.directives}
    for item in exp["directives"]:
        d = by_number.get(str(item["number"]))
        if d is None:
            continue
        assigned = {agency_key(r) for r in d.assignments}
        for code in item.get("not_assignees") or []:
            if expected_key(code) in assigned:
                errors.append(f"{item['number']}: {code} must not be an assignee")
    meta = exp["notice"]
    exp_date = meta["date"].isoformat() if isinstance(meta["date"], date) else meta["date"]
    metadata = {
        "number": (draft.number.value if not draft.number_is_placeholder else None) == meta["number"],
        "date": draft.date.value == exp_date,
        "issuer": draft.issuer.value == meta["issuer"],
    }
    if "monitors" in exp:
        metadata["monitors"] = {agency_key(m): m.role for m in draft.monitors} == {
            expected_key(k): v for k, v in exp["monitors"].items()
        }
    result = FileResult(
        source.name, (found_numbers, exp_numbers), (found_pairs, exp_pairs), (found_dl, exp_dl), errors, metadata
    )
    return result, draft


def prf(tp: int, found: int, expected: int) -> dict[str, float]:
    """Precision, recall and F1 (1.0 when there is nothing to find and nothing found)."""
    p = tp / found if found else 1.0
    r = tp / expected if expected else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f, 4),
        "tp": tp,
        "found": found,
        "expected": expected,
    }


def run(corpus: Path = CORPUS, config_dir: Path = PACKAGED_CONFIG_DIR) -> dict[str, Any]:
    """Score the whole corpus."""
    directory = load_agencies(config_dir)
    calendar, policy = load_calendar(config_dir), load_deadline_policy(config_dir)
    totals = {k: [0, 0, 0] for k in ("directives", "pairs", "deadlines")}
    dl_correct = dl_total = 0
    misses: dict[str, list[str]] = {}
    meta_ok = meta_total = 0
    recipient_errors = 0
    started = time.perf_counter()
    files = corpus_files(corpus)
    for source, expected in files:
        res, _ = score_file(source, expected, directory, calendar, policy)
        miss: list[str] = []
        f, e = res.directives
        totals["directives"][0] += len(f & e)
        totals["directives"][1] += len(f)
        totals["directives"][2] += len(e)
        miss += [f"directive {n} missing" for n in sorted(e - f)] + [f"directive {n} extra" for n in sorted(f - e)]
        fp, ep = res.pairs
        totals["pairs"][0] += len(fp & ep)
        totals["pairs"][1] += len(fp)
        totals["pairs"][2] += len(ep)
        miss += [f"{n} {k}={r} missing" for n, k, r in sorted(ep - fp)] + [
            f"{n} {k}={r} extra" for n, k, r in sorted(fp - ep)
        ]
        fd, ed = res.deadlines
        for number, want in ed.items():
            got = fd.get(number)
            dl_total += 1
            if got == want:
                dl_correct += 1
            else:
                miss.append(f"{number} deadline {got} != {want}")
            if want is not None:
                totals["deadlines"][2] += 1
                totals["deadlines"][0] += got == want
        totals["deadlines"][1] += sum(1 for n, v in fd.items() if v is not None)
        for key, ok in res.metadata.items():
            meta_total += 1
            meta_ok += ok
            if not ok:
                miss.append(f"metadata {key} wrong")
        recipient_errors += len(res.recipient_errors)
        miss += res.recipient_errors
        if miss:
            misses[res.name] = miss
    elapsed = time.perf_counter() - started
    return {
        "benchmark": "parse_accuracy",
        "files": len(files),
        "directives": prf(*totals["directives"]),
        "agency_roles": prf(*totals["pairs"]),
        "deadlines": prf(*totals["deadlines"]),
        "deadline_accuracy": round(dl_correct / dl_total, 4) if dl_total else 1.0,
        "metadata_accuracy": round(meta_ok / meta_total, 4) if meta_total else 1.0,
        "recipient_errors": recipient_errors,
        "targets": {"agency_role_f1": TARGET_AGENCY_F1, "deadline_accuracy": TARGET_DEADLINE_ACCURACY},
        "misses": misses,
        "seconds": round(elapsed, 3),
    }


def main() -> int:
    """Run, print JSON then one human line; exit 1 when a target is missed."""
    result = run()
    print(json.dumps(result, ensure_ascii=False))
    ok = result["agency_roles"]["f1"] >= TARGET_AGENCY_F1 and result["deadline_accuracy"] >= TARGET_DEADLINE_ACCURACY
    print(
        f"{result['files']} notices: directives F1 {result['directives']['f1']:.3f}, "
        f"agency-role F1 {result['agency_roles']['f1']:.3f} (P {result['agency_roles']['precision']:.3f} / "
        f"R {result['agency_roles']['recall']:.3f}), deadline accuracy {result['deadline_accuracy']:.3f}, "
        f"metadata {result['metadata_accuracy']:.3f}, recipient errors {result['recipient_errors']} — "
        f"{'targets met' if ok else 'TARGETS MISSED'} in {result['seconds']:.2f}s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
