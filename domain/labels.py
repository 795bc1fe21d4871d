"""Vietnamese labels for the words officials read: statuses, roles, message kinds, recipients."""

from __future__ import annotations

STATUS_VI = {
    "assigned": "Đã giao",
    "acknowledged": "Đã tiếp nhận",
    "in_progress": "Đang thực hiện",
    "done": "Hoàn thành",
    "withdrawn": "Đã thu hồi",
}
ROLE_VI = {"lead": "Chủ trì", "support": "Phối hợp"}
EVERY_VI = {"month": "hằng tháng", "quarter": "hằng quý", "half_year": "6 tháng một lần", "year": "hằng năm"}
KIND_VI = {
    "assigned": "Giao việc",
    "acknowledge": "Nhắc xác nhận tiếp nhận",
    "reminder": "Nhắc hạn",
    "due": "Đến hạn hôm nay",
    "overdue": "Báo quá hạn",
    "escalation": "Báo cáo vượt cấp",
    "extension_approved": "Đồng ý gia hạn",
    "extension_rejected": "Không đồng ý gia hạn",
    "digest": "Bản tổng hợp trong ngày",
    "report": "Báo cáo định kỳ",
}
RECIPIENT_VI = {
    "assignee": "cơ quan",
    "assignee_head": "lãnh đạo cơ quan",
    "supervisor": "cơ quan cấp trên",
    "monitor": "cơ quan theo dõi",
    "issuer": "cơ quan ban hành",
}
