"""Benchmark: accuracy of the notice text parser over tests/notice_corpus (directives, agency roles, deadlines).

Prints one JSON object, then two human lines. The top-level figures (precision, recall, F1 per kind; deadline
accuracy; per-file misses) are the strict regression set, tests/notice_corpus/*.expected.yaml, as before;
targets there: agency-role F1 >= 0.95 and deadline accuracy >= 0.95 (exit 1 when missed).
The "field" key scores the whole corpus of issue 16 (regression set + tests/notice_corpus/field/): per genre,
for the blind part (its second batch, `batch: 2`, also alone as "blind2") and in full, directive recall, lead
and supporting agency P/R/F1, deadline and recurrence accuracy, refusals. Its blind targets (lead F1 >= 0.9,
support F1 >= 0.8, deadline accuracy >= 0.9, no refusal) are reported, not enforced by the exit code: the field
corpus was written to fail today's parser.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from config.agencies import AgencyDirectory, load_agencies
from config.body_types import load_body_types
from config.policy import load_calendar, load_deadline_policy
from config.settings import PACKAGED_CONFIG_DIR
from domain.deadlines import compute_due, rule_from_json
from domain.notice_parser import NoticeDraftText, NoticeParseError, parse_notice_text, read_notice_text
from domain.text import match_key, normalize_vietnamese

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "notice_corpus"
TARGET_AGENCY_F1 = 0.95
# The national list of standard bodies, passed as `dondoc parse` passes it.
BODY_TYPES = load_body_types(PACKAGED_CONFIG_DIR)
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


# (rule kind, due date, recurrence, priority) of one directive.
DeadlineKey = tuple[Any, ...]


@dataclass
class FileResult:
    """What one notice scored."""

    name: str
    directives: tuple[set[str], set[str]]
    pairs: tuple[set[tuple[str, str, Any]], set[tuple[str, str, Any]]]
    deadlines: tuple[dict[str, tuple[Any, ...] | None], dict[str, tuple[Any, ...] | None]]
    recipient_errors: list[str] = field(default_factory=list)
    metadata: dict[str, bool] = field(default_factory=dict)


def deadline_tuple(draft: NoticeDraftText, directive: Any, calendar: Any, policy: Any) -> tuple[Any, ...] | None:
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


def expected_deadline_tuple(item: dict[str, Any]) -> tuple[Any, ...] | None:
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
    draft = parse_notice_text(read_notice_text(source), directory, source_name=source.name, body_types=BODY_TYPES)
    found_numbers = {d.number for d in draft.directives}
    exp_numbers = {str(d["number"]) for d in exp["directives"]}
    found_pairs = {(d.number, agency_key(r), str(r.role)) for d in draft.directives for r in d.assignments}
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
        "field": run_field(files + field_files(corpus / "field"), directory, calendar, policy),
    }


# --- the field corpus of issue 16: genres, provinces, blind part ------------------------------------------

GENRES = ("thong-bao-ket-luan", "ket-luan", "cong-van", "y-kien-chi-dao", "tom-tat-cuoc-hop")
BLIND_TARGETS = {"lead_f1": 0.9, "support_f1": 0.8, "deadline_accuracy": 0.9, "refusals": 0}
# Keyword names under which a parser may accept the issue date when the text lacks it (issue 16 §2).
GIVEN_DATE_PARAMETERS = ("issued_on", "issue_date", "date")
# Abbreviations expanded on both sides before names are compared (match_key form: lower case, "&" unspaced).
_ABBREVIATIONS = [
    (r"nn&ptnt|nnptnt|nn và ptnt", "nông nghiệp và phát triển nông thôn"),
    (r"ptnt", "phát triển nông thôn"),
    (r"kh&đt|khđt|kh và đt", "kế hoạch và đầu tư"),
    (r"kh&cn|khcn|kh và cn", "khoa học và công nghệ"),
    (r"tt&tt|tttt", "thông tin và truyền thông"),
    (r"lđ tb&xh|lđtb&xh|lđtbxh", "lao động thương binh và xã hội"),
    (r"vh tt&dl|vhtt&dl|vhttdl", "văn hóa thể thao và du lịch"),
    (r"tn&mt|tnmt", "tài nguyên và môi trường"),
    (r"gd&đt|gdđt", "giáo dục và đào tạo"),
    (r"gtvt", "giao thông vận tải"),
    (r"ubnd", "ủy ban nhân dân"),
    (r"hđnd", "hội đồng nhân dân"),
    (r"mttq", "mặt trận tổ quốc"),
    (r"qlda", "quản lý dự án"),
    (r"htx", "hợp tác xã"),
    (r"tp", "thành phố"),
    (r"tx", "thị xã"),
]
_ABBREVIATION_RX = [(re.compile(rf"(?<!\w)(?:{p})(?!\w)"), full) for p, full in _ABBREVIATIONS]


def canonical_name(name: str) -> str:
    """A body's name for comparison: match_key with the usual abbreviations written out."""
    key = match_key(name)
    for rx, full in _ABBREVIATION_RX:
        key = rx.sub(full, key)
    return match_key(key.replace("&", " và "))


