"""Benchmark: compute 100,000 deadlines (mixed rule kinds, start dates 2022–2026) with explanations."""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.loader import load_model
from config.policy import load_deadline_policy
from config.settings import PACKAGED_CONFIG_DIR
from domain.deadline_phrases import parse_deadline
from domain.deadlines import (
    CalendarDaysRule,
    DeadlineRule,
    FixedDateRule,
    MeetingRule,
    OngoingRule,
    Recurrence,
    UrgentRule,
    WithinHalfYearRule,
    WithinMonthRule,
    WithinQuarterRule,
    WithinYearRule,
    WorkingDaysRule,
    compute_due,
    report_obligations,
)
from domain.policy import CalendarOverrides, DeadlinePolicy
from domain.workdays import WorkCalendar

COUNT = 100_000
PHRASES = 5_000
FIRST, LAST = date(2022, 1, 1), date(2026, 12, 31)


def _random_rule(rng: random.Random, start: date) -> DeadlineRule:
    """Pick a rule kind roughly as often as notices use it."""
    pick = rng.random()
    if pick < 0.30:
        return WorkingDaysRule(days=rng.randint(1, 60))
    if pick < 0.45:
        return CalendarDaysRule(days=rng.randint(1, 90))
    if pick < 0.60:
        return FixedDateRule(date=start + timedelta(days=rng.randint(0, 120)))
    if pick < 0.70:
        return WithinMonthRule(year=start.year, month=rng.randint(1, 12))
    if pick < 0.77:
        return WithinQuarterRule(year=start.year, quarter=rng.randint(1, 4))
    if pick < 0.81:
        return WithinHalfYearRule(year=start.year, half=rng.randint(1, 2))
    if pick < 0.84:
        return WithinYearRule(year=start.year)
    if pick < 0.90:
        return MeetingRule(body="Ban Thường vụ Tỉnh ủy", year=start.year, month=start.month)
    if pick < 0.97:
        return UrgentRule()
    return OngoingRule()


def main() -> None:
    """Run the benchmark and print one JSON object, then one human line."""
    rng = random.Random(20220909)
    span = (LAST - FIRST).days
    starts = [FIRST + timedelta(days=rng.randint(0, span)) for _ in range(COUNT)]
    rules = [_random_rule(rng, s) for s in starts]

    t0 = time.perf_counter()
    calendar = WorkCalendar(load_model(PACKAGED_CONFIG_DIR / "calendar.yaml", CalendarOverrides))
    calendar.is_working_day(FIRST)  # loads the years around the first date
    calendar.is_working_day(LAST + timedelta(days=400))
    policy: DeadlinePolicy = load_deadline_policy(PACKAGED_CONFIG_DIR)
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    dues = [compute_due(rule, start, calendar, policy) for rule, start in zip(rules, starts, strict=True)]
    total_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    for start in starts[:COUNT]:
        calendar.add_working_days(start, 10)
    add_s = time.perf_counter() - t0

    samples = ["trong 10 ngày làm việc", "trước ngày 30/9/2022", "trong quý IV/2022", "khẩn trương", "định kỳ hằng quý"]
    t0 = time.perf_counter()
    for i in range(PHRASES):
        parse_deadline(samples[i % len(samples)], reference=starts[i])
    parse_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    obligations = report_obligations(Recurrence(every="month"), FIRST, LAST, calendar, policy)
    obligations_s = time.perf_counter() - t0

    kinds = Counter(rule.kind for rule in rules)
    with_due = sum(1 for d in dues if d.due is not None)
    result = {
        "count": COUNT,
        "total_s": round(total_s, 4),
        "us_per_deadline": round(total_s / COUNT * 1e6, 2),
        "calendar_build_s": round(build_s, 4),
        "add_working_days_us": round(add_s / COUNT * 1e6, 3),
        "parse_phrases": PHRASES,
        "parse_us_per_phrase": round(parse_s / PHRASES * 1e6, 1),
        "monthly_obligations_2022_2026": len(obligations),
        "monthly_obligations_ms": round(obligations_s * 1e3, 2),
        "with_due_date": with_due,
        "kinds": dict(sorted(kinds.items())),
        "python": sys.version.split()[0],
    }
    print(json.dumps(result, ensure_ascii=False))
    print(
        f"{COUNT:,} hạn tính trong {total_s:.2f} s ({result['us_per_deadline']} µs/hạn, kèm giải thích); "
        f"cộng ngày làm việc {result['add_working_days_us']} µs; phân tích cụm từ {result['parse_us_per_phrase']} µs/cụm."
    )


if __name__ == "__main__":
    main()
