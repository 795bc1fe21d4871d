"""Vietnamese labels for the words officials read: statuses, roles, message kinds, recipients."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    "reply_ack": "Xác nhận đã ghi nhận báo cáo",
}
RECIPIENT_VI = {
    "assignee": "cơ quan",
    "assignee_head": "lãnh đạo cơ quan",
    "supervisor": "cơ quan cấp trên",
    "monitor": "cơ quan theo dõi",
    "issuer": "cơ quan ban hành",
}

# Pydantic error types a coordinator or an agency's developer will meet, in Vietnamese (one list for every loader).
VALIDATION_VI = {
    "missing": "thiếu trường bắt buộc",
    "extra_forbidden": "trường không được phép (sai tên trường?)",
    "json_invalid": "nội dung không phải JSON hợp lệ",
    "json_type": "nội dung phải là JSON",
    "model_attributes_type": "phải là một bảng (mapping)",
    "model_type": "phải là một bảng (mapping)",
    "dict_type": "phải là một bảng (mapping)",
    "list_type": "phải là một danh sách",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "float_parsing": "phải là số",
    "float_type": "phải là số",
    "string_type": "phải là chuỗi ký tự",
    "string_too_long": "dài quá mức cho phép",
    "string_too_short": "không được để trống",
    "string_pattern_mismatch": "không đúng định dạng",
    "too_short": "danh sách không được để trống",
    "too_long": "danh sách dài quá mức cho phép",
    "greater_than": "giá trị quá nhỏ",
    "greater_than_equal": "giá trị quá nhỏ",
    "less_than": "giá trị quá lớn",
    "less_than_equal": "giá trị quá lớn",
    "enum": "giá trị không hợp lệ",
    "date_parsing": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "date_from_datetime_parsing": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "date_from_datetime_inexact": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "date_type": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "datetime_parsing": "thời điểm không hợp lệ",
    "datetime_from_date_parsing": "thời điểm không hợp lệ",
    "datetime_type": "thời điểm không hợp lệ",
    "time_parsing": "giờ không hợp lệ (dạng đúng: HH:MM)",
    "time_type": "giờ không hợp lệ (dạng đúng: HH:MM)",
    "bool_parsing": "phải là true hoặc false",
    "bool_type": "phải là true hoặc false",
}


def validation_message_vi(error: Mapping[str, Any]) -> str:
    """The Vietnamese message for one pydantic error (an entry of ValidationError.errors())."""
    kind = str(error.get("type", ""))
    if kind == "literal_error":
        return f"giá trị không hợp lệ, {error.get('msg', '')}"
    if kind in ("value_error", "assertion_error"):
        # Our validators raise ValueError with a Vietnamese message; pydantic keeps it in ctx.
        ctx = error.get("ctx") or {}
        return str(ctx.get("error", error.get("msg", "")))
    return VALIDATION_VI.get(kind, str(error.get("msg", "")))