def field_want_key(name: str) -> str:
    """The comparison key of an expected agency of the field corpus ('SO_TC' or '?' + canonical name)."""
    return "?" + canonical_name(name[1:]) if name.startswith("?") else name


def field_keys(ref: Any) -> set[str]:
    """Every key under which a parsed agency may match an expectation: its code, its surface, its full name."""
    keys = {"?" + canonical_name(ref.surface)}
    for attr in ("name", "canonical", "full_name"):
        value = getattr(ref, attr, None)
        if isinstance(value, str) and value:
            keys.add("?" + canonical_name(value))
    if ref.code:
        keys.add(ref.code)
    return keys


def anchor_key(text: str) -> str:
    """Directive text for anchor search: NFC, canonical tones, one space, case-folded."""
    return " ".join(normalize_vietnamese(unicodedata.normalize("NFC", text)).split()).casefold()


def field_files(field_dir: Path) -> list[tuple[Path, Path]]:
    """(notice, expected) pairs of the field corpus, sorted by name (none when the folder is absent)."""
    return [(field_dir / load_expectation(e)["source"], e) for e in sorted(field_dir.glob("*.expected.yaml"))]


def load_expectation(path: Path) -> dict[str, Any]:
    """An expected file with the field defaults filled in (regression files: genre from the name, Bắc Giang)."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault("genre", "ket-luan" if "-kl-" in path.name else "thong-bao-ket-luan")
    data.setdefault("province", "Bắc Giang")
    data.setdefault("blind", False)
    data.setdefault("batch", 1)
    return data


def match_directives(items: list[dict[str, Any]], parsed: list[Any]) -> list[Any | None]:
    """The parsed directive of each expected one: by anchor text when given, else by number; one-to-one."""
    used: set[int] = set()
    out: list[Any | None] = []
    for item in items:
        anchor = item.get("anchor")
        if anchor:
            want = anchor_key(anchor)
            candidates = [d for d in parsed if id(d) not in used and want in anchor_key(d.text)]
        else:
            candidates = [d for d in parsed if id(d) not in used and d.number == str(item["number"])]
        candidates.sort(key=lambda d: d.number != str(item["number"]))
        chosen = candidates[0] if candidates else None
        if chosen is not None:
            used.add(id(chosen))
        out.append(chosen)
    return out


def role_hits(refs: list[Any], wanted: set[str]) -> int:
    """How many parsed refs match a distinct wanted key."""
    left, hits = set(wanted), 0
    for ref in refs:
        common = field_keys(ref) & left
        if common:
            left.discard(sorted(common)[0])
            hits += 1
    return hits


def parse_with_given_date(source: Path, directory: AgencyDirectory, exp: dict[str, Any]) -> NoticeDraftText:
    """Parse a notice, giving the parser the issue date when the text has none and the parser accepts one."""
    kwargs: dict[str, Any] = {"source_name": source.name, "body_types": BODY_TYPES}
    if exp["notice"].get("date_in_text") is False:
        params = inspect.signature(parse_notice_text).parameters
        name = next((p for p in GIVEN_DATE_PARAMETERS if p in params), None)
        if name:
            kwargs[name] = exp["notice"]["date"]
    return parse_notice_text(read_notice_text(source), directory, **kwargs)


def score_field_notice(
    source: Path, expected_path: Path, directory: AgencyDirectory, calendar: Any, policy: Any
) -> tuple[dict[str, Any], dict[str, int], list[str]]:
    """One notice's expectation (with defaults), its counts and its misses."""
    exp = load_expectation(expected_path)
    items = exp["directives"]
    c = dict.fromkeys(COUNT_KEYS, 0)
    c["notices"] = 1
    c["dir_expected"] = len(items)
    for item in items:
        for role in ("lead", "support"):
            c[f"{role}_expected"] += sum(1 for v in (item.get("agencies") or {}).values() if v == role)
        c["dl_expected"] += item.get("deadline") is not None
    try:
        draft = parse_with_given_date(source, directory, exp)
    except NoticeParseError as err:
        c["refusals"] = 1
        c["rec_total"] = sum(1 for item in items if item.get("recurrence"))
        return exp, c, [f"refused: {err}"]
    misses: list[str] = []
    matched = match_directives(items, draft.directives)
    c["dir_found"] = len(draft.directives)
    c["dir_matched"] = sum(1 for d in matched if d is not None)
    for role in ("lead", "support"):
        c[f"{role}_found"] = sum(1 for d in draft.directives for r in d.assignments if r.role == role)
    for item, d in zip(items, matched, strict=True):
        label = f"{item['number']} «{item.get('anchor') or ''}»"
        agencies = item.get("agencies") or {}
        if d is None:
            misses.append(f"{label}: directive missing")
            c["rec_total"] += bool(item.get("recurrence"))
            continue
        for role in ("lead", "support"):
            wanted = {field_want_key(k) for k, v in agencies.items() if v == role}
            refs = [r for r in d.assignments if r.role == role]
            hits = role_hits(refs, wanted)
            c[f"{role}_tp"] += hits
            if hits < len(wanted) or hits < len(refs):
                got = sorted(r.surface if not r.code else r.code for r in refs)
                misses.append(f"{label}: {role} {got} != {sorted(k for k, v in agencies.items() if v == role)}")
        for name in item.get("not_assignees") or []:
            if field_want_key(name) in set().union(*(field_keys(r) for r in d.assignments)):
                c["not_assignee_errors"] += 1
                misses.append(f"{label}: {name} must not be an assignee")
        got_dl = deadline_tuple(draft, d, calendar, policy)
        want_dl = expected_deadline_tuple(item)
        got_kd, want_kd = (got_dl or (None, None))[:2], (want_dl or (None, None))[:2]
        if item.get("deadline") is not None:
            ok = got_kd == want_kd
            c["dl_correct"] += ok
            if not ok:
                misses.append(f"{label}: deadline {got_kd} != {want_kd}")
        elif got_kd[0] is not None:
            c["dl_spurious"] += 1
            misses.append(f"{label}: deadline {got_kd} where none is set")
        if item.get("recurrence") or d.deadline.recurrence:
            c["rec_total"] += 1
            c["rec_correct"] += item.get("recurrence") == d.deadline.recurrence
            if item.get("recurrence") != d.deadline.recurrence:
                misses.append(f"{label}: recurrence {d.deadline.recurrence} != {item.get('recurrence')}")
    extra = [d.number for d in draft.directives if not any(d is m for m in matched)]
    if extra:
        misses.append(f"extra directives {extra}")
    want_date = exp["notice"]["date"]
    if exp["notice"].get("date_in_text") is not False:
        c["date_total"] = 1
        c["date_ok"] = draft.date.value == (want_date.isoformat() if isinstance(want_date, date) else want_date)
        if not c["date_ok"]:
            misses.append(f"issue date {draft.date.value} != {want_date}")
    return exp, c, misses


