"""Status updates kept compact: a province's hundreds of thousands of updates side by side in arrays.

The periodic report reads every update of every assignment (317,000 at 100,000 assignments). As one
object per update, with its own datetime, they took about 130 bytes each; here an update takes a time in
microseconds, a status code and a percentage (11 bytes), with the rare document number or note aside.
An assignment's updates are an UpdateSpan, a read-only sequence of UpdateEntry made when read.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import overload

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_PERCENT = -1  # percentages are 0–100 (a check constraint of the table)


@dataclass(frozen=True, slots=True)
class UpdateEntry:
    """One progress report (append-only history)."""

    at: datetime
    status: str
    percent: int | None = None
    document_number: str | None = None
    note: str | None = None
    reported_by: str | None = None


class UpdateLog:
    """Every update of many assignments, appended in order; spans of it are each assignment's updates."""

    __slots__ = ("_code", "codes", "micros", "percents", "statuses", "texts")

    def __init__(self) -> None:
        self.micros = array("q")  # reported_at, microseconds since 1970 UTC
        self.codes = bytearray()  # index into statuses
        self.percents = array("b")
        self.statuses: list[str] = []
        self.texts: dict[int, tuple[str | None, str | None]] = {}  # position → (document number, note)
        self._code: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.micros)

    def add(
        self, at: datetime, status: str, percent: int | None, document_number: str | None, note: str | None
    ) -> None:
        """Append one update (an aware datetime)."""
        code = self._code.get(status)
        if code is None:
            if len(self.statuses) == 256:
                raise ValueError("more than 256 distinct statuses")
            code = self._code[status] = len(self.statuses)
            self.statuses.append(status)
        if percent is not None and not 0 <= percent <= 100:
            raise ValueError(f"percent out of range: {percent}")
        if document_number is not None or note is not None:
            self.texts[len(self.micros)] = (document_number, note)
        self.micros.append((at - _EPOCH) // _MICROSECOND)
        self.codes.append(code)
        self.percents.append(_NO_PERCENT if percent is None else percent)

    def entry(self, position: int) -> UpdateEntry:
        """The update at position, as an UpdateEntry."""
        percent = self.percents[position]
        document_number, note = self.texts.get(position, (None, None))
        return UpdateEntry(
            _EPOCH + timedelta(microseconds=self.micros[position]),
            self.statuses[self.codes[position]],
            None if percent == _NO_PERCENT else percent,
            document_number,
            note,
        )

    def span(self, start: int, stop: int) -> UpdateSpan:
        """The updates from start to stop (one assignment's, when appended together)."""
        return UpdateSpan(self, start, stop)


class UpdateSpan(Sequence[UpdateEntry]):
    """A read-only run of an UpdateLog: one assignment's updates, oldest first; entries are made when read."""

    __slots__ = ("log", "start", "stop")

    def __init__(self, log: UpdateLog, start: int, stop: int):
        self.log, self.start, self.stop = log, start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    @overload
    def __getitem__(self, index: int) -> UpdateEntry: ...

    @overload
    def __getitem__(self, index: slice) -> UpdateSpan: ...

    def __getitem__(self, index: int | slice) -> UpdateEntry | UpdateSpan:
        if isinstance(index, slice):
            first, last, step = index.indices(len(self))
            if step != 1:
                raise ValueError("an update span is sliced without a step")
            return UpdateSpan(self.log, self.start + first, self.start + max(first, last))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("update index out of range")
        return self.log.entry(self.start + index)

    def __iter__(self) -> Iterator[UpdateEntry]:
        entry = self.log.entry
        return (entry(position) for position in range(self.start, self.stop))

    def __reversed__(self) -> Iterator[UpdateEntry]:
        entry = self.log.entry
        return (entry(position) for position in range(self.stop - 1, self.start - 1, -1))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"UpdateSpan({list(self)!r})"
