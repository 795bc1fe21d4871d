"""Roles of the agencies named in a directive: lists of names, their category, their predicate, their partners.

"X chủ trì, phối hợp với Y" (X lead, Y support), "giao X" (X lead), "X phối hợp" (X support), the subject of its
own clause (lead); bodies that only receive reports or advice ("báo cáo Thường trực Tỉnh ủy") are not assignees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from domain.notice_parser.agencies import Mention
from domain.notice_parser.document import Doc
from domain.notice_parser.models import MentionRole
from domain.notice_parser.role_rules import (
    CONTINUES_ROLE,
    LIST_GAP,
    Category,
    DoerKind,
    categorise,
    doer_kind,
    main_verb,
)
from domain.notice_parser.sentences import MentionIndex, clause_start, quoted_ranges

_LIST_BOUNDARY = re.compile(r"\n\s*(?:[-–+•]|\d+[.)]|[a-zđ]\))\s")


class PendingRole(Enum):
    """A role that can only be settled once the whole directive is read."""

    PARTNER = "partner?"  # "phối hợp với X" where it is unclear who leads: X leads unless someone else does


@dataclass
class Group:
    """Consecutive names joined by commas or 'và' that share one role."""

    members: list[Mention]
    category: Category = Category.OTHER
    reason: str = ""
    quoted: bool = False

    @property
    def start(self) -> int:
        """Offset of the first name."""
        return self.members[0].start

    @property
    def end(self) -> int:
        """Offset past the last name."""
        return self.members[-1].end


@dataclass
class Assignment:
    """A role decided for one name, with its evidence."""

    mention: Mention
    role: MentionRole | PendingRole
    confidence: float
    reason: str
    inherited: bool = False

    @property
    def settled_role(self) -> MentionRole:
        """The role once partners are resolved (see merge_roles)."""
        if isinstance(self.role, PendingRole):
            raise ValueError(f"role of «{self.mention.surface}» is not settled yet")
        return self.role

    @property
    def does_work(self) -> bool:
        """True for a lead, a support or a partner not yet settled."""
        return self.role is PendingRole.PARTNER or self.settled_role.assigns_work


@dataclass
class SentenceRoles:
    """What one sentence says: roles, the doers with their kind, and partner links (partner, owner)."""

    assignments: list[Assignment]
    doers: list[tuple[Group, DoerKind]]
    links: list[tuple[Group, Group | None]]


_SUBORDINATES = "đơn vị cấp dưới (cụm từ chung) do cơ quan khác «chỉ đạo»: cơ quan chỉ đạo chịu trách nhiệm"


def subordinates_under_direction(category: Category, generic: list[bool]) -> bool:
    """True for a collective phrase directed by another body ("UBND huyện X chỉ đạo các cơ quan chuyên môn …").

    The directing body answers for the task; its unnamed subordinates are not tracked as assignees.
    """
    return category is Category.CHAIN and all(generic)


_BRACKETED = "nêu trong ngoặc sau tên cơ quan khác (đơn vị giúp việc, đầu mối), không được giao việc riêng"
_OPEN_BRACKET = re.compile(r"^\s*\(\s*$")
_CLOSE_BRACKET = re.compile(r"^\s*\)")


def bracketed_after(text: str, prev_end: int, start: int, end: int) -> bool:
    """True for a name in brackets right after another ("Sở NN&PTNT (Chi cục Thủy lợi) …"): it details that body."""
    return bool(_OPEN_BRACKET.match(text[prev_end:start])) and bool(_CLOSE_BRACKET.match(text[end : end + 4]))


class RoleReader:
    """Decides the role of every name in a directive's text."""

    def __init__(self, doc: Doc, start: int, end: int, index: MentionIndex):
        self.doc = doc
        self.start = start
        self.end = end
        self.index = index
        self.quoted = quoted_ranges(doc.text, start, end)

    def groups(self, s: int, e: int) -> list[Group]:
        """Names of one sentence grouped into lists."""
        ms = self.index.starting_in(s, e)
        groups: list[Group] = []
        for m in ms:
            if (
                groups
                and LIST_GAP.match(self.doc.low[groups[-1].end : m.start])
                and not self._boundary(groups[-1].end, m.start)
            ):
                groups[-1].members.append(m)
            else:
                groups.append(Group([m]))
        for g in groups:
            g.quoted = any(a <= g.start and g.end <= b for a, b in self.quoted)
        return groups

    def _boundary(self, a: int, b: int) -> bool:
        """True when a line break with a list marker separates a and b."""
        return bool(_LIST_BOUNDARY.search(self.doc.text[a:b]))

    def _categorise_groups(self, groups: list[Group], s: int) -> None:
        """Set each group's category from the words before it in its clause (a role word continues the last)."""
        low = self.doc.low
        for gi, g in enumerate(groups):
            if g.quoted:
                g.category, g.reason = Category.OTHER, "nằm trong tên văn bản/đề án được trích dẫn"
                continue
            if gi and bracketed_after(self.doc.text, groups[gi - 1].end, g.start, g.end):
                g.category, g.reason = Category.OTHER, _BRACKETED
                continue
            cstart = clause_start(self.doc, s, g.start, self.index)
            anchor = max(cstart, groups[gi - 1].end if gi else s)
            left = low[anchor : g.start]
            if gi and anchor == groups[gi - 1].end and CONTINUES_ROLE.match(left) and groups[gi - 1].category.is_doer:
                g.category, g.reason = groups[gi - 1].category, groups[gi - 1].reason
                continue
            g.category, g.reason = categorise(left)

    def sentence(self, s: int, e: int) -> SentenceRoles:
        """Roles in one sentence: assignments, doers (group, kind) and partner links (partner, owner)."""
        groups = self.groups(s, e)
        self._categorise_groups(groups, s)
        low = self.doc.low
        result = SentenceRoles([], [], [])
        doer_idx = [i for i, g in enumerate(groups) if g.category.is_doer]
        owner: Group | None = None
        for gi, g in enumerate(groups):
            if g.category.is_doer:
                nxt = next((groups[j] for j in doer_idx if j > gi), None)
                rest = low[g.end : nxt.start if nxt else e]
                directs_next = nxt is not None and nxt.category in (Category.DIRECTED, Category.CHAIN)
                directs_next = directs_next and nxt is not None and nxt.start == g.end + len(rest)
                kind, role, conf, why = doer_kind(g.category, g.reason, main_verb(rest), directs_next)
                if subordinates_under_direction(g.category, [m.generic for m in g.members]):
                    kind, role, conf, why = DoerKind.INTERMEDIARY, MentionRole.OTHER, 0.7, _SUBORDINATES
                result.assignments += [Assignment(m, role, conf, why) for m in g.members]
                if role.assigns_work:
                    result.doers.append((g, kind))
                    owner = g
                elif kind is DoerKind.ASSIGNER:
                    owner = None
            elif g.category is Category.PARTNER:
                result.links.append((g, owner))
            else:
                role = MentionRole.RECIPIENT if g.category is Category.RECIPIENT else MentionRole.OTHER
                result.assignments += [Assignment(m, role, 0.8, g.reason) for m in g.members]
        return result

    def resolve(self, sentences: list[tuple[int, int]]) -> tuple[list[Assignment], bool]:
        """Roles across the directive, partners resolved; returns (assignments, has_explicit_lead)."""
        all_out: list[Assignment] = []
        doers: list[tuple[Group, DoerKind]] = []
        links: list[tuple[Group, Group | None]] = []
        for s, e in sentences:
            found = self.sentence(s, e)
            all_out += found.assignments
            doers += found.doers
            links += found.links
        kind_of = {id(g): k for g, k in doers}
        explicit_leads = {m.key for g, k in doers if k.leads for m in g.members}
        by_mention = {id(a.mention): a for a in all_out}
        for partner, owner in links:
            owner_kind = kind_of.get(id(owner)) if owner else None
            role, conf, why = _partner_role(partner, owner, owner_kind, explicit_leads, by_mention)
            all_out += [Assignment(m, role, conf, why) for m in partner.members]
        return all_out, bool(explicit_leads)