COUNT_KEYS = [
    "notices",
    "refusals",
    "dir_expected",
    "dir_found",
    "dir_matched",
    "lead_tp",
    "lead_found",
    "lead_expected",
    "support_tp",
    "support_found",
    "support_expected",
    "dl_expected",
    "dl_correct",
    "dl_spurious",
    "rec_total",
    "rec_correct",
    "not_assignee_errors",
    "date_total",
    "date_ok",
]


def summarise(c: dict[str, int]) -> dict[str, Any]:
    """Scores of a group of notices from its summed counts."""

    def ratio(a: int, b: int) -> float:
        return round(a / b, 4) if b else 1.0

    return {
        "notices": c["notices"],
        "refusals": c["refusals"],
        "directive_recall": ratio(c["dir_matched"], c["dir_expected"]),
        "directive_precision": ratio(c["dir_matched"], c["dir_found"]),
        "lead": prf(c["lead_tp"], c["lead_found"], c["lead_expected"]),
        "support": prf(c["support_tp"], c["support_found"], c["support_expected"]),
        "deadline_accuracy": ratio(c["dl_correct"], c["dl_expected"]),
        "deadlines": {"correct": c["dl_correct"], "expected": c["dl_expected"], "spurious": c["dl_spurious"]},
        "recurrence_accuracy": ratio(c["rec_correct"], c["rec_total"]),
        "recurrences": {"correct": c["rec_correct"], "scored": c["rec_total"]},
        "not_assignee_errors": c["not_assignee_errors"],
        "issue_date_accuracy": ratio(c["date_ok"], c["date_total"]),
    }


def run_field(pairs: list[tuple[Path, Path]], directory: AgencyDirectory, calendar: Any, policy: Any) -> dict[str, Any]:
    """Score every notice of the corpus, grouped: full, blind, and per genre within each."""
    groups: dict[str, dict[str, int]] = {}
    provinces: set[str] = set()
    misses: dict[str, list[str]] = {}

    def add(group: str, counts: dict[str, int]) -> None:
        total = groups.setdefault(group, dict.fromkeys(COUNT_KEYS, 0))
        for key, value in counts.items():
            total[key] += value

    for source, expected in pairs:
        exp, counts, miss = score_field_notice(source, expected, directory, calendar, policy)
        provinces.add(exp["province"])
        parts = ["full", f"full/{exp['genre']}"] + (["blind", f"blind/{exp['genre']}"] if exp["blind"] else [])
        parts += ["blind2"] if exp["blind"] and exp["batch"] == 2 else []
        for part in parts:
            add(part, counts)
        if miss:
            misses[source.name] = miss
    summary = {name: summarise(counts) for name, counts in groups.items()}
    blind = summary.get("blind")
    met = blind is not None and (
        blind["lead"]["f1"] >= BLIND_TARGETS["lead_f1"]
        and blind["support"]["f1"] >= BLIND_TARGETS["support_f1"]
        and blind["deadline_accuracy"] >= BLIND_TARGETS["deadline_accuracy"]
        and blind["refusals"] <= BLIND_TARGETS["refusals"]
    )
    return {
        "notices": len(pairs),
        "provinces": sorted(provinces),
        "full": summary.get("full"),
        "blind": blind,
        "blind2": summary.get("blind2"),
        "by_genre": {g: summary[f"full/{g}"] for g in GENRES if f"full/{g}" in summary},
        "blind_by_genre": {g: summary[f"blind/{g}"] for g in GENRES if f"blind/{g}" in summary},
        "blind_targets": {**BLIND_TARGETS, "met": met},
        "misses": misses,
    }


def field_human_line(field: dict[str, Any]) -> str:
    """One line on the field corpus: blind and full figures."""

    def part(name: str, s: dict[str, Any] | None) -> str:
        if not s:
            return f"{name}: none"
        return (
            f"{name} {s['notices']}: directives R {s['directive_recall']:.2f}, lead F1 {s['lead']['f1']:.2f}, "
            f"support F1 {s['support']['f1']:.2f}, deadlines {s['deadline_accuracy']:.2f}, "
            f"recurrence {s['recurrence_accuracy']:.2f}, refusals {s['refusals']}"
        )

    met = "blind targets met" if field["blind_targets"]["met"] else "blind targets missed"
    return (
        f"field corpus, {len(field['provinces'])} provinces — {part('blind', field['blind'])}; "
        f"{part('blind2', field.get('blind2'))}; {part('full', field['full'])} — {met}"
    )


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
    print(field_human_line(result["field"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