def _partner_role(
    partner: Group,
    owner: Group | None,
    owner_kind: DoerKind | None,
    explicit_leads: set[str],
    by_mention: dict[int, Assignment],
) -> tuple[MentionRole | PendingRole, float, str]:
    """Role of the names after «phối hợp với», from the kind of body that cooperates with them.

    When the partner also leads a task of its own in the directive, the partner leads and the owner,
    which cooperates with it here, is demoted to support.
    """
    if owner_kind is DoerKind.CHAIR:
        return MentionRole.SUPPORT, 0.9, "«phối hợp với» cơ quan chủ trì"
    if owner_kind is DoerKind.COOP:
        return MentionRole.LEAD, 0.75, "cơ quan được phối hợp (cơ quan khác «phối hợp với» cơ quan này)"
    if owner is not None and owner_kind in (DoerKind.PLAIN, DoerKind.DIRECTOR):
        partner_keys = {m.key for m in partner.members}
        if not partner_keys & explicit_leads:
            return MentionRole.SUPPORT, 0.75, "«phối hợp với» cơ quan thực hiện"
        for m in owner.members:
            a = by_mention.get(id(m))
            if a and a.role is MentionRole.LEAD and m.key not in partner_keys:
                a.role, a.confidence = MentionRole.SUPPORT, 0.7
                a.reason += "; «phối hợp với» cơ quan chủ trì việc này"
        return MentionRole.LEAD, 0.8, "cơ quan được phối hợp, cũng tự thực hiện việc khác trong mục"
    return PendingRole.PARTNER, 0.6, "«phối hợp với» (không rõ cơ quan chủ trì)"


_RANK = {MentionRole.LEAD: 3, MentionRole.SUPPORT: 2, MentionRole.RECIPIENT: 1, MentionRole.OTHER: 0}


def settle_partners(assigns: list[Assignment], inherited_leads: bool) -> None:
    """A partner whose lead is unclear supports when the directive has a lead (so far, or inherited), else leads."""
    for a in assigns:
        if a.role is PendingRole.PARTNER:
            has_lead = inherited_leads or any(b.role is MentionRole.LEAD for b in assigns)
            a.role = MentionRole.SUPPORT if has_lead else MentionRole.LEAD


def merge_roles(assigns: list[Assignment], inherited_leads: bool) -> tuple[list[Assignment], list[Assignment]]:
    """One role per name: lead beats support; returns (assignees, other mentions), in text order."""
    settle_partners(assigns, inherited_leads)
    best: dict[str, Assignment] = {}
    order: list[str] = []
    for a in assigns:
        key = a.mention.key
        if key not in best:
            best[key] = a
            order.append(key)
            continue
        cur = best[key]
        if (_RANK[a.settled_role], a.confidence) > (_RANK[cur.settled_role], cur.confidence):
            best[key] = a
    chosen = sorted((best[k] for k in order), key=lambda a: a.mention.start)
    return [a for a in chosen if a.settled_role.assigns_work], [a for a in chosen if not a.settled_role.assigns_work]
